"""A request closed « sans retour » (request.closed from treatment's clock, no opinion) tells the
citizen nothing: they were sent the answer and asked for their opinion already; their tracking
page says « Clôturée sans retour » (tests/track)."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import pytest

from services.notify.app import create_app
from services.notify.settings import NotifySettings
from shared.broker import Unroutable
from shared.messages import RequestClosedV1, RequestPutOnHoldV1, RequestSubmittedV1
from tests.notify.test_treatment_notices import BODY_ID, FOCAL, PUBLIC_URL
from tests.support import RunningApp, publish_event, submitted_event


async def test_a_request_closed_without_return_sends_no_email(
    settings_for, amqp_url, namespace, smtp_server
):
    settings = settings_for(NotifySettings, smtp_port=smtp_server.port, public_url=PUBLIC_URL)
    citizen = submitted_event()
    address, ids = (
        citizen.contact.email,
        {"request_id": citizen.request_id, "code": citizen.code, "body_id": BODY_ID},
    )
    now = datetime.now(UTC)
    async with RunningApp(create_app(settings)):
        await publish_event(amqp_url, namespace, citizen)
        await smtp_server.wait_for(address)  # the acknowledgement
        # Only notify runs in this namespace: its queue is not bound to request.closed, so the
        # broker finds no queue for it (treatment's relay keeps it for intake and stats).
        with pytest.raises(Unroutable):
            await publish_event(amqp_url, namespace, RequestClosedV1(**ids, closed_at=now))
        # An event that does send one, after it.
        await publish_event(
            amqp_url,
            namespace,
            RequestPutOnHoldV1(**ids, reason="Pièces demandées", actor=FOCAL, held_at=now),
        )
        mails = await smtp_server.wait_for(address, count=2)
        conn = await asyncpg.connect(settings.database_url)
        try:
            logged = await conn.fetch(
                "SELECT about_message_type FROM notify.deliveries WHERE request_id = $1",
                citizen.request_id,
            )
        finally:
            await conn.close()

    assert len(mails) == 2 and len(smtp_server.to(address)) == 2
    assert sorted(r["about_message_type"] for r in logged) == sorted(
        [RequestSubmittedV1.type_name(), RequestPutOnHoldV1.type_name()]
    )
