"""What the analysts' decisions and the citizen's rewrites change in the counts.

Each decision and rewrite moves the request's status (``repository.move_status``) to the one the
life cycle's table gives its event (``shared.lifecycle.status_after``): validated → in treatment
or read and forwarded by nature, sent back, rewritten, rejected. A re-index moves the request to
its new body and theme. A clarification changes no count.
"""

from __future__ import annotations

import asyncpg

from services.stats import repository
from shared import lifecycle
from shared.consumer import Delivery, Handler
from shared.messages import (
    RequestReformulationRequestedV1,
    RequestReindexedV1,
    RequestRejectedV1,
    RequestResubmittedV1,
    RequestValidatedV1,
    moment,
)

Move = (
    RequestValidatedV1 | RequestReformulationRequestedV1 | RequestRejectedV1 | RequestResubmittedV1
)


async def on_moved(conn: asyncpg.Connection, event: Move, delivery: Delivery) -> None:
    needs_treatment = event.needs_treatment if isinstance(event, RequestValidatedV1) else None
    status = lifecycle.status_after(event.name, needs_treatment=needs_treatment)
    assert status is not None, f"{event.name} keeps the status: not a move"
    await repository.move_status(conn, event.request_id, status, moment(event))


async def on_reindexed(
    conn: asyncpg.Connection, event: RequestReindexedV1, delivery: Delivery
) -> None:
    await move_index(conn, event.request_id, event.body_id, event.body_name, event.theme_id)


async def move_index(
    conn: asyncpg.Connection, request_id, body_id: str, body_name: str, theme_id: str | None
) -> bool:
    """Count the request under its new body and theme (its day, nature and status stay)."""
    fact = await conn.fetchrow(
        """SELECT body_id, nature, theme_id, status, submitted_on, outcome
           FROM request_facts WHERE request_id = $1 FOR UPDATE""",
        request_id,
    )
    if fact is None or (fact["body_id"], fact["theme_id"]) == (body_id, theme_id):
        return False
    if fact["outcome"] is not None and fact["body_id"] != body_id:
        # How it ended goes with it to its new body (0050_body_dashboard.sql).
        key = (fact["submitted_on"], fact["nature"], fact["outcome"])
        await conn.execute(
            """UPDATE outcome_counts SET count = count - 1
               WHERE body_id = $1 AND day = $2 AND nature = $3 AND outcome = $4""",
            fact["body_id"],
            *key,
        )
        await conn.execute(
            """INSERT INTO outcome_counts (body_id, day, nature, outcome, count)
               VALUES ($1, $2, $3, $4, 1)
               ON CONFLICT (body_id, day, nature, outcome)
               DO UPDATE SET count = outcome_counts.count + 1""",
            body_id,
            *key,
        )
    await conn.execute(
        """UPDATE daily_counts SET count = count - 1
           WHERE day = $1 AND body_id = $2 AND nature = $3 AND theme_id = COALESCE($4, '')
             AND status = $5""",
        fact["submitted_on"],
        fact["body_id"],
        fact["nature"],
        fact["theme_id"],
        fact["status"],
    )
    await conn.execute(
        """INSERT INTO daily_counts (day, body_id, nature, theme_id, status, count)
           VALUES ($1, $2, $3, COALESCE($4, ''), $5, 1)
           ON CONFLICT (day, body_id, nature, theme_id, status)
           DO UPDATE SET count = daily_counts.count + 1""",
        fact["submitted_on"],
        body_id,
        fact["nature"],
        theme_id,
        fact["status"],
    )
    await conn.execute(
        """INSERT INTO bodies (body_id, body_name) VALUES ($1, $2)
           ON CONFLICT (body_id) DO UPDATE SET body_name = EXCLUDED.body_name
           WHERE bodies.body_name IS DISTINCT FROM EXCLUDED.body_name""",
        body_id,
        body_name,
    )
    await conn.execute(
        """UPDATE request_facts SET body_id = $2, body_name = $3, theme_id = $4, updated_at = now()
           WHERE request_id = $1""",
        request_id,
        body_id,
        body_name,
        theme_id,
    )
    return True


HANDLERS: dict[str, Handler] = {
    RequestValidatedV1.type_name(): on_moved,
    RequestReformulationRequestedV1.type_name(): on_moved,
    RequestRejectedV1.type_name(): on_moved,
    RequestResubmittedV1.type_name(): on_moved,
    RequestReindexedV1.type_name(): on_reindexed,
}
