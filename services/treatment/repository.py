"""Treatment's SQL: thin functions over an asyncpg connection."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg

COLUMNS = """request_id, code, nature, body_id, body_name, theme_id, theme_label, place_label,
    message, attachments, analyst_message, submitted_at, validated_at, status, assignee_id,
    assignee_login, on_hold_since, treated_at, opinion, closed_at, version, updated_at,
    contact, answer_due, held_days, opinion_due, purged_at"""


async def add_treatment(conn: asyncpg.Connection, row: dict[str, Any]) -> bool:
    """The request's row; False when it exists already (a second request.validated)."""
    inserted = await conn.fetchval(
        """INSERT INTO treatments (request_id, code, nature, body_id, body_name, theme_id,
               theme_label, place_label, message, attachments, analyst_message, submitted_at,
               validated_at, status, contact)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, $12, $13, $14, $15::jsonb)
           ON CONFLICT (request_id) DO NOTHING RETURNING true""",
        row["request_id"],
        row["code"],
        row["nature"],
        row["body_id"],
        row["body_name"],
        row["theme_id"],
        row["theme_label"],
        row["place_label"],
        row["message"],
        json.dumps(row["attachments"]),
        row["analyst_message"],
        row["submitted_at"],
        row["validated_at"],
        row["status"],
        json.dumps(row["contact"]),
    )
    return bool(inserted)


async def move_to_body(
    conn: asyncpg.Connection,
    request_id: UUID,
    *,
    body_id: str,
    body_name: str,
    theme_id: str | None,
    theme_label: str | None,
) -> asyncpg.Record | None:
    """Re-index: the row under its new body and theme, nobody holding it; the row before."""
    return await conn.fetchrow(
        """UPDATE treatments t SET body_id = $2, body_name = $3, theme_id = $4,
               theme_label = $5, assignee_id = NULL, assignee_login = NULL,
               version = t.version + 1, updated_at = now()
           FROM (SELECT request_id, body_id, assignee_id FROM treatments
                 WHERE request_id = $1 FOR UPDATE) old
           WHERE t.request_id = old.request_id
           RETURNING old.body_id AS previous_body_id, old.assignee_id AS previous_assignee_id""",
        request_id,
        body_id,
        body_name,
        theme_id,
        theme_label,
    )


async def lock_by_code(conn: asyncpg.Connection, code: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {COLUMNS} FROM treatments WHERE code = $1 FOR UPDATE",  # noqa: S608
        code,
    )


async def lock_by_id(conn: asyncpg.Connection, request_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {COLUMNS} FROM treatments WHERE request_id = $1 FOR UPDATE",  # noqa: S608
        request_id,
    )


async def by_code(conn: asyncpg.Connection, code: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {COLUMNS} FROM treatments WHERE code = $1",  # noqa: S608
        code,
    )


async def update(conn: asyncpg.Connection, request_id: UUID, changes: dict[str, Any]) -> int:
    """Apply ``changes`` (column → value, names from this service's code only) and bump the
    version; the new version."""
    names = list(changes)
    sets = ", ".join(f"{name} = ${i}" for i, name in enumerate(names, start=2))
    return await conn.fetchval(
        f"""UPDATE treatments SET {sets}{", " if sets else ""}version = version + 1,
                updated_at = now()
            WHERE request_id = $1 RETURNING version""",  # noqa: S608
        request_id,
        *(changes[name] for name in names),
    )


async def page(
    conn: asyncpg.Connection,
    *,
    statuses: Iterable[str],
    opinions: Iterable[str] | None = None,
    body_id: str | None,
    code: str | None,
    limit: int,
    offset: int,
) -> tuple[int, list[asyncpg.Record]]:
    """A body's requests (every body's with None) in ``statuses`` (with one of ``opinions``
    when given), oldest validation first."""
    where = """status = ANY($1::text[]) AND ($2::text IS NULL OR body_id = $2)
               AND ($3::text IS NULL OR code = $3)
               AND ($4::text[] IS NULL OR opinion = ANY($4::text[]))"""
    args = (list(statuses), body_id, code, list(opinions) if opinions is not None else None)
    total = await conn.fetchval(f"SELECT count(*) FROM treatments WHERE {where}", *args)  # noqa: S608
    rows = await conn.fetch(
        f"""SELECT {COLUMNS} FROM treatments WHERE {where}
            ORDER BY validated_at, request_id LIMIT $5 OFFSET $6""",  # noqa: S608
        *args,
        limit,
        offset,
    )
    return total, rows


async def add_history(
    conn: asyncpg.Connection,
    *,
    request_id: UUID,
    occurred_at: datetime,
    kind: str,
    message: str | None = None,
    details: dict[str, Any] | None = None,
    message_id: UUID | None = None,
    actor_id: str | None = None,
    actor_login: str | None = None,
    actor_role: str | None = None,
) -> None:
    await conn.execute(
        """INSERT INTO history (request_id, occurred_at, kind, actor_id, actor_login,
               actor_role, message, details, message_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9)""",
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


async def history_of(conn: asyncpg.Connection, request_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT occurred_at, kind, actor_id, actor_login, actor_role, message, details
           FROM history WHERE request_id = $1 ORDER BY occurred_at, id""",
        request_id,
    )


async def last_action(conn: asyncpg.Connection, request_id: UUID) -> asyncpg.Record | None:
    """The latest line that moved the version (who made a form stale): a tag does not, nor a
    citizen's reply refused (the request stayed as it was)."""
    return await conn.fetchrow(
        """SELECT occurred_at, kind, actor_login, actor_role FROM history
           WHERE request_id = $1 AND kind NOT IN ('tagged', 'citizen_reply_refused')
           ORDER BY occurred_at DESC, id DESC LIMIT 1""",
        request_id,
    )


async def add_document(
    conn: asyncpg.Connection,
    *,
    request_id: UUID,
    filename: str,
    content_type: str,
    data: bytes,
    uploaded_by: str,
) -> UUID:
    document_id = uuid.uuid4()
    await conn.execute(
        """INSERT INTO documents (id, request_id, filename, content_type, size, data,
               uploaded_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        document_id,
        request_id,
        filename,
        content_type,
        len(data),
        data,
        uploaded_by,
    )
    return document_id


async def pending_documents(
    conn: asyncpg.Connection, request_id: UUID, document_ids: list[UUID]
) -> list[asyncpg.Record]:
    """The documents named, uploaded for this request and joined to no answer yet."""
    return await conn.fetch(
        """SELECT id, filename, content_type, size FROM documents
           WHERE request_id = $1 AND id = ANY($2::uuid[]) AND answer_id IS NULL
           ORDER BY uploaded_at, id FOR UPDATE""",
        request_id,
        document_ids,
    )


async def add_answer(
    conn: asyncpg.Connection,
    *,
    request_id: UUID,
    kind: str,
    message: str,
    actor_id: str,
    actor_login: str,
    answered_at: datetime,
    document_ids: list[UUID],
) -> UUID:
    answer_id = uuid.uuid4()
    await conn.execute(
        """INSERT INTO answers (id, request_id, kind, message, actor_id, actor_login,
               answered_at) VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        answer_id,
        request_id,
        kind,
        message,
        actor_id,
        actor_login,
        answered_at,
    )
    await conn.execute(
        "UPDATE documents SET answer_id = $1 WHERE id = ANY($2::uuid[])", answer_id, document_ids
    )
    return answer_id


async def answers_of(conn: asyncpg.Connection, request_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT a.id, a.kind, a.message, a.actor_login, a.answered_at,
                  coalesce(jsonb_agg(jsonb_build_object('document_id', d.id,
                      'filename', d.filename, 'content_type', d.content_type, 'size', d.size)
                      ORDER BY d.uploaded_at) FILTER (WHERE d.id IS NOT NULL), '[]') AS documents
           FROM answers a LEFT JOIN documents d ON d.answer_id = a.id
           WHERE a.request_id = $1 GROUP BY a.id ORDER BY a.answered_at""",
        request_id,
    )


async def document(conn: asyncpg.Connection, document_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT d.id, d.filename, d.content_type, d.data, t.body_id
           FROM documents d JOIN treatments t USING (request_id) WHERE d.id = $1""",
        document_id,
    )


async def add_opinion(
    conn: asyncpg.Connection, request_id: UUID, opinion: str, comment: str | None, at: datetime
) -> None:
    await conn.execute(
        "INSERT INTO opinions (request_id, opinion, comment, given_at) VALUES ($1, $2, $3, $4)",
        request_id,
        opinion,
        comment,
        at,
    )


async def add_reopening(
    conn: asyncpg.Connection, request_id: UUID, message: str, at: datetime
) -> None:
    await conn.execute(
        "INSERT INTO reopenings (request_id, message, reopened_at) VALUES ($1, $2, $3)",
        request_id,
        message,
        at,
    )


# --- the focal point's lists (« En cours », « Retraitement », « Insatisfaits », « Consultations »)


@dataclass(frozen=True)
class ListFilter:
    """Which rows a list holds: every criterion given narrows it (None: not a criterion)."""

    statuses: tuple[str, ...] | None = None
    opinions: tuple[str, ...] | None = None
    without_opinion: bool = False  # « Sans retour »: closed, the citizen said nothing
    natures: tuple[str, ...] | None = None
    body_id: str | None = None  # None: every body (analysts, administrators)
    code: str | None = None
    words: str | None = None  # in the message or the contact (the ``search`` column, 0030)
    validated_from: datetime | None = None  # validated at or after
    validated_before: datetime | None = None  # validated before
    # The back office's period « PERIODE DU … au … » is on the day the citizen submitted it, as
    # the dashboard's counters (shared.body_counts); the ministry API's is on the validation.
    submitted_from: datetime | None = None  # submitted at or after
    submitted_before: datetime | None = None  # submitted before
    late: bool = False  # « En retard »: its present deadline missed (missed_deadlines, 0077)
    sort: str = "validated_at"  # one of LIST_SORTS
    descending: bool = False
    # « En retard »: still awaiting the answer (one of ``awaiting``) past its day (before
    # ``late_on``, today).
    late_on: date | None = None
    awaiting: tuple[str, ...] = ()


# « En retard »: the deadline the row has now was missed and escalated by the clock
# (services.treatment.reminders); a hold that moves the deadline ends it.
LATE = """EXISTS (SELECT 1 FROM missed_deadlines m WHERE m.request_id = treatments.request_id
    AND m.answer_due = treatments.answer_due)"""


# Sort keys → columns; request_id breaks ties so that pages neither repeat nor skip a row.
LIST_SORTS = {
    "validated_at": "validated_at",
    "code": "code",
    "nature": "nature",
    "status": "status",
    "answer_due": "answer_due",  # « Échéance »: the answer's deadline (none last)
}
# Planned for each search's own values (a body of 40 rows and one of 40,000 differ): a
# millisecond of planning against a generic plan that may be ten times slower.
_CUSTOM_PLANS = "SET LOCAL plan_cache_mode = force_custom_plan"

# What a list's row carries besides the request: the last answer that treated it (« Message
# traitement »), the last opinion with the citizen's comment (« Avis usager »), the last
# reopening, and the body's further answer to the citizen after that opinion (« Nouvelle
# réponse », as the history calls it: « Répondre à l'usager » in « Insatisfaits »; none: the
# citizen was not answered again). The further answer is apart from the first: before, a
# further answer took the first's place in « Message traitement » and « Traitée le » and said
# nothing of itself.
_LIST_EXTRAS = """la.message AS answer_message, la.answered_at AS answer_at,
    lo.comment AS opinion_comment, lo.given_at AS opinion_at,
    lr.message AS reopening_message, lr.reopened_at AS reopened_at,
    lf.message AS further_answer_message, lf.answered_at AS further_answer_at
    FROM {source} t
    LEFT JOIN LATERAL (SELECT message, answered_at FROM answers a
        WHERE a.request_id = t.request_id AND a.kind = 'treated'
        ORDER BY answered_at DESC LIMIT 1) la ON true
    LEFT JOIN LATERAL (SELECT comment, given_at FROM opinions o
        WHERE o.request_id = t.request_id ORDER BY given_at DESC, id DESC LIMIT 1) lo ON true
    LEFT JOIN LATERAL (SELECT message, reopened_at FROM reopenings r
        WHERE r.request_id = t.request_id ORDER BY reopened_at DESC, id DESC LIMIT 1) lr ON true
    LEFT JOIN LATERAL (SELECT message, answered_at FROM answers f
        WHERE f.request_id = t.request_id AND f.kind = 'citizen_answered'
            AND f.answered_at >= lo.given_at
        ORDER BY answered_at DESC LIMIT 1) lf ON true"""


async def listed_by_code(conn: asyncpg.Connection, code: str) -> asyncpg.Record | None:
    """The request's row as a list gives it (:data:`_LIST_EXTRAS`: its last answer, opinion and
    reopening, the further answer after that opinion): what its page and the ministry API add to
    the row."""
    source = f"(SELECT {COLUMNS} FROM treatments WHERE code = $1)"  # noqa: S608
    return await conn.fetchrow(f"SELECT t.*, {_LIST_EXTRAS.format(source=source)}", code)


async def _usable_words(conn: asyncpg.Connection, words: str | None) -> str | None:
    """The words when they make a search (« le la » are only stop words: they do not)."""
    if not words:
        return None
    has = await conn.fetchval("SELECT numnode(websearch_to_tsquery('french', fold($1))) > 0", words)
    return words if has else None


def _list_where(f: ListFilter, words: str | None) -> tuple[str, list[Any]]:
    conditions: list[str] = []
    args: list[Any] = []

    def add(sql: str, value: Any) -> None:
        args.append(value)
        conditions.append(sql.replace("?", f"${len(args)}"))

    if f.statuses is not None:
        add("status = ANY(?::text[])", list(f.statuses))
    if f.opinions is not None:
        add("opinion = ANY(?::text[])", list(f.opinions))
    if f.without_opinion:
        conditions.append("opinion IS NULL")
    if f.late:
        conditions.append(LATE)
    if f.natures is not None:
        add("nature = ANY(?::text[])", list(f.natures))
    if f.body_id is not None:
        add("body_id = ?", f.body_id)
    if f.code is not None:
        add("code = ?", f.code)
    if f.validated_from is not None:
        add("validated_at >= ?", f.validated_from)
    if f.validated_before is not None:
        add("validated_at < ?", f.validated_before)
    if f.submitted_from is not None:
        add("submitted_at >= ?", f.submitted_from)
    if f.submitted_before is not None:
        add("submitted_at < ?", f.submitted_before)
    if words is not None:
        add("search @@ websearch_to_tsquery('french', fold(?))", words)
    if f.late_on is not None:
        add("answer_due < ?", f.late_on)
        add("status = ANY(?::text[])", list(f.awaiting))
    return " AND ".join(conditions) or "true", args


def _list_order(f: ListFilter, prefix: str = "") -> str:
    way = "DESC" if f.descending else "ASC"
    column = LIST_SORTS[f.sort]
    return f"{prefix}{column} {way}, {prefix}request_id {way}"


async def list_page(
    conn: asyncpg.Connection, f: ListFilter, *, limit: int, offset: int
) -> tuple[int, list[asyncpg.Record]]:
    """One page of a list and how many rows it holds in all."""
    async with conn.transaction(readonly=True):
        await conn.execute(_CUSTOM_PLANS)
        words = await _usable_words(conn, f.words)
        where, args = _list_where(f, words)
        total = await conn.fetchval(f"SELECT count(*) FROM treatments WHERE {where}", *args)  # noqa: S608
        n = len(args)
        # The page first, then its answers and opinions: the joins run for its rows only.
        source = f"""(SELECT {COLUMNS} FROM treatments WHERE {where}
                      ORDER BY {_list_order(f)} LIMIT ${n + 1} OFFSET ${n + 2})"""  # noqa: S608
        rows = await conn.fetch(
            f"SELECT t.*, {_LIST_EXTRAS.format(source=source)} ORDER BY {_list_order(f, 't.')}",
            *args,
            limit,
            offset,
        )
    return total, rows


async def list_stream(
    conn: asyncpg.Connection, f: ListFilter, limit: int
) -> AsyncIterator[asyncpg.Record]:
    """Every row of a list (``limit`` at most) read with a cursor: the export. Call inside a
    transaction."""
    await conn.execute(_CUSTOM_PLANS)
    words = await _usable_words(conn, f.words)
    where, args = _list_where(f, words)
    source = f"""(SELECT {COLUMNS} FROM treatments WHERE {where}
                  ORDER BY {_list_order(f)} LIMIT {int(limit)})"""  # noqa: S608
    query = f"SELECT t.*, {_LIST_EXTRAS.format(source=source)} ORDER BY {_list_order(f, 't.')}"
    async for row in conn.cursor(query, *args, prefetch=500):
        yield row
