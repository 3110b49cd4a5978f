"""Counts of notify's deliveries (emails, SMS) per day, medium and outcome."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

import asyncpg
from aiohttp import web

from shared.consumer import Batched, Delivery
from shared.messages import NotificationFailedV1, NotificationSentV1
from shared.service import connection

routes = web.RouteTableDef()


async def _count(conn: asyncpg.Connection, outcome: str, events: list[tuple[date, str]]) -> None:
    """Add ``events`` (day, medium) to the counters of ``outcome``: one statement for a run."""
    per_key = Counter(events)
    await conn.execute(
        """INSERT INTO delivery_counts (day, medium, outcome, count)
           SELECT day, medium, $1, n FROM unnest($2::date[], $3::text[], $4::int[])
                                          AS t(day, medium, n)
           ON CONFLICT (day, medium, outcome)
           DO UPDATE SET count = delivery_counts.count + EXCLUDED.count""",
        outcome,
        [day for day, _ in per_key],
        [medium for _, medium in per_key],
        list(per_key.values()),
    )


def _day(moment: datetime) -> date:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC).date()


async def on_sent(conn: asyncpg.Connection, run: list[tuple[NotificationSentV1, Delivery]]) -> None:
    await _count(conn, "sent", [(_day(e.sent_at), e.medium) for e, _ in run])


async def on_failed(
    conn: asyncpg.Connection, run: list[tuple[NotificationFailedV1, Delivery]]
) -> None:
    await _count(conn, "failed", [(_day(e.failed_at), e.medium) for e, _ in run])


HANDLERS = {
    NotificationSentV1.type_name(): Batched(on_sent),
    NotificationFailedV1.type_name(): Batched(on_failed),
}


@routes.get("/stats/deliveries")
async def delivery_totals(request: web.Request) -> web.Response:
    """``GET /stats/deliveries``: sent and failed per medium, all days."""
    async with connection(request) as conn:
        rows = await conn.fetch(
            """SELECT medium, outcome, sum(count)::bigint AS n FROM delivery_counts
               GROUP BY medium, outcome ORDER BY medium, outcome"""
        )
    totals: dict[str, dict[str, int]] = {}
    for row in rows:
        totals.setdefault(row["medium"], {"sent": 0, "failed": 0})[row["outcome"]] = row["n"]
    return web.json_response({"deliveries": totals})
