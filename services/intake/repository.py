"""Intake's SQL, as short functions over a connection."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from shared import outbox


async def body(conn: asyncpg.Connection, body_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT id, name, phones, location FROM bodies WHERE id = $1 AND active", body_id
    )


async def bodies(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT id, name, phones, location FROM bodies WHERE active ORDER BY name"
    )


async def themes(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT t.id, t.parent_id, t.label, p.label AS parent_label
           FROM themes t LEFT JOIN themes p ON p.id = t.parent_id
           WHERE t.active ORDER BY COALESCE(p.position, t.position), t.parent_id NULLS FIRST,
                 t.position"""
    )


async def places(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """Active places, the regions in the data file's order (the two districts first)."""
    return await conn.fetch(
        """SELECT id, region, name, kind FROM places WHERE active
           ORDER BY region_position, region, name"""
    )


async def catalogue_facts(
    conn: asyncpg.Connection, body_id: str, theme_id: str | None, place_id: str | None
) -> asyncpg.Record:
    """In one round trip, what a submission's check needs: the active body, theme (with its
    parent's label) and place it names (NULL columns when not found), and whether the theme may
    be chosen for the body: the body lists no themes, or lists the theme or its parent, or it is
    « Autre » (offered for every body); and the parent, if any, is active."""
    return await conn.fetchrow(
        """SELECT b.id AS body_id, b.name AS body_name, b.phones AS body_phones,
                  b.location AS body_location,
                  t.id AS theme_id, t.label AS theme_label, tp.label AS theme_parent_label,
                  (t.id IS NOT DISTINCT FROM 'autre'  -- « Autre »: offered for every body
                   OR NOT EXISTS (SELECT 1 FROM body_themes WHERE body_id = b.id)
                   OR EXISTS (SELECT 1 FROM body_themes bt
                              WHERE bt.body_id = b.id AND bt.theme_id IN (t.id, t.parent_id)))
                  AND (tp.id IS NULL OR tp.active) AS theme_offered,
                  pl.id AS place_id, pl.region AS place_region, pl.name AS place_name,
                  pl.kind AS place_kind
           FROM (SELECT) AS one
           LEFT JOIN bodies b ON b.id = $1 AND b.active
           LEFT JOIN themes t ON t.id = $2 AND t.active
           LEFT JOIN themes tp ON tp.id = t.parent_id
           LEFT JOIN places pl ON pl.id = $3 AND pl.active""",
        body_id,
        theme_id,
        place_id,
    )


async def by_submission_key(
    conn: asyncpg.Connection, channel: str, key: str
) -> asyncpg.Record | None:
    """The request stored under ``(channel, key)``, with what :func:`submissions.same_request`
    compares (contact columns NULL once purged)."""
    return await conn.fetchrow(
        """SELECT r.id, r.code, r.submitted_at, r.nature, r.body_id, r.theme_id, r.place_id,
                  r.message, c.last_name, c.first_names, c.country, c.phone, c.email
           FROM requests r LEFT JOIN contacts c ON c.request_id = r.id
           WHERE r.channel = $1 AND r.submission_key = $2""",
        channel,
        key,
    )


async def insert_submission(
    conn: asyncpg.Connection,
    *,
    request: dict[str, Any],
    contact: dict[str, Any],
    history: tuple[str, str, str],
    event: tuple[Any, ...] | None,
    draft: tuple[UUID, str] | None = None,
) -> bool:
    """The request (with the call centre's operator who typed it, ``operator_staff_id`` and
    ``operator_login``, None but by phone), its contact, its first history line (event type,
    status, message) and,
    when given, its event's outbox row (``outbox.row``) and the submitted draft ``(id,
    told_by)`` keeping the code instead of its values, in one statement: one round trip, and
    atomic even outside a transaction. False, with nothing written, when the code is taken (the
    caller draws another) or the submission key was used already."""
    return bool(
        await conn.fetchval(
            f"""WITH req AS (
                    INSERT INTO requests (id, code, nature, body_id, theme_id, place_id, channel,
                                          submission_key, message, status, submitted_at,
                                          updated_at, operator_staff_id, operator_login)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $31, $32)
                    ON CONFLICT DO NOTHING RETURNING id
                ), contact AS (
                    INSERT INTO contacts (request_id, last_name, first_names, country, phone,
                                          email, email_key)
                    SELECT id, $12, $13, $14, $15, $16, $17 FROM req
                ), history AS (
                    INSERT INTO request_history (request_id, occurred_at, event_type, status,
                                                 message)
                    SELECT id, $11, $18, $19, $20 FROM req
                ), event AS (
                    INSERT INTO outbox ({outbox.COLUMNS})
                    SELECT $21, $22, $23, $24, $25::jsonb, $26::jsonb, $27, $28 FROM req
                    WHERE $21::uuid IS NOT NULL
                ), draft AS (
                    UPDATE drafts SET request_id = req.id, code = $2, nature = $3, fields = NULL,
                                      ready = false, summary = NULL, told_by = $30
                    FROM req WHERE drafts.id = $29::uuid
                )
                SELECT count(*) > 0 FROM req""",  # noqa: S608
            request["id"],
            request["code"],
            request["nature"],
            request["body_id"],
            request["theme_id"],
            request["place_id"],
            request["channel"],
            request["submission_key"],
            request["message"],
            request["status"],
            request["submitted_at"],
            contact["last_name"],
            contact["first_names"],
            contact["country"],
            contact["phone"],
            contact["email"],
            contact["email_key"],
            *history,
            *(event or (None,) * 8),
            *(draft or (None, None)),
            request["operator_staff_id"],
            request["operator_login"],
        )
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
