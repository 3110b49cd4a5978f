"""request.personal_data_purged in notify: the recipient and the messages sent are forgotten.

In the consumer's transaction (inbox): all of it or nothing, and a second delivery is ignored
(applied again, it would change nothing either). The recipient row (email, telephone, name)
goes: nothing more is sent about a purged request. The delivery log keeps each delivery's
dates, medium, type, status and attempts (the staff's « emails et SMS envoyés » and the
statistics' counts), without its recipient, names, subject, bodies or last error (an SMTP
error quotes the address). The reminders of forgotten codes sent to the citizen's address (not
tied to one request) are forgotten the same way. A delivery still waiting is given up.
"""

from __future__ import annotations

import asyncpg

from shared.consumer import Delivery
from shared.messages import RequestPersonalDataPurgedV1
from shared.purge import forget_sent_events, phone_forms

_FORGET = """
    UPDATE deliveries SET recipient = '', recipient_name = '', subject = '', body_text = '',
           body_html = NULL, last_error = NULL,
           status = CASE WHEN status = 'pending' THEN 'failed' ELSE status END,
           failed_at = CASE WHEN status = 'pending' THEN now() ELSE failed_at END
    WHERE request_id = $1
       OR (request_id IS NULL AND recipient <> '' AND lower(recipient) = ANY($2::text[]))"""


async def on_personal_data_purged(
    conn: asyncpg.Connection, event: RequestPersonalDataPurgedV1, delivery: Delivery
) -> None:
    person = await conn.fetchrow(
        "DELETE FROM recipients WHERE request_id = $1 RETURNING email, phone", event.request_id
    )
    addresses = []
    if person is not None:
        if person["email"]:
            addresses.append(person["email"].strip().lower())
        addresses += phone_forms(person["phone"])
    await conn.execute(_FORGET, event.request_id, addresses)
    await forget_sent_events(conn, [event.request_id])
