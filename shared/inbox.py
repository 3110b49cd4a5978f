"""Inbox: a message is applied once. Record its id in the same transaction as its effect."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

import asyncpg

from shared.db import columns


async def claim(conn: asyncpg.Connection, message_id: UUID, message_type: str) -> bool:
    """True when this message is new here (go on and apply it), False when already applied."""
    inserted = await conn.fetchval(
        """INSERT INTO inbox (message_id, message_type) VALUES ($1, $2)
           ON CONFLICT (message_id) DO NOTHING RETURNING true""",
        message_id,
        message_type,
    )
    return bool(inserted)


async def claim_many(conn: asyncpg.Connection, messages: Iterable[tuple[UUID, str]]) -> set[UUID]:
    """:func:`claim` for a batch in one statement: the ids that are new here."""
    ids, types = columns(list(messages), 2)
    rows = await conn.fetch(
        """INSERT INTO inbox (message_id, message_type)
           SELECT * FROM unnest($1::uuid[], $2::text[])
           ON CONFLICT (message_id) DO NOTHING RETURNING message_id""",
        ids,
        types,
    )
    return {row["message_id"] for row in rows}
