"""Two copies of every process (tests.e2e.conftest.two_copies_platform), the body's other steps:
requests put on hold and resumed, handed to a colleague, answered again or clarified after a
« Non satisfait » — each step through one copy or the other (tests.e2e.copies), dozens at once,
half of them for citizens who gave a mobile number alone (both copies of notify send SMS, to a
local server speaking Orange's API); and a staff session opened on one gateway and used, then
ended, on the other.

Once everything has settled, as in test_two_copies.py: every request's last status agrees at
intake, triage, treatment, stats and on the citizen's tracking view; stats counts each request
once (its « Tableau de bord » too); each citizen got each email and each SMS once; no dead
letter. And what these steps leave: the tracking history tells each step once, in order; the
hold's days pushed the answer's deadline, the same at treatment and at intake; the colleague
holds and answered the reassigned request; the further answer and the analysts' clarification
are on the citizen's page.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import aiohttp
import asyncpg
import pyotp
import pytest
from yarl import URL

from gateway.staff.second_factor import STEP
from gateway.staff.sessions import COOKIE
from shared.identity import Identity, Role
from tests.e2e.conftest import BODY
from tests.e2e.copies import (
    FOCAL_POINT,
    WAIT,
    Drive,
    Journey,
    agree,
    emails,
    journeys_of,
    no_dead_letters,
    no_deadlocks,
    settled,
    sms_env,
    sms_sent,
)
from tests.staff.helpers import (
    ENROLLED,
    create_account,
    form_token,
    give_password,
    new_session,
    page_of,
    post_form,
    signed_in_session,
)
from tests.support import as_staff, eventually, signed_session

COLLEAGUE_ID, COLLEAGUE_LOGIN = "e2e-focal-2", "adjoua.n"
COLLEAGUE = as_staff(Identity(COLLEAGUE_ID, Role.FOCAL_POINT, body_id=BODY, login=COLLEAGUE_LOGIN))
HOLD = "Nous attendons le registre du lycée."
COMMENT = "Les bulletins ne sont jamais arrivés."
CLARIFICATION = "L'OSEP a relancé le ministère : il vous écrira sous huit jours."
AGAIN = "Le lycée renvoie les bulletins par la poste cette semaine."
# Days the hold lasted, as if it had begun this long ago: enough working days to move the
# answer's deadline (the clock stops while on hold).
HELD_DAYS = 14

ANSWERED = ["submitted", "validated", "assigned", "treated"]
UNSATISFIED = [*ANSWERED, "opinion_given"]
TOLD = Counter(submitted=1, validated=1, treated=1)  # by SMS; by email, « taken » too
# Journey → (its last status, the tracking history's steps, the SMS its citizen gets; by email
# the same and the acknowledgement of « Prendre en compte », where they gave an address).
JOURNEYS: dict[str, tuple[str, list[str], Counter]] = {
    # Put on hold, and left so: its deadline shown paused.
    "on_hold": (
        "on_hold",
        ["submitted", "validated", "assigned", "put_on_hold"],
        Counter(submitted=1, validated=1, on_hold=1),
    ),
    # Put on hold, resumed: in treatment again, its deadline moved by the hold's days.
    "resumed": (
        "in_treatment",
        ["submitted", "validated", "assigned", "put_on_hold", "resumed"],
        Counter(submitted=1, validated=1, on_hold=1),
    ),
    # Put on hold « En attente », resumed, answered.
    "held": (
        "treated",
        ["submitted", "validated", "assigned", "put_on_hold", "resumed", "treated"],
        TOLD + Counter(on_hold=1),
    ),
    # Handed to a colleague of the body, who answers (the citizen is not told of the hand-over).
    "reassigned": ("treated", ANSWERED, TOLD),
    # « Non satisfait », then the analysts' « Message d'éclaircissement ».
    "clarified": ("closed", [*UNSATISFIED, "clarification_sent"], TOLD + Counter(clarification=1)),
    # « Non satisfait », then the focal point answers again from « Insatisfaits ».
    "answered_again": (
        "closed",
        [*UNSATISFIED, "citizen_answered"],
        TOLD + Counter(answered_again=1),
    ),
}
HELD = ("on_hold", "resumed", "held")
PER_JOURNEY = 8  # 48 requests, half of them from citizens who gave a mobile number alone


@pytest.fixture
def copies_env(fake_sms) -> dict[str, str]:
    """Both copies of notify send their SMS to ``fake_sms``; both gateways ask the staff's
    second factor, as in production (the tests' default is off)."""
    return {"MILIE_SECOND_FACTOR_REQUIRED": "true", **sms_env(fake_sms)}


async def _drive(drive: Drive, db: asyncpg.Pool, j: Journey) -> None:
    i = j.index
    await drive.submit(j)
    await drive.decide(i + 1, j, "validate")
    done = await drive.take(i, j)
    agent = FOCAL_POINT
    if j.kind in HELD:
        held = await drive.until(
            200,
            "POST",
            drive.at_body(i, j, "hold"),
            headers=FOCAL_POINT,
            body={"reason": HOLD, "version": done["version"]},
        )
        if j.kind == "on_hold":
            return
        # Time passes on hold: the hold began HELD_DAYS ago.
        await db.execute(
            """UPDATE treatment.treatments
               SET on_hold_since = on_hold_since - make_interval(days => $2) WHERE code = $1""",
            j.code,
            HELD_DAYS,
        )
        done = await drive.until(
            200,
            "POST",
            drive.at_body(i + 1, j, "resume"),
            headers=FOCAL_POINT,
            body={"version": held["version"]},
        )
        if j.kind == "resumed":
            return
    elif j.kind == "reassigned":
        body = {
            "assignee_id": COLLEAGUE_ID,
            "assignee_login": COLLEAGUE_LOGIN,
            "version": done["version"],
        }
        done = await drive.until(
            200, "POST", drive.at_body(i + 1, j, "reassign"), headers=FOCAL_POINT, body=body
        )
        agent = COLLEAGUE
    await drive.answer(i, j, done["version"], agent=agent)
    if j.kind in ("clarified", "answered_again"):
        await drive.opinion(i + 1, j, "not_satisfied", COMMENT)
    if j.kind == "clarified":
        # 409 until triage knows the request closed « Non satisfait ».
        await drive.decide(i, j, "clarify", CLARIFICATION)
    elif j.kind == "answered_again":
        item = await drive.at_body_status(i, j, "closed")
        await drive.until(
            200,
            "POST",
            drive.at_body(i + 1, j, "answer-again"),
            headers=FOCAL_POINT,
            body={"message": AGAIN, "version": item["version"]},
        )


async def test_two_copies_hold_reassign_and_answer_the_unsatisfied_once_each(
    two_copies_platform, smtp_server, fake_sms, database_url, amqp_url, namespace
):
    journeys = journeys_of(JOURNEYS, PER_JOURNEY, "usager", mobiles=True)
    connector = aiohttp.TCPConnector(limit=0)
    async with (
        asyncpg.create_pool(database_url, min_size=1, max_size=4) as pool,
        pool.acquire() as db,
        signed_session(connector=connector) as http,
    ):
        drive = Drive(two_copies_platform, http)
        await asyncio.gather(*(_drive(drive, pool, j) for j in journeys))
        await settled(db)
        await agree(db, drive, journeys, {j.code: JOURNEYS[j.kind][0] for j in journeys})
        await _steps_told(drive, journeys)
        await _counted(drive)
        await _deadlines(db, journeys)
        await _hands(db, journeys)
    told = {kind: sms for kind, (_, _, sms) in JOURNEYS.items()}
    await emails(smtp_server, journeys, {k: sms + Counter(taken=1) for k, sms in told.items()})
    await sms_sent(fake_sms, journeys, told)
    await no_dead_letters(amqp_url, namespace)
    no_deadlocks(two_copies_platform)


async def _steps_told(drive: Drive, journeys: list[Journey]) -> None:
    """The citizen's tracking page: each step once, in the order it happened; the further
    answer and the clarification to read."""
    for j in journeys:
        _, view = await drive.call(
            "POST", drive.url(j.index, "gateway") + "/api/v1/tracking", body=j.citizen
        )
        told = [line["event"].removeprefix("request.") for line in view["history"]]
        assert told == JOURNEYS[j.kind][1], (j.kind, j.code, told)
        if j.kind in HELD:
            [line] = [h for h in view["history"] if h["event"] == "request.put_on_hold"]
            assert line["detail"] == HOLD, line
        if j.kind in ("on_hold", "resumed"):
            # « Réponse attendue au plus tard le … », paused while on hold.
            assert view["answer_due"]["paused"] == (j.kind == "on_hold"), view
        if j.kind in ("clarified", "answered_again"):
            assert view["citizen_opinion"] == "Non satisfait", view
        if j.kind == "clarified":
            assert view["analyst_answer"] == CLARIFICATION, view
        if j.kind == "answered_again":
            assert [m["message"] for m in view["later_messages"]] == [AGAIN], view


async def _counted(drive: Drive) -> None:
    """The body's « Tableau de bord »: each request counted once, in its last status, each
    opinion once, whatever order the copies of stats applied the steps in."""
    last = Counter(
        {s: PER_JOURNEY * n for s, n in Counter(v[0] for v in JOURNEYS.values()).items()}
    )
    waiting = {s: last[s] for s in ("validated", "in_treatment", "on_hold", "reopened")}
    unsatisfied = 2 * PER_JOURNEY  # clarified and answered again
    expected = {
        "total": last.total(),
        "to_treat": sum(waiting.values()),
        "treated": last["treated"] + last["closed"],
        "held": last["on_hold"],
        "reopened": 0,
        "opinions_expected": last["treated"],
        "opinions_given": unsatisfied,
        "dissatisfied": unsatisfied,
        "waiting_by_status": waiting,
    }
    for step in (0, 1):
        status, board = await drive.call(
            "GET", drive.url(step, "stats") + "/stats/body-dashboard", headers=FOCAL_POINT
        )
        assert status == 200, board
        assert {k: board[k] for k in expected} == expected, board


async def _deadlines(db: asyncpg.Connection, journeys: list[Journey]) -> None:
    """The hold, once resumed, gave its working days back to the answer's deadline; intake shows
    the latest deadline treatment set, whatever order its copies took the changes in."""
    rows = await db.fetch(
        """SELECT t.code, t.held_days, t.answer_due, r.answer_due AS shown
           FROM treatment.treatments t JOIN intake.request_tracking r USING (request_id)
           WHERE t.code = ANY($1::text[])""",
        [j.code for j in journeys],
    )
    assert len(rows) == len(journeys)
    kinds = {j.code: j.kind for j in journeys}
    wrong = [
        dict(r)
        for r in rows
        if r["shown"] != r["answer_due"]
        or (r["held_days"] > 0) != (kinds[r["code"]] in ("held", "resumed"))
    ]
    assert wrong == []


async def _hands(db: asyncpg.Connection, journeys: list[Journey]) -> None:
    """Who holds each request and who answered it: the colleague, for the reassigned ones."""
    rows = await db.fetch(
        """SELECT t.code, t.assignee_id, t.assignee_login,
                  array_agg(a.actor_login ORDER BY a.answered_at) AS answered_by
           FROM treatment.treatments t LEFT JOIN treatment.answers a USING (request_id)
           WHERE t.code = ANY($1::text[]) GROUP BY t.code, t.assignee_id, t.assignee_login""",
        [j.code for j in journeys],
    )
    got = {
        r["code"]: (r["assignee_id"], r["assignee_login"], [a for a in r["answered_by"] if a])
        for r in rows
    }
    answers = {"on_hold": 0, "resumed": 0, "answered_again": 2}
    expected = {
        j.code: (
            (COLLEAGUE_ID, COLLEAGUE_LOGIN, [COLLEAGUE_LOGIN])
            if j.kind == "reassigned"
            else ("e2e-focal", "point.focal", ["point.focal"] * answers.get(j.kind, 1))
        )
        for j in journeys
    }
    assert {c: g for c, g in got.items() if g != expected[c]} == {}
    assert len(got) == len(expected)


PASSWORD = "koffi traite les réclamations"


async def test_a_staff_session_opened_on_one_gateway_is_the_same_on_the_other(
    two_copies_platform, database_url
):
    """Sessions live in the database: what copy 1 of the gateway opened, copy 2 knows (the
    agent, their body, their forms' tokens), and signing out on copy 2 ends it on copy 1 too —
    for the cookie as any browser tab still holds it."""
    first, second = (p.url("gateway") for p in two_copies_platform.both)
    agent = await create_account(
        database_url, Role.FOCAL_POINT, "koffi.yao", PASSWORD, BODY, "Koffi YAO"
    )
    async with signed_session() as http:
        drive = Drive(two_copies_platform, http)
        j = Journey(0, "taken", "usager-session@example.ci")
        await drive.submit(j)
        await drive.decide(1, j, "validate")
    # The password on copy 1, the second factor on copy 2.
    async with await signed_in_session(
        first, "koffi.yao", PASSWORD, second_factor_at=second
    ) as staff:
        status, html = await page_of(staff, second + "/admin/")
        assert status == 200 and "Koffi YAO" in html, status

        # The request's page read on copy 1 (treatment has it once it applied the validation),
        # its form posted to copy 2.
        page = f"{first}/admin/requetes/{j.code}"

        async def shown():
            status, html = await page_of(staff, page)
            return status == 200 and "Prendre en compte" in html

        await eventually(shown, timeout=WAIT, interval=0.2)
        status, location, html = await post_form(
            staff, f"{second}/admin/requetes/{j.code}/prendre-en-compte", page, {}
        )
        assert status == 303, html
        assert location.startswith(f"/admin/requetes/{j.code}?fait="), location
        holder = await _one_row(
            database_url,
            "SELECT assignee_id, assignee_login FROM treatment.treatments WHERE code = $1",
            j.code,
        )
        assert tuple(holder) == (str(agent.id), "koffi.yao")

        # Another tab's cookie: the same session, on copy 1.
        [cookie] = [c for c in staff.cookie_jar if c.key == COOKIE]
        async with new_session() as tab:
            tab.cookie_jar.update_cookies({COOKIE: cookie.value}, URL(first + "/admin/"))
            status, html = await page_of(tab, first + "/admin/")
            assert status == 200 and "Koffi YAO" in html, status

            token = await form_token(staff, second + "/admin/")
            async with staff.post(
                second + "/admin/deconnexion", data={"csrf_token": token}, allow_redirects=False
            ) as resp:
                assert resp.status == 303, await resp.text()
            async with tab.get(first + "/admin/", allow_redirects=False) as resp:
                assert resp.status in (302, 303), resp.status
                assert resp.headers["Location"].startswith("/admin/connexion"), resp.headers

    # The code given on copy 2 is worth nothing on copy 1: the last step used is the account's.
    async with new_session() as again:
        location = await give_password(again, second, "koffi.yao", PASSWORD)
        assert location.startswith("/admin/double-authentification"), location
        [step] = await _one_row(
            database_url,
            "SELECT last_step FROM gateway.staff_second_factors WHERE account_id = $1",
            agent.id,
        )
        used = pyotp.TOTP(ENROLLED["koffi.yao"]).at(step * STEP)
        token = await form_token(again, first + location)
        async with again.post(
            first + location, data={"csrf_token": token, "code": used}, allow_redirects=False
        ) as resp:
            assert resp.status == 422, resp.status
            assert "Code incorrect ou déjà utilisé." in await resp.text()


async def _one_row(database_url: str, query: str, *args) -> asyncpg.Record:
    db = await asyncpg.connect(database_url)
    try:
        return await db.fetchrow(query, *args)
    finally:
        await db.close()
