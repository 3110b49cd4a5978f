"""A decision or an answer that reaches notify before the request's submission (another copy of
notify, a message given back to the queue) is not lost: it waits for the citizen's address and
is sent once it comes (shared.early; real PostgreSQL, RabbitMQ and SMTP server)."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from services.notify.app import create_app
from services.notify.settings import NotifySettings
from shared.messages import Actor, RequestRejectedV1, RequestTreatedV1
from tests.support import RunningApp, eventually, publish_event, submitted_event

ANALYST = Actor(staff_id="an-1", role="analyst")
FOCAL = Actor(staff_id="pf-1", role="focal_point")


async def test_a_decision_before_the_submission_is_sent_once_the_address_is_known(
    settings_for, amqp_url, namespace, smtp_server
):
    settings = settings_for(NotifySettings, smtp_port=smtp_server.port)
    rejected = submitted_event()
    answered = submitted_event()
    now = datetime.now(UTC)
    early = [
        RequestRejectedV1(
            request_id=rejected.request_id,
            code=rejected.code,
            reason="Hors du champ de l'Observatoire.",
            actor=ANALYST,
            decided_at=now,
        ),
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
