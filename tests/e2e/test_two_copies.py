"""Two copies of every process on one database and one broker namespace (the design runs N of
each, scaled on queue length): dozens of requests driven through their whole life at once, each
step through one copy or the other, so that a request's events sit close together in the queues
and the two copies of each consumer take them out of order.

Once everything has settled, for every request: intake's tracking view, triage's and treatment's
rows and stats' fact agree on its last status; stats counts each request once; every citizen got
each email once (none lost, none twice); nothing is dead-lettered, nothing left parked, nothing
left unsent in an outbox.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from email.header import decode_header, make_header

import aiohttp
import asyncpg

from shared.identity import Identity, Role
from tests.e2e.conftest import BODY, analyst_headers, submission
from tests.support import SERVICES, as_staff, dead_letters, eventually, signed_session

FOCAL_POINT = as_staff(Identity("e2e-focal", Role.FOCAL_POINT, body_id=BODY, login="point.focal"))
# Generous: dozens of journeys share two cores with twelve processes. A guard, not a measure.
WAIT = 90.0

# Journey → (its last status, the emails its citizen gets: one per step that tells them).
JOURNEYS: dict[str, tuple[str, Counter]] = {
    # Answered, then « Satisfait »: the citizen's own act closes it, with no email.
    "closed": ("closed", Counter(submitted=1, validated=1, taken=1, treated=1)),
    # Answered, reopened by the citizen (« Relancer »), answered again.
    "reopened": ("treated", Counter(submitted=1, validated=1, taken=1, treated=2, reopened=1)),
    "rejected": ("rejected", Counter(submitted=1, rejected=1)),
    # Sent back for reformulation, rewritten by the citizen, validated, answered.
    "rewritten": (
        "treated",
        Counter(submitted=1, reformulation=1, validated=1, taken=1, treated=1),
    ),
    # Validated: at the body, waiting for its focal point.
    "validated": ("in_treatment", Counter(submitted=1, validated=1)),
    # Taken in charge, with the acknowledgement email.
    "taken": ("in_treatment", Counter(submitted=1, validated=1, taken=1)),
}
PER_JOURNEY = 10  # 60 requests


@dataclass
class Journey:
    index: int
    kind: str
    email: str
    code: str = ""
    request_id: str = ""
    steps: list[str] = field(default_factory=list)


class Drive:
    """Calls through one copy or the other: a journey's steps alternate between them."""

    def __init__(self, copies, http: aiohttp.ClientSession) -> None:
        self.copies = copies
        self.http = http

    def url(self, step: int, name: str) -> str:
        return self.copies.both[step % 2].url(name)

    async def call(self, method: str, url: str, *, headers=None, body=None):
        async with self.http.request(method, url, headers=headers, json=body) as resp:
            return resp.status, await resp.json(content_type=None)

    async def until(self, expected: int, method: str, url: str, *, headers=None, body=None):
        """The call, repeated until it answers ``expected`` (a 404 or a 409 until the service
        that answers has applied the event the step needs)."""

        last: list = []

        async def done():
            status, data = await self.call(method, url, headers=headers, body=body)
            last[:] = [status, data]
            return data if status == expected else None

        try:
            return await eventually(done, timeout=WAIT, interval=0.2)
        except AssertionError:
            raise AssertionError(f"{method} {url} never answered {expected}: {last}") from None


async def _drive(drive: Drive, j: Journey) -> None:
    i = j.index
    status, created = await drive.call(
        "POST", drive.url(i, "gateway") + "/api/v1/requests", body=submission(j.email)
    )
    assert status == 201, created
    j.code = created["code"]
    queue = drive.url(i + 1, "triage") + f"/queue/{j.code}"
    analyst = analyst_headers()
    citizen = {"code": j.code, "email": j.email}

    async def decide(step: int, decision: str, message: str | None = None) -> None:
        url = drive.url(step, "triage") + f"/queue/{j.code}/{decision}"
        await drive.until(
            200, "POST", url, headers=analyst, body={"message": message} if message else {}
        )

    await drive.until(200, "GET", queue, headers=analyst)
    if j.kind == "rejected":
        await decide(i, "reject", "Cette requête ne relève pas du ministère.")
        return
    if j.kind == "rewritten":
        await decide(i, "reformulate", "Précisez l'établissement et la classe.")
        await drive.until(
            200,
            "POST",
            drive.url(i + 1, "gateway") + "/api/v1/tracking/rewrite",
            body={**citizen, "message": "Les bulletins du lycée de Cocody, classe de 3e B."},
        )
    await decide(i + 1, "validate")
    if j.kind == "validated":
        return

    def at_body(step: int, action: str = "") -> str:
        return (
            drive.url(step, "treatment") + f"/requests/{j.code}" + (f"/{action}" if action else "")
        )

    item = await drive.until(200, "GET", at_body(i), headers=FOCAL_POINT)
    j.request_id = item["request_id"]
    mail = {"subject": f"Prise en compte de {j.code}", "text": "Nous traitons votre requête."}
    done = await drive.until(
        200,
        "POST",
        at_body(i + 1, "take"),
        headers=FOCAL_POINT,
        body={"version": item["version"], "acknowledgement": mail},
    )
    if j.kind == "taken":
        return
    done = await drive.until(
        200,
        "POST",
        at_body(i, "answer"),
        headers=FOCAL_POINT,
        body={"message": f"Les bulletins de {j.code} sont partis.", "version": done["version"]},
    )
    gateway = drive.url(i + 1, "gateway")
    if j.kind == "closed":
        # 409 until intake has the answer.
        await drive.until(
            202,
            "POST",
            gateway + "/api/v1/tracking/opinion",
            body={**citizen, "opinion": "satisfied"},
        )
    elif j.kind == "reopened":
        await drive.until(
            202,
            "POST",
            gateway + "/api/v1/tracking/reopen",
            body={**citizen, "message": "Rien n'est arrivé."},
        )

        async def reopened():
            status, item = await drive.call("GET", at_body(i + 1), headers=FOCAL_POINT)
            return item if status == 200 and item["status"] == "reopened" else None

        try:
            item = await eventually(reopened, timeout=WAIT, interval=0.2)
        except AssertionError:
            raise AssertionError(f"{j.code} never reopened at treatment") from None
        await drive.until(
            200,
            "POST",
            at_body(i, "answer"),
            headers=FOCAL_POINT,
            body={"message": f"Les bulletins de {j.code} repartent.", "version": item["version"]},
        )


def _subject(mail) -> str:
    return str(make_header(decode_header(mail["Subject"])))


def _kind_of_email(subject: str, code: str) -> str:
    """Which step an email to the citizen tells of, from its subject."""
    if subject == f"Prise en compte de {code}":
        return "taken"
    for said, kind in (
        ("a bien été enregistrée", "submitted"),
        ("nouveau traitement a été reçue", "reopened"),
        ("a été traitée", "treated"),
        ("doit être reformulée", "reformulation"),
        ("n'a pas été jugée recevable", "rejected"),
        ("est transmise à l'organisme concerné", "validated"),
    ):
        if said in subject:
            return kind
    return subject


async def test_two_copies_of_every_process_lose_nothing_and_do_nothing_twice(
    two_copies_platform, smtp_server, database_url, amqp_url, namespace
):
    copies = two_copies_platform
    journeys = [
        Journey(i, kind, f"citoyen-{i}@example.ci")
        for i, kind in enumerate(kind for kind in JOURNEYS for _ in range(PER_JOURNEY))
    ]
    connector = aiohttp.TCPConnector(limit=0)
    async with signed_session(connector=connector) as http:
        drive = Drive(copies, http)
        await asyncio.gather(*(_drive(drive, j) for j in journeys))

        db = await asyncpg.connect(database_url)
        try:
            await _settled(db)
            await _agree(db, drive, journeys)
        finally:
            await db.close()
    await _emails(smtp_server, journeys)
    for service in SERVICES:
        dead = await dead_letters(amqp_url, f"{namespace}.milie.{service}.dead-letter")
        assert [(m.type, (m.headers or {}).get("x-milie-reason")) for m in dead] == [], service
    # The copies of a service took their batches' locks in one order (shared.lock_order): none
    # waited for PostgreSQL to break a cycle and retried (before, one run in two did).
    deadlocks = [
        f"{log.parent.name}/{log.name}"
        for platform in copies.both
        for log in platform.log_dir.glob("*.log")
        if "DeadlockDetected" in log.read_text()
    ]
    assert deadlocks == []


async def _settled(db: asyncpg.Connection) -> None:
    """Every outbox published, every email sent, nothing parked."""

    async def quiet():
        left = {}
        for service in SERVICES:
            left[f"{service}.outbox"] = await db.fetchval(
                f"SELECT count(*) FROM {service}.outbox WHERE sent_at IS NULL"
            )
            if await db.fetchval("SELECT to_regclass($1) IS NOT NULL", f"{service}.early_events"):
                left[f"{service}.early_events"] = await db.fetchval(
                    f"SELECT count(*) FROM {service}.early_events"
                )
        left["notify.pending"] = await db.fetchval(
            "SELECT count(*) FROM notify.deliveries WHERE status <> 'sent'"
        )
        quiet.left = left
        return not any(left.values()) or None

    try:
        await eventually(quiet, timeout=WAIT, interval=0.3)
    except AssertionError:
        raise AssertionError(f"not settled: {quiet.left}") from None


async def _agree(db: asyncpg.Connection, drive: Drive, journeys: list[Journey]) -> None:
    """Each request's last status, the same at intake, triage, treatment and stats."""
    expected = {j.code: JOURNEYS[j.kind][0] for j in journeys}
    # Triage: the analysts' decision, and what the body did after it (treatment's events).
    decided = {j.code: "rejected" if j.kind == "rejected" else "validated" for j in journeys}
    at_body = {code: s if s in ("treated", "closed") else None for code, s in expected.items()}

    async def statuses():
        rows = await db.fetch(
            """SELECT r.code, r.status AS intake, f.status AS stats, t.status AS treatment,
                      q.status AS triage, q.body_status AS triage_body
               FROM intake.requests r
               LEFT JOIN stats.request_facts f ON f.request_id = r.id
               LEFT JOIN treatment.treatments t ON t.request_id = r.id
               LEFT JOIN triage.queue_items q ON q.request_id = r.id
               WHERE r.code = ANY($1::text[])""",
            list(expected),
        )
        found = {r["code"]: dict(r) for r in rows}
        wrong = {
            code: found.get(code)
            for code, status in expected.items()
            if found.get(code, {}).get("intake") != status
            or found[code]["stats"] != status
            or found[code]["treatment"] not in (None, status)
            or (found[code]["triage"], found[code]["triage_body"]) != (decided[code], at_body[code])
        }
        return found if not wrong else None, wrong

    async def agreed():
        found, wrong = await statuses()
        agreed.last = wrong
        return found

    agreed.last = None
    try:
        await eventually(agreed, timeout=WAIT, interval=0.3)
    except AssertionError:
        raise AssertionError(f"statuses that disagree: {agreed.last}") from None

    # Stats counts each request once, in its last status.
    assert await db.fetchval("SELECT count(*) FROM stats.request_facts") == len(journeys)
    _, summary = await drive.call("GET", drive.url(0, "stats") + "/stats/summary")
    assert summary["by_status"] == dict(Counter(expected.values())), summary
    for j in journeys:
        status, item = await drive.call(
            "GET", drive.url(j.index, "triage") + f"/queue/{j.code}", headers=analyst_headers()
        )
        assert status == 200, item
        got = (item["status"], item["body_status"])
        assert got == (decided[j.code], at_body[j.code]), (j.kind, item)
        # The citizen's tracking view says the last status.
        status, view = await drive.call(
            "POST",
            drive.url(j.index + 1, "gateway") + "/api/v1/tracking",
            body={"code": j.code, "email": j.email},
        )
        assert status == 200 and view["status"] == expected[j.code], (j.kind, view)


async def _emails(smtp_server, journeys: list[Journey]) -> None:
    """Each citizen got each email of their journey once: none lost, none twice."""

    def received():
        return {
            j.code: Counter(_kind_of_email(_subject(m), j.code) for m in smtp_server.to(j.email))
            for j in journeys
        }

    expected = {j.code: JOURNEYS[j.kind][1] for j in journeys}
    # Every delivery is marked sent once the SMTP server took it: they are all in already.
    got = received()
    wrong = {code: (got[code], expected[code]) for code in expected if got[code] != expected[code]}
    assert wrong == {}
    texts = Counter(
        (m["To"], _subject(m), m.get_body(("plain",)).get_content()) for m in smtp_server.messages
    )
    assert [k for k, n in texts.items() if n > 1] == []
