"""A decision or an answer that reaches notify before the request's submission (another copy of
notify, a message given back to the queue) is not lost: it waits for the citizen's address and
is sent once it comes (shared.early; real PostgreSQL, RabbitMQ and SMTP server)."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from services.notify.app import create_app
from services.notify.settings import NotifySettings
from shared.messages import Actor, RequestRejectedV1, RequestTreatedV1
from tests.support import (
    RunningApp,
    eventually,
    publish_event,
    publish_events,
    submitted_event,
)

ANALYST = Actor(staff_id="an-1", role="analyst")
FOCAL = Actor(staff_id="pf-1", role="focal_point")


def _rejection(submitted) -> RequestRejectedV1:
    return RequestRejectedV1(
        request_id=submitted.request_id,
        code=submitted.code,
        reason="Hors du champ de l'Observatoire.",
        actor=ANALYST,
        decided_at=datetime.now(UTC),
    )


async def test_a_decision_before_the_submission_is_sent_once_the_address_is_known(
    settings_for, amqp_url, namespace, smtp_server
):
    settings = settings_for(NotifySettings, smtp_port=smtp_server.port)
    rejected = submitted_event()
    answered = submitted_event()
    now = datetime.now(UTC)
    early = [
        _rejection(rejected),
        RequestTreatedV1(
            request_id=answered.request_id,
            code=answered.code,
            body_id=answered.body_id,
            message="Votre dossier est régularisé.",
            actor=FOCAL,
            treated_at=now,
        ),
    ]
    async with RunningApp(create_app(settings)):
        conn = await asyncpg.connect(settings.database_url)
        try:
            for event in early:
                await publish_event(amqp_url, namespace, event)

            async def parked() -> bool:
                return await conn.fetchval("SELECT count(*) FROM notify.early_events") == 2

            await eventually(parked)
            assert smtp_server.to(rejected.contact.email) == []

            for event in (rejected, answered):
                await publish_event(amqp_url, namespace, event)
            to_rejected = await smtp_server.wait_for(rejected.contact.email, count=2)
            to_answered = await smtp_server.wait_for(answered.contact.email, count=2)
            left = await conn.fetchval("SELECT count(*) FROM notify.early_events")
        finally:
            await conn.close()

    assert left == 0
    assert any(
        "Hors du champ de l'Observatoire." in m.get_body(("plain",)).get_content()
        for m in to_rejected
    )
    assert any(
        "Votre dossier est régularisé." in m.get_body(("plain",)).get_content() for m in to_answered
    )
    assert len(smtp_server.to(rejected.contact.email)) == 2  # the acknowledgement and the decision


async def test_two_copies_tell_every_citizen_of_a_rejection_published_with_the_submission(
    settings_for, amqp_url, namespace, smtp_server
):
    """Two copies of notify, as the design runs N of each, take one queue's messages at once: a
    submission and its rejection, published back to back, reach them in any order; every citizen
    gets the acknowledgement and the rejection, once each."""
    settings = settings_for(NotifySettings, smtp_port=smtp_server.port, parked_sweep_seconds=0.2)
    requests = [submitted_event() for _ in range(40)]
    async with RunningApp(create_app(settings)), RunningApp(create_app(settings)):
        await publish_events(
            amqp_url,
            namespace,
            [event for submitted in requests for event in (submitted, _rejection(submitted))],
        )
        for submitted in requests:
            await smtp_server.wait_for(submitted.contact.email, count=2)

    for submitted in requests:
        mails = smtp_server.to(submitted.contact.email)
        texts = [m.get_body(("plain",)).get_content() for m in mails]
        assert len(mails) == 2, texts
        assert sum("Hors du champ de l'Observatoire." in t for t in texts) == 1
