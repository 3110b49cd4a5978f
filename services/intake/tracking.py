"""The citizen's tracking view: code + email open it; a wrong code and a wrong email look alike."""

from __future__ import annotations

import hmac

import asyncpg

from services.intake import repository as repo
from services.intake.domain import STATUS_LABELS, Status, email_key
from shared.messages import Nature

# Compared against when the code is unknown, so both failures cost the same work.
_NO_EMAIL = "\x00" * 32


async def find(conn: asyncpg.Connection, code: str, email: str) -> dict | None:
    """The tracking view of the request, or None when the code and email do not match."""
    row = await repo.tracking_row(conn, code)
    expected = (row["email_key"] if row else None) or _NO_EMAIL
    matches = hmac.compare_digest(expected.encode(), email_key(email).encode())
    if row is None or not matches:
        return None
    theme = row["theme_label"]
    if theme and row["theme_parent_label"]:
        theme = f"{row['theme_parent_label']} : {theme}"
    history = await repo.history(conn, row["id"])
    return {
        "code": row["code"].strip(),
        "nature": row["nature"],
        "nature_label": Nature(row["nature"]).label,
        "body_name": row["body_name"],
        "submitted_at": row["submitted_at"].isoformat(),
        "theme": theme,
        "message": row["message"],
        "status": row["status"],
        "status_label": STATUS_LABELS.get(Status(row["status"]), row["status"]),
        "ministry_message": None,
        "citizen_opinion": None,
        "analyst_answer": None,
        "history": [
            {
                "at": h["occurred_at"].isoformat(),
                "event": h["event_type"],
                "status": h["status"],
                "label": h["message"],
            }
            for h in history
        ],
    }
