"""SQL of the stats schema: facts per request and the daily counters derived from them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import UUID

import asyncpg

from shared.db import json_records


def day_of(moment: datetime) -> date:
    """The calendar day of a moment in Côte d'Ivoire, which keeps UTC all year round."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).date()


_BUMP = """
INSERT INTO daily_counts (day, body_id, nature, theme_id, status, count)
VALUES ($1, $2, $3, COALESCE($4, ''), $5, $6)
ON CONFLICT (day, body_id, nature, theme_id, status)
DO UPDATE SET count = daily_counts.count + EXCLUDED.count
"""


async def record_submitted(conn: asyncpg.Connection, requests: list[dict]) -> int:
    """Add the fact rows of newly submitted requests and count them; a request already known
    is neither added nor counted again. Returns how many were new.

    ``requests``: dicts of ``request_id, body_id, body_name, nature, theme_id, channel, status,
    submitted_on`` (JSON-ready). One statement for the whole run (the consumer's hot path): the
    bodies' names and the counters are written only for the new fact rows."""
    return await conn.fetchval(
        """WITH incoming AS (
               SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(
                   ord int, request_id uuid, body_id text, body_name text, nature text,
                   theme_id text, channel text, status text, submitted_on date)),
           fact AS (
               INSERT INTO request_facts (request_id, body_id, body_name, nature, theme_id,
                                          channel, status, submitted_on)
               SELECT DISTINCT ON (request_id) request_id, body_id, body_name, nature, theme_id,
                      channel, status, submitted_on
               FROM incoming ORDER BY request_id, ord
               ON CONFLICT (request_id) DO NOTHING
               RETURNING request_id, body_id, body_name, nature, theme_id, status, submitted_on),
           body AS (
               INSERT INTO bodies (body_id, body_name)
               SELECT DISTINCT ON (body_id) body_id, body_name FROM fact
               ON CONFLICT (body_id) DO UPDATE SET body_name = EXCLUDED.body_name
               WHERE bodies.body_name IS DISTINCT FROM EXCLUDED.body_name),
           counted AS (
               INSERT INTO daily_counts (day, body_id, nature, theme_id, status, count)
               SELECT submitted_on, body_id, nature, COALESCE(theme_id, ''), status, count(*)
               FROM fact GROUP BY 1, 2, 3, 4, 5
               ON CONFLICT (day, body_id, nature, theme_id, status)
               DO UPDATE SET count = daily_counts.count + EXCLUDED.count)
           SELECT count(*) FROM fact""",
        json_records(requests),
    )


async def move_status(
    conn: asyncpg.Connection, request_id: UUID, status: str, at: datetime
) -> bool:
    """Move a known request to ``status``, set by an event of moment ``at``, in its fact row and
    in the counters.

    False when the request is unknown here, already in that status, or when ``at`` is older than
    the event that set its present status: a late event does not undo what came after it.
    """
    fact = await conn.fetchrow(
        """SELECT body_id, nature, theme_id, status, status_at, submitted_on
           FROM request_facts WHERE request_id = $1 FOR UPDATE""",
        request_id,
    )
    if fact is None or (fact["status_at"] is not None and at < fact["status_at"]):
        return False
    if fact["status"] == status:
        await conn.execute(
            "UPDATE request_facts SET status_at = $2 WHERE request_id = $1", request_id, at
        )
        return False
    key = (fact["submitted_on"], fact["body_id"], fact["nature"], fact["theme_id"])
    # An UPDATE, not _BUMP: the CHECK (count >= 0) is tested on the row INSERT proposes.
    await conn.execute(
        """UPDATE daily_counts SET count = count - 1
           WHERE day = $1 AND body_id = $2 AND nature = $3 AND theme_id = COALESCE($4, '')
             AND status = $5""",
        *key,
        fact["status"],
    )
    await conn.execute(_BUMP, *key, status, 1)
    await conn.execute(
        """UPDATE request_facts SET status = $2, status_at = $3, updated_at = now()
           WHERE request_id = $1""",
        request_id,
        status,
        at,
    )
    return True


async def record_opinion(
    conn: asyncpg.Connection, request_id: UUID, body_id: str, opinion: str, day: date
) -> bool:
    """Count a request's opinion under its body and day; False when the request's opinion is
    already counted (the same event delivered again, or the closure that names it)."""
    return await conn.fetchval(
        """WITH kept AS (
               INSERT INTO request_opinions (request_id, body_id, opinion, given_on)
               VALUES ($1, $2, $3, $4)
               ON CONFLICT (request_id) DO NOTHING
               RETURNING body_id, opinion, given_on),
           counted AS (
               INSERT INTO opinion_counts (day, body_id, opinion, count)
               SELECT given_on, body_id, opinion, 1 FROM kept
               ON CONFLICT (day, body_id, opinion)
               DO UPDATE SET count = opinion_counts.count + 1)
           SELECT count(*) = 1 FROM kept""",
        request_id,
        body_id,
        opinion,
        day,
    )


async def opinions_by_body_and_day(
    conn: asyncpg.Connection, start: date | None, end: date | None
) -> list[asyncpg.Record]:
    """``(day, body_id, body_name, opinion, total)`` of the opinions given in [start, end]."""
    return await conn.fetch(
        """SELECT o.day, o.body_id, coalesce(b.body_name, o.body_id) AS body_name, o.opinion,
                  o.count::bigint AS total
           FROM opinion_counts o LEFT JOIN bodies b USING (body_id)
           WHERE ($1::date IS NULL OR o.day >= $1) AND ($2::date IS NULL OR o.day <= $2)
             AND o.count > 0
           ORDER BY o.day, o.body_id, o.opinion""",
        start,
        end,
    )


async def counts_by_body_nature_and_status(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """``(body_id, body_name, nature, status, total)`` over all time (one pass over the
    counters: the public statistics' totals by nature and their « Traitées »)."""
    return await conn.fetch(
        # Grouped before the join: a few hundred groups hashed in memory, where grouping the
        # joined rows sorted every counter row on disk (measured by bench.body_dashboard).
        """SELECT c.body_id, b.body_name, c.nature, c.status, c.total
           FROM (SELECT body_id, nature, status, sum(count)::bigint AS total
                 FROM daily_counts GROUP BY body_id, nature, status) c
           JOIN bodies b USING (body_id)
           ORDER BY c.body_id, c.nature"""
    )


async def period_totals(
    conn: asyncpg.Connection, start: date | None, end: date | None
) -> tuple[list[asyncpg.Record], list[asyncpg.Record]]:
    """Totals ``(nature, total)`` and ``(status, total)`` of requests submitted in [start, end]."""
    where = "($1::date IS NULL OR day >= $1) AND ($2::date IS NULL OR day <= $2)"
    by_nature = await conn.fetch(
        f"""SELECT nature, sum(count)::bigint AS total FROM daily_counts
            WHERE {where} GROUP BY nature""",  # noqa: S608 - constant text, values are parameters
        start,
        end,
    )
    by_status = await conn.fetch(
        f"""SELECT status, sum(count)::bigint AS total FROM daily_counts
            WHERE {where} GROUP BY status""",  # noqa: S608
        start,
        end,
    )
    return by_nature, by_status


# How a closed request ended, for the focal point's dashboard (0050_body_dashboard.sql).
NO_OPINION = "none"  # closed « sans retour »


async def record_outcome(conn: asyncpg.Connection, request_id: UUID, outcome: str) -> bool:
    """Count how a known request ended (its opinion, or :data:`NO_OPINION`) under its body,
    nature and submission day; once per request: False when it is unknown here or its outcome
    is already counted (the same closure delivered again, or request.closed naming the opinion
    request.opinion_given brought)."""
    return await conn.fetchval(
        """WITH kept AS (
               UPDATE request_facts SET outcome = $2, updated_at = now()
               WHERE request_id = $1 AND outcome IS NULL
               RETURNING body_id, submitted_on, nature, outcome),
           counted AS (
               INSERT INTO outcome_counts (body_id, day, nature, outcome, count)
               SELECT body_id, submitted_on, nature, outcome, 1 FROM kept
               ON CONFLICT (body_id, day, nature, outcome)
               DO UPDATE SET count = outcome_counts.count + 1)
           SELECT count(*) = 1 FROM kept""",
        request_id,
        outcome,
    )


async def opinions_by_body(conn: asyncpg.Connection) -> dict[str, dict[str, int]]:
    """``{body_id: {opinion: total}}`` of every opinion given, over all time."""
    rows = await conn.fetch(
        """SELECT body_id, opinion, sum(count)::bigint AS total FROM opinion_counts
           GROUP BY body_id, opinion"""
    )
    out: dict[str, dict[str, int]] = {}
    for row in rows:
        out.setdefault(row["body_id"], {})[row["opinion"]] = row["total"]
    return out
