"""citizen.documents_added on triage's real PostgreSQL and RabbitMQ: the documents a citizen
added with a rewrite join the request's attachments, each once (the same file announced again
changes nothing), and go on with the validation."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from shared.messages import AttachmentRef, CitizenDocumentsAddedV1, RequestValidatedV1
from tests.support import eventually, publish_event, submitted_event
from tests.triage.helpers import ANALYST


def _added(event, *refs: AttachmentRef) -> CitizenDocumentsAddedV1:
    return CitizenDocumentsAddedV1(
        request_id=event.request_id,
        code=event.code,
        attachments=list(refs),
        added_at=datetime.now(UTC),
    )


async def test_documents_join_the_request_once(triage):
    event = submitted_event()
    await triage.queued(event)
    receipt = AttachmentRef(
        attachment_id=uuid.uuid4(), filename="reçu.pdf", content_type="application/pdf", size=120
    )
    photo = AttachmentRef(
        attachment_id=uuid.uuid4(), filename="guichet.png", content_type="image/png", size=80
    )
    await publish_event(triage.amqp_url, triage.namespace, _added(event, receipt))
    await publish_event(triage.amqp_url, triage.namespace, _added(event, receipt, photo))
    stranger = _added(submitted_event(), photo)
    await publish_event(triage.amqp_url, triage.namespace, stranger)

    async def both():
        _, item = await triage.api.get(f"/queue/{event.code}")
        names = [a["filename"] for a in item["attachments"]]
        return names if len(names) == 2 else None

    names = await eventually(both)
    assert names == ["reçu.pdf", "guichet.png"]

    # The validation carries them to the body.
    status, item = await triage.api.get(f"/queue/{event.code}", identity=ANALYST)
    status, done = await triage.api.post(
        f"/queue/{event.code}/validate",
        {"message": "Recevable.", "version": item["version"]},
        identity=ANALYST,
    )
    assert status == 200, done
    body = await triage.pool.fetchval(
        "SELECT body::text FROM outbox WHERE message_type = $1 AND body->>'code' = $2",
        RequestValidatedV1.type_name(),
        event.code,
    )
    validated = RequestValidatedV1.model_validate_json(body)
    assert [a.filename for a in validated.attachments] == ["reçu.pdf", "guichet.png"]
