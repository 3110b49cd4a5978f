"""« Statistique générale » (the guide's Statistiques page): per public body, the requests
submitted in a period by nature and by present status, and how many of them are closed with the
citizen's opinion (« Avis »).

Staff only, with the gateway's signed identity: analysts and administrators see every body; a
focal point only its own (the service enforces it, whatever the gateway asks).
"""

from __future__ import annotations

from datetime import date

import asyncpg
from aiohttp import web

from services.stats import deadlines
from services.stats.api import _zero_by_nature, period
from services.stats.repository import NO_OPINION
from shared.identity import Role, identity_of, requires
from shared.service import connection
from shared.web import json_error

routes = web.RouteTableDef()

# Grouped before the join: joined first, PostgreSQL sorted every counter row on disk
# (bench.body_dashboard measured it on /stats/bodies' query of the same shape).
QUERY = """
    SELECT c.body_id, b.body_name, c.nature, c.status, c.total
    FROM (SELECT body_id, nature, status, sum(count)::bigint AS total
          FROM daily_counts
          WHERE ($1::date IS NULL OR day >= $1) AND ($2::date IS NULL OR day <= $2)
            AND ($3::text IS NULL OR body_id = $3)
          GROUP BY body_id, nature, status
          HAVING sum(count) > 0) c
    JOIN bodies b USING (body_id)"""


# Requests of the period closed with an opinion, under the body they are counted in: from the
# counters of how closed requests ended (0050_body_dashboard.sql), not from every request.
WITH_OPINION = """
    SELECT body_id, sum(count)::bigint AS total
    FROM outcome_counts
    WHERE outcome <> $4
      AND ($1::date IS NULL OR day >= $1) AND ($2::date IS NULL OR day <= $2)
      AND ($3::text IS NULL OR body_id = $3)
    GROUP BY body_id"""


async def counts(
    conn: asyncpg.Connection, start: date | None, end: date | None, body_id: str | None
) -> list[asyncpg.Record]:
    return await conn.fetch(QUERY, start, end, body_id)


async def with_opinion(
    conn: asyncpg.Connection, start: date | None, end: date | None, body_id: str | None
) -> dict[str, int]:
    rows = await conn.fetch(WITH_OPINION, start, end, body_id, NO_OPINION)
    return {row["body_id"]: row["total"] for row in rows}


def by_body(
    rows: list[asyncpg.Record],
    opinions: dict[str, int] | None = None,
    met: dict[str, dict] | None = None,
) -> list[dict]:
    """One entry per body (busiest first): total, by_nature (every nature), by_status,
    with_opinion (closed with the citizen's opinion), deadlines (« délais respectés »:
    deadlines.by_body)."""
    out: dict[str, dict] = {}
    for row in rows:
        entry = out.setdefault(
            row["body_id"],
            {
                "body_id": row["body_id"],
                "body_name": row["body_name"],
                "total": 0,
                "by_nature": _zero_by_nature(),
                "by_status": {},
                "with_opinion": (opinions or {}).get(row["body_id"], 0),
                "deadlines": (met or {}).get(row["body_id"]) or deadlines.zero(),
            },
        )
        entry["total"] += row["total"]
        entry["by_nature"][row["nature"]] = entry["by_nature"].get(row["nature"], 0) + row["total"]
        entry["by_status"][row["status"]] = entry["by_status"].get(row["status"], 0) + row["total"]
    return sorted(out.values(), key=lambda b: (-b["total"], b["body_name"]))


@routes.get("/stats/general")  # staff: signed identity
@requires(Role.ADMINISTRATOR, Role.ANALYST, Role.FOCAL_POINT)
async def general(request: web.Request) -> web.Response:
    """``GET /stats/general?from=&to=``: ``{"from", "to", "bodies": [...]}``."""
    asked = period(request)
    if isinstance(asked, web.Response):
        return asked
    start, end = asked
    identity = identity_of(request)
    assert identity is not None
    # A focal point's counts are its body's, never another's.
    only = identity.body_id if identity.role == Role.FOCAL_POINT else None
    if identity.role == Role.FOCAL_POINT and not only:
        return json_error(403, "forbidden", "a focal point without a body sees no counts")
    async with connection(request) as conn:
        rows = await counts(conn, start, end, only)
        opinions = await with_opinion(conn, start, end, only)
        met = await deadlines.by_body(conn, start, end, only)
    return web.json_response(
        {
            "from": start.isoformat() if start else None,
            "to": end.isoformat() if end else None,
            "bodies": by_body(rows, opinions, met),
        }
    )
