"""request.personal_data_purged in triage: the queue row and the history forget the citizen.

In the consumer's transaction (inbox): all of it or nothing, and a second delivery is ignored
(applied again, it would change nothing either). The queue row keeps its code, body, nature,
theme, place, channel, dates, statuses and opinion; its message, contact, attachments and the
citizen's opinion comment go, and with the message the words of the search column (generated
from it). History lines of the citizen's own texts (submission, rewrite) lose their text; the
analysts' texts (reformulation, rejection, clarification messages) stay, with the citizen's
name, email and telephone replaced (shared.purge.redact).

Intake purges in batches, so the events come in runs: a run is applied in a few statements
(:class:`shared.consumer.Batched`), whatever its length.
"""

from __future__ import annotations

import json
import logging

import asyncpg

from services.triage.domain import Kind
from shared.consumer import Batched, Delivery
from shared.messages import RequestPersonalDataPurgedV1
from shared.purge import forget_sent_events, identifiers, redact

log = logging.getLogger(__name__)

CITIZEN_KINDS = [Kind.SUBMITTED.value, Kind.RESUBMITTED.value]


async def purge_requests(conn: asyncpg.Connection, events: list[RequestPersonalDataPurgedV1]):
    """Erase the citizen's data of these requests (call inside a transaction)."""
    ids = sorted({e.request_id for e in events})
    rows = await conn.fetch(
        """SELECT request_id, contact FROM queue_items WHERE request_id = ANY($1::uuid[])
           ORDER BY request_id FOR UPDATE""",
        ids,
    )
    await forget_sent_events(conn, ids)
    if len(rows) < len(ids):
        log.info("purge of requests triage does not know", extra={"count": len(ids) - len(rows)})
    if not rows:
        return
    names = {r["request_id"]: identifiers(json.loads(r["contact"])) for r in rows}
    known = list(names)
    when = {e.request_id: e.purged_at for e in events}
    await conn.execute(
        """UPDATE queue_items q SET message = '', contact = '{}', attachments = '[]',
                  opinion_comment = NULL, purged_at = coalesce(q.purged_at, p.at)
           FROM unnest($1::uuid[], $2::timestamptz[]) AS p(id, at) WHERE q.request_id = p.id""",
        known,
        [when[i] for i in known],
    )
    await conn.execute(
        """UPDATE history SET message = NULL
           WHERE request_id = ANY($1::uuid[]) AND kind = ANY($2::text[])""",
        known,
        CITIZEN_KINDS,
    )
    lines = await conn.fetch(
        """SELECT id, request_id, message FROM history
           WHERE request_id = ANY($1::uuid[]) AND message IS NOT NULL""",
        known,
    )
    changed = []
    for line in lines:
        message = redact(line["message"], names[line["request_id"]])
        if message != line["message"]:
            changed.append((line["id"], message))
    if changed:
        await conn.executemany("UPDATE history SET message = $2 WHERE id = $1", changed)


async def _run(
    conn: asyncpg.Connection, run: list[tuple[RequestPersonalDataPurgedV1, Delivery]]
) -> None:
    await purge_requests(conn, [event for event, _ in run])


on_personal_data_purged = Batched(_run)
