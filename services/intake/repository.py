"""Intake's SQL, as short functions over a connection."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg


async def body(conn: asyncpg.Connection, body_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT id, name, phones, location FROM bodies WHERE id = $1 AND active", body_id
    )


async def bodies(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT id, name, phones, location FROM bodies WHERE active ORDER BY name"
    )


async def theme(conn: asyncpg.Connection, theme_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT t.id, t.label, p.label AS parent_label
           FROM themes t LEFT JOIN themes p ON p.id = t.parent_id
           WHERE t.id = $1 AND t.active""",
        theme_id,
    )


async def themes(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT t.id, t.parent_id, t.label, p.label AS parent_label
           FROM themes t LEFT JOIN themes p ON p.id = t.parent_id
           WHERE t.active ORDER BY COALESCE(p.position, t.position), t.parent_id NULLS FIRST,
                 t.position"""
    )


async def place(conn: asyncpg.Connection, place_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT id, region, name, kind FROM places WHERE id = $1 AND active", place_id
    )


async def places(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """Active places, the regions in the data file's order (the two districts first)."""
    return await conn.fetch(
        """SELECT id, region, name, kind FROM places WHERE active
           ORDER BY region_position, region, name"""
    )


async def by_submission_key(
    conn: asyncpg.Connection, channel: str, key: str
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT id, code, submitted_at FROM requests WHERE channel = $1 AND submission_key = $2",
        channel,
        key,
    )


async def insert_request(
    conn: asyncpg.Connection,
    *,
    request_id: UUID,
    code: str,
    nature: str,
    body_id: str,
    theme_id: str | None,
    place_id: str | None,
    channel: str,
    submission_key: str | None,
    message: str,
    status: str,
    submitted_at: datetime,
) -> bool:
    """False when the code is taken (the caller draws another) or the key was used already."""
    inserted = await conn.fetchval(
        """INSERT INTO requests (id, code, nature, body_id, theme_id, place_id, channel,
                                 submission_key, message, status, submitted_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)
           ON CONFLICT DO NOTHING RETURNING true""",
        request_id,
        code,
        nature,
        body_id,
        theme_id,
        place_id,
        channel,
        submission_key,
        message,
        status,
        submitted_at,
    )
    return bool(inserted)


async def insert_contact(
    conn: asyncpg.Connection,
    request_id: UUID,
    *,
    last_name: str,
    first_names: str,
    country: str,
    phone: str | None,
    email: str | None,
    email_key: str | None,
) -> None:
    await conn.execute(
        """INSERT INTO contacts (request_id, last_name, first_names, country, phone, email,
                                 email_key)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        request_id,
        last_name,
        first_names,
        country,
        phone,
        email,
        email_key,
    )


async def add_history(
    conn: asyncpg.Connection,
    request_id: UUID,
    occurred_at: datetime,
    event_type: str,
    status: str,
    message: str | None = None,
) -> None:
    await conn.execute(
        """INSERT INTO request_history (request_id, occurred_at, event_type, status, message)
           VALUES ($1, $2, $3, $4, $5)""",
        request_id,
        occurred_at,
        event_type,
        status,
        message,
    )


async def tracking_row(conn: asyncpg.Connection, code: str) -> asyncpg.Record | None:
    """The request behind a code, with what the tracking page shows and the email to compare."""
    return await conn.fetchrow(
        """SELECT r.id, r.code, r.nature, r.status, r.submitted_at, r.message,
                  b.name AS body_name, t.label AS theme_label, pt.label AS theme_parent_label,
                  c.email_key
           FROM requests r
           JOIN bodies b ON b.id = r.body_id
           LEFT JOIN themes t ON t.id = r.theme_id
           LEFT JOIN themes pt ON pt.id = t.parent_id
           LEFT JOIN contacts c ON c.request_id = r.id
           WHERE r.code = $1""",
        code,
    )


async def history(conn: asyncpg.Connection, request_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT occurred_at, event_type, status, message FROM request_history
           WHERE request_id = $1 ORDER BY occurred_at, id""",
        request_id,
    )
