"""request.personal_data_purged in triage: the queue row and the history forget the citizen.

In the consumer's transaction (inbox): all of it or nothing, and a second delivery is ignored
(applied again, it would change nothing either). The queue row keeps its code, body, nature,
theme, place, channel, dates, statuses and opinion; its message, contact, attachments and the
citizen's opinion comment go, and with the message the words of the search column (generated
from it). History lines of the citizen's own texts (submission, rewrite) lose their text; the
analysts' texts (reformulation, rejection, clarification messages) stay, with the citizen's
name, email and telephone replaced (shared.purge.redact).
"""

from __future__ import annotations

import json
import logging

import asyncpg

from services.triage.domain import Kind
from shared.consumer import Delivery
from shared.messages import RequestPersonalDataPurgedV1
from shared.purge import forget_sent_events, identifiers, redact

log = logging.getLogger(__name__)

CITIZEN_KINDS = [Kind.SUBMITTED.value, Kind.RESUBMITTED.value]


async def on_personal_data_purged(
    conn: asyncpg.Connection, event: RequestPersonalDataPurgedV1, delivery: Delivery
) -> None:
    contact = await conn.fetchval(
        "SELECT contact FROM queue_items WHERE request_id = $1 FOR UPDATE", event.request_id
    )
    await forget_sent_events(conn, [event.request_id])
    if contact is None:
        log.info("purge of a request triage does not know", extra={"code": event.code})
        return
    names = identifiers(json.loads(contact) if isinstance(contact, str) else contact)
    await conn.execute(
        """UPDATE queue_items SET message = '', contact = '{}', attachments = '[]',
                  opinion_comment = NULL
           WHERE request_id = $1""",
        event.request_id,
    )
    await conn.execute(
        "UPDATE history SET message = NULL WHERE request_id = $1 AND kind = ANY($2::text[])",
        event.request_id,
        CITIZEN_KINDS,
    )
    lines = await conn.fetch(
        "SELECT id, message FROM history WHERE request_id = $1 AND message IS NOT NULL",
        event.request_id,
    )
    changed = [(r["id"], redact(r["message"], names)) for r in lines]
    changed = [(i, m) for (i, m), r in zip(changed, lines, strict=True) if m != r["message"]]
    if changed:
        await conn.executemany("UPDATE history SET message = $2 WHERE id = $1", changed)
