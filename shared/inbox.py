"""Inbox: a message is applied once. Record its id in the same transaction as its effect."""

from __future__ import annotations

from uuid import UUID

import asyncpg


async def claim(conn: asyncpg.Connection, message_id: UUID, message_type: str) -> bool:
    """True when this message is new here (go on and apply it), False when already applied."""
    inserted = await conn.fetchval(
        """INSERT INTO inbox (message_id, message_type) VALUES ($1, $2)
           ON CONFLICT (message_id) DO NOTHING RETURNING true""",
        message_id,
        message_type,
    )
    return bool(inserted)
