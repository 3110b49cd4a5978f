"""A request closed « sans retour » (request.closed from treatment's clock, no opinion) is told to
the citizen — the window for their opinion has passed, the history stays on the tracking page —
once; a request closed by the citizen's own opinion is told nothing (their tracking page says
« Clôturée sans retour » or their opinion: tests/track)."""

from __future__ import annotations

from datetime import UTC, datetime
from email.header import decode_header, make_header

import asyncpg

from services.notify.app import create_app
from services.notify.settings import NotifySettings
from shared.messages import Opinion, RequestClosedV1, RequestPutOnHoldV1, RequestSubmittedV1
from tests.notify.test_treatment_notices import BODY_ID, FOCAL, PUBLIC_URL
from tests.support import RunningApp, publish_event, submitted_event


async def test_a_request_closed_without_return_is_told_once(
    settings_for, amqp_url, namespace, smtp_server
):
    settings = settings_for(NotifySettings, smtp_port=smtp_server.port, public_url=PUBLIC_URL)
    citizen, satisfied = submitted_event(), submitted_event()
    address = citizen.contact.email

    def ids(event):
        return {"request_id": event.request_id, "code": event.code, "body_id": BODY_ID}

    now = datetime.now(UTC)
    async with RunningApp(create_app(settings)):
        for event in (citizen, satisfied):
            await publish_event(amqp_url, namespace, event)
        await smtp_server.wait_for(address)  # the acknowledgement
        await smtp_server.wait_for(satisfied.contact.email)
        closed = RequestClosedV1(**ids(citizen), closed_at=now)
        message_id = await publish_event(amqp_url, namespace, closed)
        await publish_event(amqp_url, namespace, closed, message_id=message_id)
        await publish_event(
            amqp_url,
            namespace,
            RequestClosedV1(**ids(satisfied), opinion=Opinion.SATISFIED, closed_at=now),
        )
        # An event that does send one, after them.
        await publish_event(
            amqp_url,
            namespace,
            RequestPutOnHoldV1(**ids(satisfied), reason="Pièces", actor=FOCAL, held_at=now),
        )
        mails = await smtp_server.wait_for(address, count=2)
        await smtp_server.wait_for(satisfied.contact.email, count=2)
        conn = await asyncpg.connect(settings.database_url)
        try:
            logged = await conn.fetch(
                "SELECT request_id, about_message_type FROM notify.deliveries"
                " WHERE request_id = ANY($1::uuid[])",
                [citizen.request_id, satisfied.request_id],
            )
        finally:
            await conn.close()

    assert len(mails) == 2 and len(smtp_server.to(address)) == 2
    subject = str(make_header(decode_header(mails[1]["Subject"])))
    assert subject == f"Miliê — votre requête n° {citizen.code} est clôturée sans retour"
    assert f"{PUBLIC_URL}/suivre?code={citizen.code}" in mails[1].get_body(("plain",)).get_content()
    assert sorted(
        r["about_message_type"] for r in logged if r["request_id"] == citizen.request_id
    ) == sorted([RequestSubmittedV1.type_name(), RequestClosedV1.type_name()])
    assert sorted(
        r["about_message_type"] for r in logged if r["request_id"] == satisfied.request_id
    ) == sorted([RequestSubmittedV1.type_name(), RequestPutOnHoldV1.type_name()])
