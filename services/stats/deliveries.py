"""Counts of notify's deliveries (emails, SMS) per day, medium and outcome."""

from __future__ import annotations

from datetime import UTC, date, datetime

import asyncpg
from aiohttp import web

from shared.consumer import Delivery
from shared.messages import NotificationFailedV1, NotificationSentV1
from shared.service import POOL


async def _count(conn: asyncpg.Connection, day: date, medium: str, outcome: str) -> None:
    await conn.execute(
        """INSERT INTO delivery_counts (day, medium, outcome, count) VALUES ($1, $2, $3, 1)
           ON CONFLICT (day, medium, outcome) DO UPDATE SET count = delivery_counts.count + 1""",
        day,
        medium,
        outcome,
    )


def _day(moment: datetime) -> date:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC).date()


async def on_sent(conn: asyncpg.Connection, event: NotificationSentV1, _: Delivery) -> None:
    await _count(conn, _day(event.sent_at), event.medium, "sent")


async def on_failed(conn: asyncpg.Connection, event: NotificationFailedV1, _: Delivery) -> None:
    await _count(conn, _day(event.failed_at), event.medium, "failed")


HANDLERS = {NotificationSentV1.type_name(): on_sent, NotificationFailedV1.type_name(): on_failed}


async def delivery_totals(request: web.Request) -> web.Response:
    """``GET /stats/deliveries``: sent and failed per medium, all days."""
    async with request.app[POOL].acquire(timeout=10) as conn:
        rows = await conn.fetch(
            """SELECT medium, outcome, sum(count)::bigint AS n FROM delivery_counts
               GROUP BY medium, outcome ORDER BY medium, outcome"""
        )
    totals: dict[str, dict[str, int]] = {}
    for row in rows:
        totals.setdefault(row["medium"], {"sent": 0, "failed": 0})[row["outcome"]] = row["n"]
    return web.json_response({"deliveries": totals})
