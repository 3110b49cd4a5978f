"""The working-day calendar as treatment keeps it: shared.working_days with the days declared off
stored in ``declared_days_off``. Every deadline, reminder and escalation of treatment reads it
here."""

from __future__ import annotations

import asyncpg

from shared.working_days import Calendar, calendar


async def load_calendar(conn: asyncpg.Connection | asyncpg.Pool) -> Calendar:
    rows = await conn.fetch("SELECT day FROM declared_days_off")
    return calendar(row["day"] for row in rows)
