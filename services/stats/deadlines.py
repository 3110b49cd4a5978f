"""« Délais respectés » per body: the share of the body's answers given on time.

- request.deadline_missed (treatment's clock): the deadline missed is kept; the request's first
  answer, if it is already counted (the events may come in either order) and came after that
  deadline, is late.
- request.treated: the body's first answer to the request, late when it came after a deadline of
  the request that was missed (a request reopened and answered again keeps its first answer's
  count; a deadline of the later round, missed, does not make the first answer late).

:func:`by_body` gives, per body over a period: ``answered`` (first answers given), ``on_time``,
``late_waiting`` (deadlines missed in the period, the request still unanswered) and
``met_percent`` = on_time / (answered + late_waiting), None when there is nothing to count.
Counts only: no citizen.
"""

from __future__ import annotations

from datetime import date

import asyncpg

from services.stats.repository import day_of
from shared.consumer import Delivery, Handler
from shared.messages import RequestDeadlineMissedV1, RequestTreatedV1


async def on_missed(
    conn: asyncpg.Connection, event: RequestDeadlineMissedV1, delivery: Delivery
) -> None:
    await conn.execute(
        """INSERT INTO deadline_misses (request_id, answer_due, body_id, missed_on)
           VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING""",
        event.request_id,
        event.answer_due,
        event.body_id,
        day_of(event.missed_at),
    )
    # The first answer is late if it came after this deadline; a deadline of a later round (after
    # a reopening) says nothing of it.
    await conn.execute(
        "UPDATE deadline_answers SET late = true WHERE request_id = $1 AND answered_on > $2",
        event.request_id,
        event.answer_due,
    )


async def on_treated(conn: asyncpg.Connection, event: RequestTreatedV1, delivery: Delivery) -> None:
    await conn.execute(
        """INSERT INTO deadline_answers (request_id, body_id, answered_on, late)
           VALUES ($1, $2, $3, EXISTS (SELECT 1 FROM deadline_misses
                                       WHERE request_id = $1 AND answer_due < $3))
           ON CONFLICT (request_id) DO NOTHING""",
        event.request_id,
        event.body_id,
        day_of(event.treated_at),
    )


def zero() -> dict:
    return {"answered": 0, "on_time": 0, "late_waiting": 0, "met_percent": None}


async def by_body(
    conn: asyncpg.Connection, start: date | None, end: date | None, body_id: str | None = None
) -> dict[str, dict]:
    rows = await conn.fetch(
        """WITH answered AS (
               SELECT body_id, count(*) AS answered, count(*) FILTER (WHERE NOT late) AS on_time
               FROM deadline_answers
               WHERE ($1::date IS NULL OR answered_on >= $1)
                 AND ($2::date IS NULL OR answered_on <= $2)
                 AND ($3::text IS NULL OR body_id = $3)
               GROUP BY body_id),
           waiting AS (
               SELECT m.body_id, count(DISTINCT m.request_id) AS late_waiting
               FROM deadline_misses m
               WHERE ($1::date IS NULL OR m.missed_on >= $1)
                 AND ($2::date IS NULL OR m.missed_on <= $2)
                 AND ($3::text IS NULL OR m.body_id = $3)
                 AND NOT EXISTS (SELECT 1 FROM deadline_answers a
                                 WHERE a.request_id = m.request_id)
               GROUP BY m.body_id)
           SELECT body_id, coalesce(a.answered, 0) AS answered,
                  coalesce(a.on_time, 0) AS on_time, coalesce(w.late_waiting, 0) AS late_waiting
           FROM answered a FULL JOIN waiting w USING (body_id)""",
        start,
        end,
        body_id,
    )
    out = {}
    for row in rows:
        counted = row["answered"] + row["late_waiting"]
        out[row["body_id"]] = {
            "answered": row["answered"],
            "on_time": row["on_time"],
            "late_waiting": row["late_waiting"],
            "met_percent": round(100 * row["on_time"] / counted) if counted else None,
        }
    return out


def both(first: Handler, second: Handler) -> Handler:
    """One registry entry for two handlers of one message, in one transaction."""

    async def handle(conn: asyncpg.Connection, event, delivery: Delivery) -> None:
        await first(conn, event, delivery)
        await second(conn, event, delivery)

    return handle


HANDLERS: dict[str, Handler] = {
    RequestDeadlineMissedV1.type_name(): on_missed,
    RequestTreatedV1.type_name(): on_treated,
}
