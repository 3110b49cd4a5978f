"""« Code requête oublié ? »: the codes of the requests sent from an address, emailed to it.

Intake publishes ``citizen.codes_reminder_requested`` when the address sent requests; notify
writes the email. The citizen is told the same thing either way, so the page reveals nothing
about the address.
"""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from services.intake.domain import email_key
from shared import outbox
from shared.messages import CodesReminderRequestedV1, RemindedRequest

# The most recent requests listed in one reminder.
MOST = 50


async def request_reminder(conn: asyncpg.Connection, email: str) -> bool:
    """Queue the reminder when ``email`` sent requests (call inside a transaction); True then.

    The email goes to the address as the citizen typed it at submission, not as typed now.
    """
    rows = await conn.fetch(
        """SELECT r.code, r.nature, r.submitted_at, b.name AS body_name, c.email
           FROM contacts c
           JOIN requests r ON r.id = c.request_id
           JOIN bodies b ON b.id = r.body_id
           WHERE c.email_key = $1
           ORDER BY r.submitted_at DESC
           LIMIT $2""",
        email_key(email),
        MOST,
    )
    if not rows:
        return False
    await outbox.add(
        conn,
        CodesReminderRequestedV1(
            email=rows[0]["email"],
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
