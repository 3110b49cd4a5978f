"""notify's emails to the staff (services/notify/staff_mail.py, staff_digests.py) on real
PostgreSQL, RabbitMQ and SMTP (aiosmtpd): the alert of a new request to the focal points who want
it at once, each reminder to the body's focal points, once whatever the redeliveries; one digest
a day and one mail a day of the late requests to the analysts, with a clock the test controls."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta
from email.header import decode_header, make_header

import pytest

from services.notify import staff_digests
from services.notify.app import create_app
from services.notify.settings import NotifySettings
from shared.messages import (
    Actor,
    Contact,
    Nature,
    ReminderKind,
    RequestDeadlineMissedV1,
    RequestDeadlineWarningV1,
    RequestReassignedV1,
    RequestTreatedV1,
    RequestValidatedV1,
)
from shared.service import POOL
from tests.support import RunningApp, eventually, publish_event

PUBLIC_URL = "https://portail.milie.test"
BODY, BODY_NAME = "ministere-budget", "Ministère du Budget"
OTHER, OTHER_NAME = "ministere-sante", "Ministère de la Santé"
STAFF = [
    # account, email, role, body, alerts, active
    ("fp-now", "pf.now@budget.ci", "focal_point", BODY, "immediate", True),
    ("fp-day", "pf.day@budget.ci", "focal_point", BODY, "digest", True),
    ("fp-off", "pf.off@budget.ci", "focal_point", BODY, "immediate", False),
    ("fp-sante", "pf@sante.ci", "focal_point", OTHER, "immediate", True),
    ("an-1", "analyste@osep.ci", "analyst", None, "immediate", True),
    ("an-off", "parti@osep.ci", "analyst", None, "immediate", False),
]


def subject(mail) -> str:
    return str(make_header(decode_header(mail["Subject"])))


def text(mail) -> str:
    return mail.get_body(("plain",)).get_content()


def code() -> str:
    return str(uuid.uuid4().int)[:10]


def validated(body: str, body_name: str, at: datetime) -> RequestValidatedV1:
    return RequestValidatedV1(
        request_id=uuid.uuid4(),
        code=code(),
        nature=Nature.RECLAMATION,
        needs_treatment=True,
        body_id=body,
        body_name=body_name,
        theme_label="Impôts",
        message="Mon remboursement n'est jamais arrivé.",
        contact=Contact(),  # no address: the citizen gets nothing here
        submitted_at=at - timedelta(days=2),
        actor=Actor(staff_id="an-1", role="analyst"),
        decided_at=at,
    )


def deadline_missed(event: RequestValidatedV1, at: datetime) -> RequestDeadlineMissedV1:
    """The answer deadline of the request ``event`` validated, missed at ``at`` (treatment's
    clock)."""
    return RequestDeadlineMissedV1(
        request_id=event.request_id,
        code=event.code,
        nature=event.nature,
        body_id=event.body_id,
        body_name=event.body_name,
        answer_due=date(2026, 6, 11),
        validated_at=at,
        missed_at=at,
    )


def answered(event: RequestValidatedV1, at: datetime) -> RequestTreatedV1:
    """The body's answer to the request ``event`` validated."""
    return RequestTreatedV1(
        request_id=event.request_id,
        code=event.code,
        body_id=event.body_id,
        message="Réglé.",
        actor=Actor(staff_id="fp-now", role="focal_point"),
        treated_at=at,
    )


@pytest.fixture
async def notify(settings_for, smtp_server):
    settings = settings_for(
        NotifySettings,
        smtp_port=smtp_server.port,
        public_url=PUBLIC_URL,
        staff_clock_interval_seconds=0,
    )
    async with RunningApp(create_app(settings)) as running:
        pool = running.app[POOL]
        await pool.executemany(
            """INSERT INTO staff_recipients (account_id, login, display_name, email, role,
                                             body_id, alerts, active)
               VALUES ($1, $1, $1, $2, $3, $4, $5, $6)""",
            STAFF,
        )
        yield pool


async def handled(pool, message_type: str, count: int) -> None:
    async def probe() -> bool:
        done = await pool.fetchval(
            "SELECT count(*) FROM inbox WHERE message_type = $1", message_type
        )
        return done >= count

    await eventually(probe)


async def all_sent(pool) -> None:
    async def probe() -> bool:
        return not await pool.fetchval("SELECT count(*) FROM deliveries WHERE status = 'pending'")

    await eventually(probe)


async def publish_twice(amqp_url, namespace, event) -> None:
    """Published, then delivered again under the same message id (a redelivery)."""
    message_id = await publish_event(amqp_url, namespace, event)
    await publish_event(amqp_url, namespace, event, message_id=message_id)


async def test_alerts_and_reminders_reach_the_bodys_focal_points_once(
    notify, smtp_server, amqp_url, namespace
):
    now = datetime.now(UTC)
    new = validated(BODY, BODY_NAME, now)
    await publish_twice(amqp_url, namespace, new)
    warning = RequestDeadlineWarningV1(
        request_id=new.request_id,
        code=new.code,
        nature=new.nature,
        body_id=BODY,
        body_name=BODY_NAME,
        kind=ReminderKind.ANSWER_DUE,
        due_date=date(2026, 6, 10),
        answer_due=date(2026, 6, 17),
        validated_at=now,
        warned_at=now,
    )
    await publish_twice(amqp_url, namespace, warning)
    # The inbox keeps each message id once: a redelivery adds no row.
    await handled(notify, RequestValidatedV1.type_name(), 1)
    await handled(notify, RequestDeadlineWarningV1.type_name(), 1)
    await smtp_server.wait_for("pf.day@budget.ci")
    await smtp_server.wait_for("pf.now@budget.ci", count=2)
    await all_sent(notify)

    # The alert at once to who asked for it; the reminder to every active focal point.
    assert [subject(m) for m in smtp_server.to("pf.now@budget.ci")] == [
        f"Miliê — nouvelle requête n° {new.code} pour {BODY_NAME}",
        f"Miliê — rappel : réponse à la requête n° {new.code} attendue le 17/06/2026",
    ]
    [day] = smtp_server.to("pf.day@budget.ci")
    assert subject(day).startswith("Miliê — rappel")
    body = text(day)
    assert "Bonjour fp-day," in body
    assert "attendue au plus tard le 17/06/2026" in body
    assert f"{PUBLIC_URL}/admin/requetes/{new.code}" in body
    html = day.get_body(("html",)).get_content()
    assert 'name="viewport"' in html and 'lang="fr"' in html
    for nobody in ("pf.off@budget.ci", "pf@sante.ci", "analyste@osep.ci"):
        assert smtp_server.to(nobody) == []


async def test_the_agent_a_request_is_reassigned_to_is_told_once(
    notify, smtp_server, amqp_url, namespace
):
    """« Réaffecter » (seeds/004_*): the colleague learns by email that the request is now
    theirs, who handed it over and where to treat it — once, whatever the redeliveries; nobody
    else is written to. Seen in a trial: the request changed hands in silence, the colleague
    had no way to know it waited for them."""
    now = datetime.now(UTC)
    handed = RequestReassignedV1(
        request_id=uuid.uuid4(),
        code=code(),
        body_id=BODY,
        assignee_id="fp-day",
        previous_assignee_id="fp-now",
        actor=Actor(staff_id="fp-now", role="focal_point", body_id=BODY),
        reassigned_at=now,
    )
    await publish_twice(amqp_url, namespace, handed)
    # Handed to oneself (« Réaffecter » offers every other agent, and oneself when another had
    # it): nothing to tell.
    kept = handed.model_copy(update={"assignee_id": "fp-now", "previous_assignee_id": "fp-day"})
    await publish_event(amqp_url, namespace, kept)
    await handled(notify, RequestReassignedV1.type_name(), 2)
    [mail] = await smtp_server.wait_for("pf.day@budget.ci")
    await all_sent(notify)
    assert subject(mail) == f"Miliê — la requête n° {handed.code} vous est réaffectée"
    body = text(mail)
    assert "Bonjour fp-day," in body
    assert f"fp-now vous a réaffecté la requête n° {handed.code}" in body
    assert f"{PUBLIC_URL}/admin/requetes/{handed.code}" in body
    assert len(smtp_server.messages) == 1


async def test_one_digest_a_day_and_the_late_requests_to_the_analysts(
    notify, smtp_server, amqp_url, namespace
):
    day = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0)
    first, second = validated(BODY, BODY_NAME, day), validated(BODY, BODY_NAME, day)
    elsewhere = validated(OTHER, OTHER_NAME, day)
    for event in (first, second, elsewhere):
        await publish_event(amqp_url, namespace, event)
    missed = [deadline_missed(e, day) for e in (first, elsewhere)]
    for event in missed:
        await publish_twice(amqp_url, namespace, event)
    await handled(notify, RequestValidatedV1.type_name(), 3)
    await handled(notify, RequestDeadlineMissedV1.type_name(), 2)

    # Before the hour, nothing; then two copies sweeping at once, and again: one of each.
    tomorrow = day + timedelta(days=1)
    early = await staff_digests.sweep(notify, PUBLIC_URL, tomorrow.replace(hour=6), 7)
    assert (early.digests, early.late) == ([], [])
    at = tomorrow.replace(hour=8)
    await asyncio.gather(
        staff_digests.sweep(notify, PUBLIC_URL, at, 7),
        staff_digests.sweep(notify, PUBLIC_URL, at, 7),
    )
    await staff_digests.sweep(notify, PUBLIC_URL, at.replace(hour=15), 7)
    [digest] = await smtp_server.wait_for("pf.day@budget.ci")
    [late] = await smtp_server.wait_for("analyste@osep.ci")
    await all_sent(notify)
    assert subject(digest) == f"Miliê — 2 nouvelles requêtes pour {BODY_NAME}"
    said = text(digest)
    assert first.code in said and second.code in said and elsewhere.code not in said
    assert f"{PUBLIC_URL}/admin/traitements/en-cours" in said
    assert subject(late) == "Miliê — 2 requêtes en retard"
    said = text(late)
    assert f"{BODY_NAME} (1) :" in said and f"{OTHER_NAME} (1) :" in said
    assert "réponse attendue au plus tard le 11/06/2026" in said
    assert f"{PUBLIC_URL}/admin/traitements/en-retard" in said
    assert smtp_server.to("parti@osep.ci") == []

    # The body answers one: the next day, the analysts read only the other; no digest (nothing
    # new reached the body the day before).
    await publish_event(amqp_url, namespace, answered(first, tomorrow))
    await handled(notify, RequestTreatedV1.type_name(), 1)
    after = at + timedelta(days=1)
    sent = await staff_digests.sweep(notify, PUBLIC_URL, after, 7)
    assert (sent.digests, sent.late) == ([], ["an-1"])
    mails = await smtp_server.wait_for("analyste@osep.ci", count=2)
    assert subject(mails[1]) == "Miliê — 1 requête en retard"
    assert first.code not in text(mails[1]) and elsewhere.code in text(mails[1])
    await all_sent(notify)
    assert len(smtp_server.to("pf.day@budget.ci")) == 1
    assert len(smtp_server.to("analyste@osep.ci")) == 2


async def test_an_answer_applied_before_its_missed_deadline_leaves_the_request_answered(
    notify, smtp_server, amqp_url, namespace
):
    """Two copies of notify on one queue: one applies the body's answer while the other still
    holds the deadline missed just before it. The request was answered: the analysts' daily
    mail does not list it as late, that day or any other."""
    day = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0)
    new = validated(BODY, BODY_NAME, day)
    await publish_event(amqp_url, namespace, new)
    await handled(notify, RequestValidatedV1.type_name(), 1)
    await publish_event(amqp_url, namespace, answered(new, day + timedelta(minutes=5)))
    await handled(notify, RequestTreatedV1.type_name(), 1)
    await publish_event(amqp_url, namespace, deadline_missed(new, day))
    await handled(notify, RequestDeadlineMissedV1.type_name(), 1)

    sent = await staff_digests.sweep(notify, PUBLIC_URL, day + timedelta(days=1, hours=1), 7)
    assert sent.late == []
