"""SQL of the triage schema: the queue of requests waiting for an analyst."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

_COLUMNS = """request_id, code, nature, body_id, body_name, theme_id, theme_label, place_id,
              place_label, channel, message, contact::text AS contact,
              attachments::text AS attachments, submitted_at, received_at, status,
              admissibility_deadline"""


async def add_to_queue(
    conn: asyncpg.Connection,
    *,
    request_id: UUID,
    code: str,
    nature: str,
    body_id: str,
    body_name: str,
    theme_id: str | None,
    theme_label: str | None,
    place_id: str | None,
    place_label: str | None,
    channel: str,
    message: str,
    contact: dict[str, Any],
    attachments: list[dict[str, Any]],
    submitted_at: datetime,
    admissibility_deadline: datetime,
    status: str,
) -> bool:
    """Insert a queue row; False when the request is already there (nothing changes)."""
    inserted = await conn.fetchval(
        """INSERT INTO queue_items
               (request_id, code, nature, body_id, body_name, theme_id, theme_label, place_id,
                place_label, channel, message, contact, attachments, submitted_at, status,
                admissibility_deadline)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb, $13::jsonb, $14,
                   $15, $16)
           ON CONFLICT (request_id) DO NOTHING
           RETURNING true""",
        request_id,
        code,
        nature,
        body_id,
        body_name,
        theme_id,
        theme_label,
        place_id,
        place_label,
        channel,
        message,
        json.dumps(contact),
        json.dumps(attachments),
        submitted_at,
        status,
        admissibility_deadline,
    )
    return bool(inserted)


async def waiting(
    conn: asyncpg.Connection, *, limit: int, offset: int
) -> tuple[int, list[asyncpg.Record]]:
    """``(how many wait, one page of them)``, oldest submission first."""
    total = await conn.fetchval("SELECT count(*) FROM queue_items WHERE status = 'waiting'")
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM queue_items
            WHERE status = 'waiting'
            ORDER BY submitted_at, request_id
            LIMIT $1 OFFSET $2""",  # noqa: S608 - constant column list
        limit,
        offset,
    )
    return total, rows


async def by_code(conn: asyncpg.Connection, code: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM queue_items WHERE code = $1",  # noqa: S608
        code,
    )
