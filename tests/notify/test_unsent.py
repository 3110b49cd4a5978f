"""A message notify cannot send is written down, never silently dropped: a citizen who gave only a
mobile number while the platform sends no SMS (MILIE_SMS_ENABLED off, as ``make up`` runs it)
gets a delivery « non envoyé » with why, and a notification.failed for the statistics (real
PostgreSQL, RabbitMQ and SMTP server)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import asyncpg

from services.notify.app import create_app
from services.notify.settings import NotifySettings
from shared.messages import Actor, Contact, RequestValidatedV1
from tests.notify.test_notify import delivery_log
from tests.support import RunningApp, eventually, publish_event, submitted_event

ANALYST = Actor(staff_id="an-1", role="analyst")


async def test_a_caller_without_email_is_logged_unsent_when_sms_is_off(
    settings_for, amqp_url, namespace, smtp_server
):
    settings = settings_for(NotifySettings, smtp_port=smtp_server.port, db_pool_min=1)
    assert not settings.sms_enabled
    caller = submitted_event(contact=Contact(last_name="TRAORÉ", phone="+2250505123456"))
    validated = RequestValidatedV1(
        **caller.model_dump(exclude={"channel", "theme_id", "place_id"}),
        needs_treatment=True,
        actor=ANALYST,
        decided_at=datetime.now(UTC),
    )
    async with RunningApp(create_app(settings)) as app:
        await publish_event(amqp_url, namespace, caller)
        await publish_event(amqp_url, namespace, validated)

        async def both():
            rows = await delivery_log(app, caller.request_id)
            return rows if len(rows) == 2 else None

        rows = await eventually(both)
        assert [(r["medium"], r["status"], r["recipient"]) for r in rows] == [
            ("sms", "unsent", "+2250505123456"),
            ("sms", "unsent", "+2250505123456"),
        ]
        assert {r["about_message_type"] for r in rows} == {
            "request.submitted.v1",
            "request.validated.v1",
        }
        assert all("la plateforme n'envoie pas de SMS" in r["last_error"] for r in rows)
        conn = await asyncpg.connect(settings.database_url)
        try:
            bodies = await conn.fetch(
                "SELECT body FROM notify.outbox WHERE message_type = 'notification.failed.v1'"
            )
        finally:
            await conn.close()
        failed = [json.loads(b["body"]) for b in bodies]
        assert sorted(f["delivery_id"] for f in failed) == sorted(r["id"] for r in rows)
        assert {f["medium"] for f in failed} == {"sms"}
    assert smtp_server.messages == []
