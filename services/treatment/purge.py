"""request.personal_data_purged in treatment: the body's copy forgets the citizen.

In the consumer's transaction (inbox): all of it or nothing, and a second delivery is ignored
(applied again, it would change nothing either). Erased: the citizen's message, contact (and so
the words of the search column, generated from both), the references of the citizen's
attachments (their names may name them; intake had the bytes), the comments of the citizen's
opinions, the messages of their reopenings, and the history lines of both.

Kept, with the citizen's name, email and telephone replaced (shared.purge.redact): the body's
answers and the staff's texts (the analyst's message, hold reasons, the acknowledgement email,
tags). They are the body's record of its own work, which it must be able to show (a late or
contested answer, « Insatisfaits », the statistics' « délais respectés »), written by agents
rather than given by the citizen; what names the citizen in them goes. The documents a body
joined to its answers stay too: the body's own papers, not the citizen's (a letter addressed to
the citizen by name is the body's to keep or not, as its archives say).
"""

from __future__ import annotations

import json
import logging

import asyncpg

from shared.consumer import Delivery
from shared.lifecycle import Event
from shared.messages import RequestPersonalDataPurgedV1
from shared.purge import forget_sent_events, identifiers, redact, redact_json

log = logging.getLogger(__name__)

# The history lines whose message is the citizen's own text.
CITIZEN_KINDS = [Event.OPINION_GIVEN.kind, Event.REOPENED.kind]


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


async def on_personal_data_purged(
    conn: asyncpg.Connection, event: RequestPersonalDataPurgedV1, delivery: Delivery
) -> None:
    row = await conn.fetchrow(
        "SELECT contact, analyst_message FROM treatments WHERE request_id = $1 FOR UPDATE",
        event.request_id,
    )
    await forget_sent_events(conn, [event.request_id])
    if row is None:
        log.info("purge of a request treatment does not know", extra={"code": event.code})
        return
    names = identifiers(_json(row["contact"]))
    rid = event.request_id
    await conn.execute(
        """UPDATE treatments SET message = '', contact = '{}', attachments = '[]',
                  analyst_message = $2
           WHERE request_id = $1""",
        rid,
        redact(row["analyst_message"], names),
    )
    await conn.execute("UPDATE opinions SET comment = NULL WHERE request_id = $1", rid)
    await conn.execute("UPDATE reopenings SET message = '' WHERE request_id = $1", rid)
    await conn.execute(
        "UPDATE history SET message = NULL WHERE request_id = $1 AND kind = ANY($2::text[])",
        rid,
        CITIZEN_KINDS,
    )
    lines = await conn.fetch(
        "SELECT id, message, details::text AS details FROM history WHERE request_id = $1", rid
    )
    changed = []
    for line in lines:
        message = redact(line["message"], names)
        details = json.dumps(redact_json(json.loads(line["details"]), names), ensure_ascii=False)
        if message != line["message"] or json.loads(details) != json.loads(line["details"]):
            changed.append((line["id"], message, details))
    if changed:
        await conn.executemany(
            "UPDATE history SET message = $2, details = $3::jsonb WHERE id = $1", changed
        )
    answers = await conn.fetch("SELECT id, message FROM answers WHERE request_id = $1", rid)
    redacted = [(a["id"], redact(a["message"], names)) for a in answers]
    redacted = [(i, m) for (i, m), a in zip(redacted, answers, strict=True) if m != a["message"]]
    if redacted:
        await conn.executemany("UPDATE answers SET message = $2 WHERE id = $1", redacted)
