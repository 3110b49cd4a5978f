"""request.personal_data_purged in notify: the recipient and the messages sent are forgotten.

In the consumer's transaction (inbox): all of it or nothing, and a second delivery is ignored
(applied again, it would change nothing either). The recipient row (email, telephone, name)
goes: nothing more is sent about a purged request. The delivery log keeps each delivery's
dates, medium, type, status and attempts (the staff's « emails et SMS envoyés » and the
statistics' counts), without its recipient, names, subject, bodies or last error (an SMTP
error quotes the address). The reminders of forgotten codes sent to the citizen's address (not
tied to one request) are forgotten the same way. A delivery still waiting is given up.
Intake purges in batches, so the events come in runs: a run is applied in three statements
(:class:`shared.consumer.Batched`), whatever its length.
"""

from __future__ import annotations

import asyncpg

from shared import early
from shared.consumer import Batched, Delivery
from shared.messages import RequestPersonalDataPurgedV1
from shared.purge import forget_sent_events, phone_forms

_FORGET = """
    UPDATE deliveries SET recipient = '', recipient_name = '', subject = '', body_text = '',
           body_html = NULL, last_error = NULL,
           status = CASE WHEN status = 'pending' THEN 'failed' ELSE status END,
           failed_at = CASE WHEN status = 'pending' THEN now() ELSE failed_at END
    WHERE request_id = ANY($1::uuid[])
       OR (request_id IS NULL AND recipient <> '' AND lower(recipient) = ANY($2::text[]))"""


async def purge_requests(conn: asyncpg.Connection, events: list[RequestPersonalDataPurgedV1]):
    """Forget the recipients of these requests and what was sent them (inside a transaction)."""
    ids = sorted({e.request_id for e in events})
    people = await conn.fetch(
        "DELETE FROM recipients WHERE request_id = ANY($1::uuid[]) RETURNING email, phone", ids
    )
    addresses = set()
    for person in people:
        if person["email"]:
            addresses.add(person["email"].strip().lower())
        addresses.update(phone_forms(person["phone"]))
    await conn.execute(_FORGET, ids, sorted(addresses))
    await forget_sent_events(conn, ids)
    await early.forget(conn, ids)  # an event parked for them holds what it told


async def _run(
    conn: asyncpg.Connection, run: list[tuple[RequestPersonalDataPurgedV1, Delivery]]
) -> None:
    await purge_requests(conn, [event for event, _ in run])


on_personal_data_purged = Batched(_run)
