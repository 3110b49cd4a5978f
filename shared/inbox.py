"""Inbox: a message is applied once. Record its id in the same transaction as its effect.

A message comes again within minutes (a crash before the ack, a channel closed, the relay
publishing again after a lost confirm), or within days when an operator replays dead letters once
their cause is fixed; never years later. So an id is kept ``inbox_kept_days``
(MILIE_INBOX_KEPT_DAYS, a month by default), then removed (:func:`forget_old`, every
``retention_sweep_seconds`` by shared.service): the table holds a month of messages, not every
message since the start.
"""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

import asyncpg

from shared import retention
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


async def forget_old(pool: asyncpg.Pool, kept_days: int, batch: int = retention.BATCH) -> int:
    """Remove the ids of messages received more than ``kept_days`` days ago; how many went."""
    return await retention.delete_in_batches(
        pool, "inbox", "received_at < now() - make_interval(days => $1)", kept_days, batch=batch
    )
