"""Two copies of every process (tests.e2e.conftest.two_copies_platform) with their clocks
ticking at once, every few tenths of a second: treatment's (services/treatment/clock.py,
reminders.py) and notify's staff mails (services/notify/staff_digests.py).

Dozens of requests are driven to the body through one copy or the other, then time passes for
all of them in one moment: their validation and their answer dated weeks back, the new-request
rows of notify's digest dated the day before, and the administrators' « Délais » shortened, so
that at once every one is due for something — a reminder « à prendre en compte », a reminder
« toujours sans réponse », a warning before its answer is due, the escalation of its missed
deadline, or its closing « sans retour » (and a request on hold, for nothing: its clock is
paused) — and both copies of each clock race for them. Then, as days later, the reminders that
repeat (« à prendre en compte », « toujours sans réponse ») are due again.

Each effect happens once, by one copy: one reminder row and one event in treatment's outbox per
(request, kind, due day), one escalation per request and one closing; intake shows the answer's
deadline treatment holds; stats counts each missed deadline
once and agrees with intake, triage and treatment on every status; every focal point got each
reminder once, the digest once with every request of the day before, every analyst the late
requests once; every citizen whose request was closed « sans retour » was told once, by email
and by SMS; no dead letter, no deadlock in any copy's log.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter

import aiohttp
import asyncpg
import pytest

from shared.identity import Identity, Role
from shared.messages import DeadlineKind, Nature, ReminderKind
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
    subject,
)
from tests.support import as_staff, eventually, signed_session

ADMIN = as_staff(Identity("e2e-admin", Role.ADMINISTRATOR, login="admin"))
TOLD = Counter(submitted=1, validated=1)  # what every citizen is told, by SMS and by email
ANSWERED = TOLD + Counter(treated=1, closed=1)  # answered, then closed « sans retour »
# Journey → (its last status, the SMS its citizen gets (by email, « taken » too once taken in
# charge), what treatment's clock does to it once time has passed).
JOURNEYS: dict[str, tuple[str, Counter, set[str]]] = {
    # Validated weeks ago, taken in charge by nobody: reminded, its deadline missed.
    "not_taken": ("in_treatment", TOLD, {ReminderKind.NOT_TAKEN.value, "missed"}),
    # Taken in charge weeks ago and still unanswered: reminded, its deadline missed.
    "late": ("in_treatment", TOLD, {ReminderKind.IN_PROGRESS.value, "missed"}),
    # Taken in charge today, answer due within days: warned before the deadline.
    "due_soon": ("in_treatment", TOLD, {ReminderKind.ANSWER_DUE.value}),
    # Answered weeks ago, no opinion since: closed « sans retour ».
    "no_opinion": ("closed", ANSWERED, {"closed"}),
    # Taken in charge weeks ago, then put on hold: its clock paused, neither reminded nor late.
    "on_hold": ("on_hold", TOLD + Counter(on_hold=1), set()),
}
TAKEN = ("late", "due_soon", "no_opinion", "on_hold")
BACKDATED = ("not_taken", "late", "on_hold")  # validated DAYS_AGO
REPEATING = (ReminderKind.NOT_TAKEN.value, ReminderKind.IN_PROGRESS.value)  # every repeat_days
REPEAT_AGO = 15  # calendar days: past repeat_days (5 working days), holidays included
PER_JOURNEY = 5  # 25 requests, half of them from citizens who gave a mobile number alone
DAYS_AGO = 45  # calendar days: past every reminder's working days (not_taken 3, in_progress 20)
ANSWER_DAYS, OPINION_DAYS = 3, 2  # « Délais » (working days): within « before_due_days » (5)

# The staff notify writes to (its directory, as the gateway keeps it).
IMMEDIATE = ("pf-immediate", "pf.immediat@agents.milie.ci", "focal_point", BODY, "immediate")
DIGEST = ("pf-digest", "pf.resume@agents.milie.ci", "focal_point", BODY, "digest")
ANALYSTS = [
    (f"analyst-{n}", f"analyste.{n}@agents.milie.ci", "analyst", None, "immediate") for n in (1, 2)
]
STAFF = [IMMEDIATE, DIGEST, *ANALYSTS]


@pytest.fixture
def copies_env(fake_sms) -> dict[str, str]:
    """Both copies' clocks tick every 0.3 s (from 300), notify's daily mails from midnight (UTC,
    from 7 h: the test runs at any hour); both copies of notify send SMS to ``fake_sms``."""
    return {
        "MILIE_CLOCK_INTERVAL_SECONDS": "0.3",
        "MILIE_STAFF_CLOCK_INTERVAL_SECONDS": "0.3",
        "MILIE_STAFF_DIGEST_HOUR": "0",
        **sms_env(fake_sms),
    }


async def _drive(drive: Drive, j: Journey) -> None:
    i = j.index
    await drive.submit(j)
    await drive.decide(i + 1, j, "validate")
    if j.kind not in TAKEN:
        # Treatment has it, for the moment when time passes.
        await drive.at_body_status(i, j, "in_treatment")
        return
    done = await drive.take(i, j)
    if j.kind == "no_opinion":
        await drive.answer(i + 1, j, done["version"])
    elif j.kind == "on_hold":
        body = {"reason": "Nous attendons le registre du lycée.", "version": done["version"]}
        await drive.until(
            200, "POST", drive.at_body(i + 1, j, "hold"), headers=FOCAL_POINT, body=body
        )


async def _time_passes(db: asyncpg.Connection, journeys: list[Journey]) -> None:
    """In one moment: the validations of the BACKDATED requests and the answers of the
    « no_opinion » ones dated DAYS_AGO back, and the new-request rows of notify's digest dated the
    day before."""
    codes = {kind: [j.code for j in journeys if j.kind == kind] for kind in JOURNEYS}
    async with db.transaction():
        await db.execute(
            """UPDATE treatment.treatments
               SET validated_at = validated_at - make_interval(days => $2)
               WHERE code = ANY($1::text[])""",
            [code for kind in BACKDATED for code in codes[kind]],
            DAYS_AGO,
        )
        await db.execute(
            """UPDATE treatment.treatments SET treated_at = treated_at - make_interval(days => $2)
               WHERE code = ANY($1::text[])""",
            codes["no_opinion"],
            DAYS_AGO,
        )
        # Yesterday noon, UTC (notify's day): the digest reads the day before.
        await db.execute(
            """UPDATE notify.staff_new_requests
               SET reached_at = date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
                                - interval '12 hours'"""
        )


async def _shorten_deadlines(drive: Drive) -> None:
    """The administrators' « Délais » for the body's réclamations, through one copy of treatment
    then the other: every deadline of the requests it holds computed again at once — the answer's
    passed for those validated weeks ago and near for today's, the opinion's passed."""
    rules = [
        (DeadlineKind.ADMISSIBILITY, 2),  # first: an answer deadline may not be shorter
        (DeadlineKind.ANSWER, ANSWER_DAYS),
        (DeadlineKind.OPINION, OPINION_DAYS),
    ]
    for step, (kind, days) in enumerate(rules):
        body = {"kind": kind, "nature": Nature.RECLAMATION, "body_id": BODY, "days": days}
        status, done = await drive.call(
            "PUT", drive.url(step, "treatment") + "/deadlines/rules", headers=ADMIN, body=body
        )
        assert status == 200, done


async def _clock_effects(db: asyncpg.Connection) -> Counter:
    """What treatment's clock wrote, by (code, what): a reminder's kind, « missed », « closed »."""
    rows = await db.fetch(
        """SELECT t.code, r.kind AS what FROM treatment.reminders r
             JOIN treatment.treatments t USING (request_id)
           UNION ALL
           SELECT t.code, 'missed' FROM treatment.missed_deadlines m
             JOIN treatment.treatments t USING (request_id)
           UNION ALL
           SELECT t.code, 'closed' FROM treatment.history h
             JOIN treatment.treatments t USING (request_id) WHERE h.kind = 'closed'"""
    )
    return Counter((r["code"], r["what"]) for r in rows)


async def _published(db: asyncpg.Connection) -> Counter:
    """The clock's events in treatment's outbox, by (code, what)."""
    rows = await db.fetch(
        """SELECT body->>'code' AS code,
                  CASE routing_key WHEN 'request.deadline_warning' THEN body->>'kind'
                                   WHEN 'request.deadline_missed' THEN 'missed'
                                   ELSE 'closed' END AS what
           FROM treatment.outbox
           WHERE routing_key IN ('request.deadline_warning', 'request.deadline_missed',
                                 'request.closed')"""
    )
    return Counter((r["code"], r["what"]) for r in rows)


async def test_two_copies_of_each_clock_do_each_thing_once(
    two_copies_platform, smtp_server, fake_sms, database_url, amqp_url, namespace
):
    journeys = journeys_of(JOURNEYS, PER_JOURNEY, "horloge", mobiles=True)
    connector = aiohttp.TCPConnector(limit=0)
    async with (
        asyncpg.create_pool(database_url, min_size=1, max_size=4) as pool,
        pool.acquire() as db,
        signed_session(connector=connector) as http,
    ):
        await db.executemany(
            """INSERT INTO notify.staff_recipients
                   (account_id, login, display_name, email, role, body_id, alerts)
               VALUES ($1, $1, $1, $2, $3, $4, $5)""",
            STAFF,
        )
        drive = Drive(two_copies_platform, http)
        await asyncio.gather(*(_drive(drive, j) for j in journeys))
        await settled(db)

        async def kept_for_the_digest():
            count = await db.fetchval("SELECT count(*) FROM notify.staff_new_requests")
            return count == len(journeys)

        await eventually(kept_for_the_digest, timeout=WAIT, interval=0.2)
        assert await _clock_effects(db) == Counter()  # nothing due yet

        await _time_passes(db, journeys)
        await _shorten_deadlines(drive)
        expected = Counter({(j.code, what): 1 for j in journeys for what in JOURNEYS[j.kind][2]})
        await _clock_did(db, expected)
        await _applied(db)

        # Days later, the repeating reminders are due again: once more each.
        again = Counter({key: 1 for key in expected if key[1] in REPEATING})
        await db.execute(
            """UPDATE treatment.reminders SET sent_at = sent_at - make_interval(days => $2)
               WHERE kind = ANY($1::text[])""",
            list(REPEATING),
            REPEAT_AGO,
        )
        expected += again
        await _clock_did(db, expected)
        await _applied(db)

        await agree(db, drive, journeys, {j.code: JOURNEYS[j.kind][0] for j in journeys})
        await _deadlines_shown(db, journeys)
        await _staff_told(db, smtp_server, journeys, expected)
        await _stats_counted(db, journeys)
        # Once everything is told, the clocks have swept again and again: still once each.
        _once_each(await _clock_effects(db), expected)
        _once_each(await _published(db), expected)
    told = {kind: sms for kind, (_, sms, _) in JOURNEYS.items()}
    await emails(
        smtp_server,
        journeys,
        {k: sms + (Counter(taken=1) if k in TAKEN else Counter()) for k, sms in told.items()},
    )
    await sms_sent(fake_sms, journeys, told)
    await no_dead_letters(amqp_url, namespace)
    no_deadlocks(two_copies_platform)


async def _clock_did(db: asyncpg.Connection, expected: Counter) -> None:
    """Wait until treatment's clock wrote at least ``expected``."""

    async def done():
        done.left = expected - await _clock_effects(db)
        return not done.left

    done.left = expected
    try:
        await eventually(done, timeout=WAIT, interval=0.3)
    except AssertionError:
        raise AssertionError(f"the clock has not done: {done.left}") from None


# The clock's events each service applies, by its inbox: notify emails the staff and the
# citizens, stats counts.
APPLIED_BY = {
    "notify": ["request.deadline_warning", "request.deadline_missed", "request.closed"],
    "stats": ["request.deadline_missed", "request.closed"],
}


async def _applied(db: asyncpg.Connection) -> None:
    """Wait until notify and stats applied every event the clock published, then until
    everything settled (tests.e2e.copies.settled: once published, an event may still be on its
    way, and the emails it makes not written yet)."""

    async def left() -> dict[str, int] | None:
        counts = {
            service: await db.fetchval(
                f"""SELECT count(*) FROM treatment.outbox o
                    WHERE o.routing_key = ANY($1::text[]) AND NOT EXISTS
                        (SELECT 1 FROM {service}.inbox i WHERE i.message_id = o.message_id)""",
                types,
            )
            for service, types in APPLIED_BY.items()
        }
        left.counts = counts
        return not any(counts.values())

    left.counts = None
    try:
        await eventually(left, timeout=WAIT, interval=0.3)
    except AssertionError:
        raise AssertionError(f"events not applied yet: {left.counts}") from None
    await settled(db)


async def _deadlines_shown(db: asyncpg.Connection, journeys: list[Journey]) -> None:
    """Intake shows the answer's deadline treatment holds (« Réponse attendue au plus tard
    le … »), the one the new « Délais » gave, whatever order its copies took the changes in."""
    rows = await db.fetch(
        """SELECT t.code, t.answer_due, r.answer_due AS shown
           FROM treatment.treatments t JOIN intake.request_tracking r USING (request_id)
           WHERE t.code = ANY($1::text[])""",
        [j.code for j in journeys],
    )
    assert len(rows) == len(journeys)
    assert [dict(r) for r in rows if r["shown"] != r["answer_due"]] == []


def _once_each(got: Counter, expected: Counter) -> None:
    """Each of ``expected`` once in ``got``, nothing else."""
    assert {key: n for key, n in got.items() if expected[key] != n} == {}
    assert set(expected) - set(got) == set()


# The staff's emails, by their subject (services/notify/staff_mail.py, staff_digests.py).
STAFF_KINDS = (
    ("à prendre en compte", ReminderKind.NOT_TAKEN.value),
    ("toujours sans réponse", ReminderKind.IN_PROGRESS.value),
    ("rappel : réponse à la requête", ReminderKind.ANSWER_DUE.value),
    ("nouvelle requête n°", "new"),
    ("pour ", "digest"),  # « Miliê — 3 nouvelles requêtes pour … »
    ("en retard", "late"),
)
CODE = re.compile(r"n° (\d{10})")


def _staff_mail(mail) -> tuple[str, str | None]:
    """(kind, the request's code) of an email to an agent (code None: a daily mail)."""
    said = subject(mail)
    kind = next((kind for words, kind in STAFF_KINDS if words in said), said)
    code = CODE.search(said)
    return kind, code.group(1) if code else None


async def _staff_told(
    db: asyncpg.Connection, smtp_server, journeys: list[Journey], clock: Counter
) -> None:
    """Each focal point got each reminder the ``clock`` sent once (and the one who chose
    « immédiatement » each new request once, the other one digest of them all); each analyst
    one mail of the late requests, only late ones."""
    reminded = Counter(
        {(what, code): n for (code, what), n in clock.items() if what not in ("missed", "closed")}
    )
    late = {j.code for j in journeys if "missed" in JOURNEYS[j.kind][2]}
    wanted = {
        IMMEDIATE[1]: reminded + Counter(("new", j.code) for j in journeys),
        DIGEST[1]: reminded + Counter([("digest", None)]),
        **{a[1]: Counter([("late", None)]) for a in ANALYSTS},
    }
    got = {address: Counter(_staff_mail(m) for m in smtp_server.to(address)) for address in wanted}
    assert {a: (got[a], w) for a, w in wanted.items() if got[a] != w} == {}

    [digest] = [m for m in smtp_server.to(DIGEST[1]) if _staff_mail(m)[0] == "digest"]
    listed = set(CODE.findall(digest.get_body(("plain",)).get_content()))
    assert listed == {j.code for j in journeys}
    for analyst in ANALYSTS:
        [mail] = smtp_server.to(analyst[1])
        listed = set(CODE.findall(mail.get_body(("plain",)).get_content()))
        # Sent by the first sweep that found one late: those notify knew of then.
        assert listed and listed <= late, (listed, late)
    sent = await db.fetch("SELECT account_id, kind FROM notify.staff_daily_mails")
    assert sorted((r["account_id"], r["kind"]) for r in sent) == sorted(
        [(DIGEST[0], "new_requests"), *((a[0], "late_requests") for a in ANALYSTS)]
    )


async def _stats_counted(db: asyncpg.Connection, journeys: list[Journey]) -> None:
    """Stats applied each missed deadline once (its inbox) and keeps one row each."""
    late = sorted(j.code for j in journeys if "missed" in JOURNEYS[j.kind][2])
    rows = await db.fetch(
        """SELECT t.code FROM stats.deadline_misses m
             JOIN treatment.treatments t USING (request_id) ORDER BY t.code"""
    )
    assert [r["code"] for r in rows] == late
    consumed = await db.fetchval(
        "SELECT count(*) FROM stats.inbox WHERE message_type LIKE 'request.deadline_missed%'"
    )
    assert consumed == len(late)
