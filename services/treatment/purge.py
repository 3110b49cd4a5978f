"""request.personal_data_purged in treatment: the body's copy forgets the citizen.

In the consumer's transaction (inbox): all of it or nothing, and a second delivery is ignored
(applied again, it would change nothing either). Erased: the citizen's message, contact (and so
the words of the search column, generated from both), the references of the citizen's
attachments (their names may name them; intake had the bytes), the comments of the citizen's
opinions, the messages of their reopenings, and the history lines of both (and of the replies
refused).

Kept, with the citizen's name, email and telephone replaced (shared.purge.redact): the body's
answers and the staff's texts (the analyst's message, hold reasons, the acknowledgement email,
tags). They are the body's record of its own work, which it must be able to show (a late or
contested answer, « Insatisfaits », the statistics' « délais respectés »), written by agents
rather than given by the citizen; what names the citizen in them goes. The documents a body
joined to its answers stay too: the body's own papers, not the citizen's (a letter addressed to
the citizen by name is the body's to keep or not, as its archives say).

Intake purges in batches, so the events come in runs: a run is applied in a few statements
(:class:`shared.consumer.Batched`), whatever its length.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import asyncpg

from shared.consumer import Batched, Delivery
from shared.lifecycle import Event
from shared.messages import RequestPersonalDataPurgedV1
from shared.purge import forget_sent_events, identifiers, redact, redact_json

log = logging.getLogger(__name__)

# The history lines whose message is the citizen's own text (a reply refused keeps its comment
# or its « Relancer » message).
CITIZEN_KINDS = [Event.OPINION_GIVEN.kind, Event.REOPENED.kind, Event.CITIZEN_REPLY_REFUSED.kind]


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


async def purge_requests(conn: asyncpg.Connection, events: list[RequestPersonalDataPurgedV1]):
    """Erase the citizen's data of these requests (call inside a transaction)."""
    ids = sorted({e.request_id for e in events})
    rows = await conn.fetch(
        """SELECT request_id, contact, analyst_message FROM treatments
           WHERE request_id = ANY($1::uuid[]) ORDER BY request_id FOR UPDATE""",
        ids,
    )
    await forget_sent_events(conn, ids)
    if len(rows) < len(ids):
        log.info("purge of requests treatment does not know", extra={"count": len(ids) - len(rows)})
    if not rows:
        return
    names = {r["request_id"]: identifiers(_json(r["contact"])) for r in rows}
    known = list(names)
    when = {e.request_id: e.purged_at for e in events}
    await conn.execute(
        """UPDATE treatments t SET message = '', contact = '{}', attachments = '[]',
                  analyst_message = a.text, purged_at = coalesce(t.purged_at, a.at)
           FROM unnest($1::uuid[], $2::text[], $3::timestamptz[]) AS a(id, text, at)
           WHERE t.request_id = a.id""",
        [r["request_id"] for r in rows],
        [redact(r["analyst_message"], names[r["request_id"]]) for r in rows],
        [when[r["request_id"]] for r in rows],
    )
    for statement in (
        "UPDATE opinions SET comment = NULL WHERE request_id = ANY($1::uuid[])",
        "UPDATE reopenings SET message = '' WHERE request_id = ANY($1::uuid[])",
    ):
        await conn.execute(statement, known)
    await conn.execute(
        """UPDATE history SET message = NULL
           WHERE request_id = ANY($1::uuid[]) AND kind = ANY($2::text[])""",
        known,
        CITIZEN_KINDS,
    )
    lines = await conn.fetch(
        """SELECT id, request_id, message, details::text AS details FROM history
           WHERE request_id = ANY($1::uuid[])""",
        known,
    )
    changed = []
    for line in lines:
        who = names[line["request_id"]]
        message = redact(line["message"], who)
        before = json.loads(line["details"])
        details = redact_json(before, who)
        if message != line["message"] or details != before:
            changed.append((line["id"], message, json.dumps(details, ensure_ascii=False)))
    if changed:
        await conn.executemany(
            "UPDATE history SET message = $2, details = $3::jsonb WHERE id = $1", changed
        )
    answers = await conn.fetch(
        "SELECT id, request_id, message FROM answers WHERE request_id = ANY($1::uuid[])", known
    )
    redacted = []
    for answer in answers:
        message = redact(answer["message"], names[answer["request_id"]])
        if message != answer["message"]:
            redacted.append((answer["id"], message))
    if redacted:
        await conn.executemany("UPDATE answers SET message = $2 WHERE id = $1", redacted)


async def _run(
    conn: asyncpg.Connection, run: list[tuple[RequestPersonalDataPurgedV1, Delivery]]
) -> None:
    await purge_requests(conn, [event for event, _ in run])


on_personal_data_purged = Batched(_run)
