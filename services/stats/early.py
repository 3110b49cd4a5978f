"""Events that come before their request is known here: kept, then applied in order.

stats counts a request from its request.submitted. Several copies of stats (the design runs N
of each service), or a message given back to the queue after a crash, can apply a decision, a
treatment event or a closure before it: its handler would find no fact row and the event would
be lost. Such an event is parked (``early_events``) and applied, in the order it arrived, in the
transaction that applies its request.submitted. A copy that parked one while another copy was
applying the submission (neither sees the other's uncommitted rows) leaves it to the sweep,
which applies every parked event whose request is known by now. One whose request never comes
(another platform's, a test's) is dropped after ``parked_days`` with a warning.

Applying events in any order is the other half: a late event does not undo a later one
(``repository.move_status`` compares the events' moments).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping
from uuid import UUID

import asyncpg
from aiohttp import web

from services.stats.settings import SETTINGS
from shared import periodic
from shared.consumer import Delivery, Handler
from shared.messages import CONTRACTS
from shared.service import POOL

log = logging.getLogger(__name__)


def parked_until_known(handler: Handler) -> Handler:
    """``handler`` for an event about a request's fact row: applied when the request is known
    here, parked otherwise."""

    async def handle(conn: asyncpg.Connection, event, delivery: Delivery) -> None:
        known = await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM request_facts WHERE request_id = $1)", event.request_id
        )
        if known:
            await handler(conn, event, delivery)
            return
        await conn.execute(
            """INSERT INTO early_events (request_id, message_id, message_type, body)
               VALUES ($1, $2, $3, $4) ON CONFLICT (message_id) DO NOTHING""",
            event.request_id,
            delivery.message_id,
            delivery.message_type,
            event.model_dump_json(),
        )
        log.info(
            "event parked until its request is known",
            extra={"request_id": str(event.request_id), "type": delivery.message_type},
        )

    return handle


async def apply_parked(
    conn: asyncpg.Connection, handlers: Mapping[str, Handler], request_ids: list[UUID] | None
) -> int:
    """Applies, in the order they arrived, the parked events of ``request_ids`` (None: of every
    request known here by now), and forgets them; returns how many."""
    rows = await conn.fetch(
        """WITH taken AS (
               DELETE FROM early_events e
               WHERE CASE WHEN $1::uuid[] IS NULL
                          THEN EXISTS (SELECT 1 FROM request_facts f
                                       WHERE f.request_id = e.request_id)
                          ELSE e.request_id = ANY($1::uuid[]) END
               RETURNING id, message_id, message_type, body)
           SELECT message_id, message_type, body FROM taken ORDER BY id""",
        request_ids,
    )
    for row in rows:
        contract = CONTRACTS[row["message_type"]]
        delivery = Delivery(
            message_id=row["message_id"],
            message_type=row["message_type"],
            routing_key=contract.name,
            correlation_id=None,
            reply_to=None,
        )
        await handlers[row["message_type"]](
            conn, contract.model_validate_json(row["body"]), delivery
        )
    return len(rows)


async def drop_stale(conn: asyncpg.Connection, days: int) -> int:
    """Forgets the parked events older than ``days`` whose request never came; returns how
    many."""
    dropped = await conn.fetch(
        """DELETE FROM early_events WHERE parked_at < now() - make_interval(days => $1)
           RETURNING request_id, message_type""",
        days,
    )
    for row in dropped:
        log.warning(
            "parked event dropped: its request never came",
            extra={"request_id": str(row["request_id"]), "type": row["message_type"]},
        )
    return len(dropped)


def sweeping(
    handlers: Mapping[str, Handler],
) -> Callable[[web.Application], AsyncIterator[None]]:
    """The app's context (``cleanup_ctx``) that applies what can be applied of the parked events,
    and drops the stale ones, every ``parked_sweep_seconds``."""

    async def sweep(app: web.Application) -> None:
        settings = app[SETTINGS]
        async with app[POOL].acquire(timeout=10) as conn, conn.transaction():
            applied = await apply_parked(conn, handlers, None)
            await drop_stale(conn, settings.parked_days)
        if applied:
            log.info("parked events applied by the sweep", extra={"applied": applied})

    return periodic.every(
        "stats-parked-events", lambda app: app[SETTINGS].parked_sweep_seconds, sweep
    )
