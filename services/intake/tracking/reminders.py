"""« Code requête oublié ? »: the codes of the requests sent with an email address, emailed to
it, or with a mobile number, sent to it by SMS.

Intake publishes ``citizen.codes_reminder_requested`` (v2) when the address or number sent
requests; notify writes the email or the SMS. The citizen is told the same thing either way, so
the page reveals nothing about the address or number.
"""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from services.intake.tracking.store import Who
from shared import outbox
from shared.messages import CodesReminderRequestedV2, RemindedRequest

# The most recent requests listed in one reminder.
MOST = 50


# The contact column each kind of look-up compares (names never taken from input).
_COLUMN = {"email": "c.email_key", "phone": "c.phone"}


async def request_reminder(conn: asyncpg.Connection, who: Who) -> bool:
    """Queue the reminder when ``who`` (an address or a mobile number) sent requests (call
    inside a transaction); True then.

    The email goes to the address as the citizen typed it at submission, not as typed now.
    """
    rows = await conn.fetch(
        f"""SELECT r.code, r.nature, r.submitted_at, b.name AS body_name, c.email, c.phone
           FROM contacts c
           JOIN requests r ON r.id = c.request_id
           JOIN bodies b ON b.id = r.body_id
           WHERE {_COLUMN[who.kind]} = $1
           ORDER BY r.submitted_at DESC
           LIMIT $2""",  # noqa: S608 - a fixed column name
        who.key,
        MOST,
    )
    if not rows:
        return False
    by_email = who.kind == "email"
    await outbox.add(
        conn,
        CodesReminderRequestedV2(
            email=rows[0]["email"] if by_email else None,
            phone=None if by_email else rows[0]["phone"],
            requests=[
                RemindedRequest(
                    code=r["code"].strip(),
                    nature=r["nature"],
                    body_name=r["body_name"],
                    submitted_at=r["submitted_at"],
                )
                for r in rows
            ],
            requested_at=datetime.now(UTC),
        ),
    )
    return True
