"""SQL of the triage schema: the queue, the history of each request, the audit log."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from services.triage import search as searching
from services.triage.domain import Status
from shared.db import json_records

_COLUMNS = """request_id, code, nature, body_id, body_name, theme_id, theme_label, place_id,
              place_label, channel, message, contact::text AS contact,
              attachments::text AS attachments, submitted_at, received_at, queued_at, status,
              admissibility_deadline, version, decided_at, decided_by, opinion, body_status,
              body_status_at, opinion_comment, purged_at"""


async def add_submitted(conn: asyncpg.Connection, requests: list[dict[str, Any]], kind: str) -> int:
    """Queue rows, and the « submitted » line of each one's history, for a run of submissions
    in one statement; a request already in the queue gets neither. Returns how many were new.

    ``requests``: dicts of the queue row's columns (JSON-ready) plus ``message_id``, the event's,
    and ``operator_id`` / ``operator_login``, the call centre's operator who typed it by phone
    (None otherwise): the line's details keep them beside the channel, as treatment's lines of
    a reply taken by phone do (``lifecycle.phone_operator`` reads them);
    ``kind``: the history line's kind.
    """
    return await conn.fetchval(
        """WITH incoming AS (
               SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(
                   ord int, request_id uuid, code text, nature text, body_id text,
                   body_name text, theme_id text, theme_label text, place_id text,
                   place_label text, channel text, message text, contact jsonb,
                   attachments jsonb, submitted_at timestamptz, status text,
                   admissibility_deadline timestamptz, message_id uuid, operator_id text,
                   operator_login text)),
           first AS (
               SELECT DISTINCT ON (request_id) * FROM incoming ORDER BY request_id, ord),
           queued AS (
               INSERT INTO queue_items
                   (request_id, code, nature, body_id, body_name, theme_id, theme_label,
                    place_id, place_label, channel, message, contact, attachments, submitted_at,
                    status, admissibility_deadline, queued_at)
               SELECT request_id, code, nature, body_id, body_name, theme_id, theme_label,
                      place_id, place_label, channel, message, contact, attachments,
                      submitted_at, status, admissibility_deadline, submitted_at
               FROM first
               ON CONFLICT (request_id) DO NOTHING
               RETURNING request_id),
           noted AS (
               INSERT INTO history (request_id, occurred_at, kind, message, details, message_id)
               SELECT f.request_id, f.submitted_at, $2, f.message,
                      jsonb_strip_nulls(jsonb_build_object(
                          'channel', f.channel, 'operator_id', f.operator_id,
                          'operator_login', f.operator_login)), f.message_id
               FROM first f JOIN queued USING (request_id)
               ON CONFLICT (message_id) DO NOTHING)
           SELECT count(*) FROM queued""",
        json_records(requests),
        kind,
    )


async def add_history(
    conn: asyncpg.Connection,
    *,
    request_id: UUID,
    occurred_at: datetime,
    kind: str,
    message_id: UUID,
    message: str | None = None,
    details: dict[str, Any] | None = None,
    actor_id: str | None = None,
    actor_login: str | None = None,
    actor_role: str | None = None,
) -> bool:
    """One line of the request's history; False when this event has its line already."""
    inserted = await conn.fetchval(
        """INSERT INTO history (request_id, occurred_at, kind, actor_id, actor_login, actor_role,
                                message, details, message_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9)
           ON CONFLICT (message_id) DO NOTHING
           RETURNING true""",
        request_id,
        occurred_at,
        kind,
        actor_id,
        actor_login,
        actor_role,
        message,
        json.dumps(details or {}),
        message_id,
    )
    return bool(inserted)


async def back_in_queue(
    conn: asyncpg.Connection,
    request_id: UUID,
    *,
    message: str,
    queued_at: datetime,
    deadline: datetime,
) -> bool:
    """The citizen rewrote a request sent back for reformulation: it waits again, with the new
    message and a new deadline counted from the rewrite. False when it was not sent back."""
    moved = await conn.fetchval(
        """UPDATE queue_items
           SET status = $5, message = $2, queued_at = $3::timestamptz,
               admissibility_deadline = $4,
               version = version + 1, decided_at = NULL, decided_by = NULL
           WHERE request_id = $1 AND status = $6
           RETURNING true""",
        request_id,
        message,
        queued_at,
        deadline,
        Status.WAITING.value,
        Status.REFORMULATION_REQUESTED.value,
    )
    return bool(moved)


async def set_deadlines(conn: asyncpg.Connection, moved: list[tuple[UUID, datetime]]) -> None:
    """New admissibility deadlines (a change of the policy), in one statement."""
    if not moved:
        return
    await conn.execute(
        """UPDATE queue_items q SET admissibility_deadline = m.deadline
           FROM unnest($1::uuid[], $2::timestamptz[]) AS m(request_id, deadline)
           WHERE q.request_id = m.request_id""",
        [r for r, _ in moved],
        [d for _, d in moved],
    )


async def has_lexemes(conn: asyncpg.Connection, words: str) -> bool:
    """Whether the words make a search (« le la » are only stop words: they do not)."""
    return await conn.fetchval(
        "SELECT numnode(websearch_to_tsquery('french', fold($1))) > 0", words
    )


# Searches differ in what they filter by and how much each filter keeps: a plan made for one
# word (a generic plan, cached after five runs) can be ten times slower for another. Planning
# each search anew costs a millisecond or two.
_CUSTOM_PLANS = "SET LOCAL plan_cache_mode = force_custom_plan"


async def find(
    conn: asyncpg.Connection, search: searching.Search
) -> tuple[int, list[asyncpg.Record]]:
    """``(how many match, one page of them)``."""
    async with conn.transaction(readonly=True):
        await conn.execute(_CUSTOM_PLANS)
        if search.words and not await has_lexemes(conn, search.words):
            search = dataclasses.replace(search, words="")
        condition, args = searching.where(search)
        total = await conn.fetchval(
            f"SELECT count(*) FROM queue_items WHERE {condition}",  # noqa: S608 - constants
            *args,
        )
        if total == 0:
            return 0, []
        n = len(args)
        rows = await conn.fetch(
            f"""SELECT {_COLUMNS} FROM queue_items WHERE {condition}
                ORDER BY {searching.order_by(search)}
                LIMIT ${n + 1} OFFSET ${n + 2}""",  # noqa: S608 - built from constants
            *args,
            search.limit,
            search.offset,
        )
    return total, rows


async def stream(
    conn: asyncpg.Connection, search: searching.Search, limit: int
) -> AsyncIterator[asyncpg.Record]:
    """Every row ``search`` asks for (``limit`` at most), read with a cursor: the export.
    Call inside a transaction."""
    await conn.execute(_CUSTOM_PLANS)
    if search.words and not await has_lexemes(conn, search.words):
        search = dataclasses.replace(search, words="")
    condition, args = searching.where(search)
    query = f"""SELECT {_COLUMNS} FROM queue_items WHERE {condition}
                ORDER BY {searching.order_by(search)} LIMIT {int(limit)}"""  # noqa: S608
    async for row in conn.cursor(query, *args, prefetch=500):
        yield row


async def by_code(conn: asyncpg.Connection, code: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM queue_items WHERE code = $1",  # noqa: S608
        code,
    )


async def lock_by_code(conn: asyncpg.Connection, code: str) -> asyncpg.Record | None:
    """The row, locked until the transaction ends: a second decision waits, then sees the first."""
    return await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM queue_items WHERE code = $1 FOR UPDATE",  # noqa: S608
        code,
    )


async def set_decided(
    conn: asyncpg.Connection, request_id: UUID, status: str, at: datetime, by: str
) -> None:
    await conn.execute(
        """UPDATE queue_items SET status = $2, decided_at = $3, decided_by = $4,
                                  version = version + 1
           WHERE request_id = $1""",
        request_id,
        status,
        at,
        by,
    )


async def follow_body(
    conn: asyncpg.Connection,
    request_id: UUID,
    status: str,
    at: datetime,
    *,
    opinion: str | None = None,
    comment: str | None = None,
) -> bool:
    """The request's status at the body after one of treatment's events of moment ``at``, with
    the citizen's opinion when the event carries one. A closed request stays closed (the table
    closes for good), and an event older than the one that set the present status changes
    nothing: several copies of triage take a request's events in any order, and a
    « Retraitement » applied after the answer that followed it must not undo that answer. False
    then, or when triage does not know the request."""
    done = await conn.execute(
        """UPDATE queue_items SET body_status = $2, body_status_at = $3,
                  opinion = coalesce($4, opinion), opinion_comment = coalesce($5, opinion_comment)
           WHERE request_id = $1 AND body_status IS DISTINCT FROM 'closed'
             AND (body_status_at IS NULL OR body_status_at <= $3)""",
        request_id,
        status,
        at,
        opinion,
        comment,
    )
    return done != "UPDATE 0"


async def set_index(
    conn: asyncpg.Connection,
    request_id: UUID,
    *,
    body_id: str,
    body_name: str,
    theme_id: str | None,
    theme_label: str | None,
) -> None:
    await conn.execute(
        """UPDATE queue_items SET body_id = $2, body_name = $3, theme_id = $4, theme_label = $5,
                                  version = version + 1
           WHERE request_id = $1""",
        request_id,
        body_id,
        body_name,
        theme_id,
        theme_label,
    )


async def history_of(conn: asyncpg.Connection, request_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT occurred_at, kind, actor_id, actor_login, actor_role, message,
                  details::text AS details
           FROM history WHERE request_id = $1 ORDER BY occurred_at, id""",
        request_id,
    )


async def last_line(
    conn: asyncpg.Connection, request_id: UUID, kinds: tuple[str, ...]
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT occurred_at, kind, actor_login, actor_id FROM history
           WHERE request_id = $1 AND kind = ANY($2::text[])
           ORDER BY occurred_at DESC, id DESC LIMIT 1""",
        request_id,
        list(kinds),
    )
