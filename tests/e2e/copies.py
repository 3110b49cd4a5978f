"""Driving requests through two copies of every process (tests.e2e.conftest.two_copies_platform)
and checking, once everything settled, that the copies agree: what the tests of two copies
share.

Each step of a journey goes through one copy or the other (``Drive.url(step, name)``); each
call is repeated until the service that answers has applied what the step needs
(``Drive.until``). Then :func:`settled` waits for every outbox, parked event and delivery,
:func:`agree` compares each request's last status at intake, triage, treatment, stats and on
the citizen's tracking view, :func:`emails` counts each citizen's emails by the step they tell
of, and :func:`no_dead_letters` looks in every dead-letter queue.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from email.header import decode_header, make_header

import aiohttp
import asyncpg

from shared.identity import Identity, Role
from tests.e2e.conftest import BODY, analyst_headers, submission
from tests.support import SERVICES, as_staff, dead_letters, eventually

FOCAL_POINT = as_staff(Identity("e2e-focal", Role.FOCAL_POINT, body_id=BODY, login="point.focal"))
# Generous: dozens of journeys share two cores with twelve processes. A guard, not a measure.
WAIT = 90.0


@dataclass
class Journey:
    index: int
    kind: str
    email: str  # "": the citizen gave their mobile number alone
    phone: str = "0707123456"
    code: str = ""
    request_id: str = ""
    steps: list[str] = field(default_factory=list)

    @property
    def citizen(self) -> dict[str, str]:
        """What the citizen gives on « Suivre une requête »: the code, with the email address
        or else the mobile number."""
        return {
            "code": self.code,
            **({"email": self.email} if self.email else {"phone": self.phone}),
        }


def journeys_of(kinds, per_kind: int, mailbox: str, *, mobiles: bool = False) -> list[Journey]:
    """``per_kind`` journeys of each kind, each citizen their own address (``mailbox-N@…``);
    ``mobiles``: each their own mobile number too, which every other one gives alone."""
    every = [kind for kind in kinds for _ in range(per_kind)]
    if not mobiles:
        return [Journey(i, kind, f"{mailbox}-{i}@example.ci") for i, kind in enumerate(every)]
    return [
        Journey(i, kind, f"{mailbox}-{i}@example.ci" if i % 2 else "", phone=f"0748{i:06d}")
        for i, kind in enumerate(every)
    ]


class Drive:
    """Calls through one copy or the other: a journey's steps alternate between them."""

    def __init__(self, copies, http: aiohttp.ClientSession) -> None:
        self.copies = copies
        self.http = http

    def url(self, step: int, name: str) -> str:
        return self.copies.both[step % 2].url(name)

    def at_body(self, step: int, j: Journey, action: str = "") -> str:
        """Treatment's URL of ``j``'s request (its ``action``), on the copy of ``step``."""
        path = f"/requests/{j.code}" + (f"/{action}" if action else "")
        return self.url(step, "treatment") + path

    async def call(self, method: str, url: str, *, headers=None, body=None):
        async with self.http.request(method, url, headers=headers, json=body) as resp:
            return resp.status, await resp.json(content_type=None)

    async def until(self, expected: int, method: str, url: str, *, headers=None, body=None):
        """The call, repeated until it answers ``expected`` (a 404 or a 409 until the service
        that answers has applied the event the step needs)."""
        return await self.until_seen(
            method, url, lambda status, _: status == expected, headers=headers, body=body
        )

    async def until_seen(self, method: str, url: str, seen, *, headers=None, body=None):
        """The call, repeated until ``seen(status, answer)`` holds; the answer."""
        last: list = []

        async def done():
            status, data = await self.call(method, url, headers=headers, body=body)
            last[:] = [status, data]
            return data if seen(status, data) else None

        try:
            return await eventually(done, timeout=WAIT, interval=0.2)
        except AssertionError:
            raise AssertionError(f"{method} {url} never answered as awaited: {last}") from None

    # -- the steps every journey shares ------------------------------------------------------

    async def submit(self, j: Journey) -> None:
        """The citizen submits through the JSON API; the request waits in triage's queue."""
        status, created = await self.call(
            "POST",
            self.url(j.index, "gateway") + "/api/v1/requests",
            body=submission(j.email or None, j.phone),
        )
        assert status == 201, created
        j.code = created["code"]
        queue = self.url(j.index + 1, "triage") + f"/queue/{j.code}"
        await self.until(200, "GET", queue, headers=analyst_headers())

    async def decide(self, step: int, j: Journey, decision: str, message: str = "") -> None:
        """An analyst's ``decision`` (validate, reformulate, reject, clarify)."""
        url = self.url(step, "triage") + f"/queue/{j.code}/{decision}"
        body = {"message": message} if message else {}
        await self.until(200, "POST", url, headers=analyst_headers(), body=body)

    async def take(self, step: int, j: Journey, agent=FOCAL_POINT) -> dict:
        """The focal point takes the validated request in charge, with the acknowledgement
        email where the citizen gave an address; the new state (its ``version``)."""
        item = await self.until(200, "GET", self.at_body(step, j), headers=agent)
        j.request_id = item["request_id"]
        body = {"version": item["version"]}
        if j.email:
            said = "Nous traitons votre requête."
            body["acknowledgement"] = {"subject": f"Prise en compte de {j.code}", "text": said}
        return await self.until(
            200, "POST", self.at_body(step + 1, j, "take"), headers=agent, body=body
        )

    async def answer(self, step: int, j: Journey, version: int, agent=FOCAL_POINT) -> dict:
        body = {"message": f"Les bulletins de {j.code} sont partis.", "version": version}
        return await self.until(
            200, "POST", self.at_body(step, j, "answer"), headers=agent, body=body
        )

    async def opinion(self, step: int, j: Journey, opinion: str, comment: str = "") -> None:
        """The citizen's opinion on the answer (409 until intake has the answer)."""
        body = {**j.citizen, "opinion": opinion, **({"comment": comment} if comment else {})}
        await self.until(
            202, "POST", self.url(step, "gateway") + "/api/v1/tracking/opinion", body=body
        )

    async def at_body_status(self, step: int, j: Journey, status: str) -> dict:
        """Treatment's item of the request once it is at ``status``."""
        return await self.until_seen(
            "GET",
            self.at_body(step, j),
            lambda code, item: code == 200 and item["status"] == status,
            headers=FOCAL_POINT,
        )


def subject(mail) -> str:
    return str(make_header(decode_header(mail["Subject"])))


# Words of each message to the citizen → the step it tells of: emails by their subject
# (services/notify/emails.py, decisions.py, treatment.py), SMS by their text (sms_texts.py).
EMAIL_KINDS = (
    ("a bien été enregistrée", "submitted"),
    ("nouveau traitement a été reçue", "reopened"),
    ("a été traitée", "treated"),
    ("doit être reformulée", "reformulation"),
    ("n'a pas été jugée recevable", "rejected"),
    ("est transmise à l'organisme concerné", "validated"),
    ("est mise en attente", "on_hold"),
    ("un nouveau message au sujet de votre requête", "answered_again"),
    ("un message de l'OSEP au sujet de votre requête", "clarification"),
    ("est clôturée sans retour", "closed"),
)
SMS_KINDS = (
    ("est enregistrée. Son code", "submitted"),
    ("est recevable et transmise", "validated"),
    ("est à reformuler", "reformulation"),
    ("n'a pas été jugée recevable", "rejected"),
    ("est mise en attente", "on_hold"),
    ("l'organisme a répondu", "treated"),
    ("nouveau message de l'organisme", "answered_again"),
    ("demande de nouveau traitement", "reopened"),
    ("l'OSEP vous écrit", "clarification"),
    ("est close (sans retour)", "closed"),
)


def _kind(said: str, kinds) -> str:
    return next((kind for words, kind in kinds if words in said), said)


def kind_of_email(said: str, code: str) -> str:
    """Which step an email to the citizen tells of, from its subject ``said`` (the agent's
    acknowledgement of « Prendre en compte » by the subject the drive gave it)."""
    return "taken" if said == f"Prise en compte de {code}" else _kind(said, EMAIL_KINDS)


async def settled(db: asyncpg.Connection) -> None:
    """Every outbox published, every delivery sent, nothing parked."""

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


async def agree(
    db: asyncpg.Connection, drive: Drive, journeys: list[Journey], expected: dict[str, str]
) -> None:
    """Each request's last status (``expected``, by code), the same at intake, triage,
    treatment and stats and on the citizen's tracking view; stats counts each request once."""
    # Triage: the analysts' decision, and what the body did after it as far as a clarification
    # and the analyst's « Statut » need (treatment's answer, a hold and its end, the citizen's
    # reopening or opinion: triage.handlers). A request in treatment that was never held has no
    # body status there; one held then resumed has « in_treatment ».
    decided = {code: "rejected" if s == "rejected" else "validated" for code, s in expected.items()}
    followed = ("treated", "reopened", "closed", "on_hold", "in_treatment")
    at_body = {
        code: {s, None} if s == "in_treatment" else {s if s in followed else None}
        for code, s in expected.items()
    }

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
            or found[code]["triage"] != decided[code]
            or found[code]["triage_body"] not in at_body[code]
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
        assert item["status"] == decided[j.code], (j.kind, item)
        assert item["body_status"] in at_body[j.code], (j.kind, item)
        # The citizen's tracking view says the last status.
        status, view = await drive.call(
            "POST", drive.url(j.index + 1, "gateway") + "/api/v1/tracking", body=j.citizen
        )
        assert status == 200 and view["status"] == expected[j.code], (j.kind, view)


async def emails(smtp_server, journeys: list[Journey], expected: dict[str, Counter]) -> None:
    """Each citizen got each email of their journey (``expected``, by kind of journey) once:
    none lost, none twice."""

    journeys = [j for j in journeys if j.email]

    def received():
        return {
            j.code: Counter(kind_of_email(subject(m), j.code) for m in smtp_server.to(j.email))
            for j in journeys
        }

    wanted = {j.code: expected[j.kind] for j in journeys}
    # Every delivery is marked sent once the SMTP server took it: they are all in already.
    got = received()
    wrong = {code: (got[code], wanted[code]) for code in wanted if got[code] != wanted[code]}
    assert wrong == {}
    # The citizens' only: a reminder to an agent says again what the one before said.
    texts = Counter(
        (m["To"], subject(m), m.get_body(("plain",)).get_content())
        for j in journeys
        for m in smtp_server.to(j.email)
    )
    assert [k for k, n in texts.items() if n > 1] == []


def sms_env(fake_sms) -> dict[str, str]:
    """Settings that make notify send its SMS to ``fake_sms`` (a tests.fakes.orange_sms
    server)."""
    return {
        "MILIE_SMS_ENABLED": "true",
        "MILIE_SMS_BASE_URL": fake_sms.url,
        "MILIE_SMS_CLIENT_ID": fake_sms.client_id,
        "MILIE_SMS_CLIENT_SECRET": fake_sms.client_secret,
        "MILIE_SMS_SENDER": fake_sms.sender,
    }


def mobile(phone: str) -> str:
    """A national Ivorian mobile number as notify sends to it (E.164)."""
    return "+225" + phone.replace(" ", "")


async def sms_sent(fake_sms, journeys: list[Journey], expected: dict[str, Counter]) -> None:
    """Each citizen got each SMS of their journey (``expected``, by kind of journey) once, from
    whichever copy of notify sent it: none lost, none twice."""
    got = {
        j.code: Counter(_kind(m.message, SMS_KINDS) for m in fake_sms.to(mobile(j.phone)))
        for j in journeys
    }
    wanted = {j.code: expected[j.kind] for j in journeys}
    assert {c: (got[c], wanted[c]) for c in wanted if got[c] != wanted[c]} == {}
    texts = Counter((m.address, m.message) for m in fake_sms.messages)
    assert [k for k, n in texts.items() if n > 1] == []


async def no_dead_letters(amqp_url: str, namespace: str) -> None:
    for service in SERVICES:
        dead = await dead_letters(amqp_url, f"{namespace}.milie.{service}.dead-letter")
        assert [(m.type, (m.headers or {}).get("x-milie-reason")) for m in dead] == [], service


def no_deadlocks(copies) -> None:
    """The copies of a service took their batches' locks in one order (shared.lock_order): none
    waited for PostgreSQL to break a cycle and retried (before, one run in two did)."""
    deadlocks = [
        f"{log.parent.name}/{log.name}"
        for platform in copies.both
        for log in platform.log_dir.glob("*.log")
        if "DeadlockDetected" in log.read_text()
    ]
    assert deadlocks == []
