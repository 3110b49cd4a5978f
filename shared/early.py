"""Events that come before their request is known here: kept, then applied in order.

A service learns of a request from its request.submitted (stats counts it, notify keeps the
citizen's address). Several copies of a service (the design runs N of each), or a message given
back to the queue after a crash, can apply a decision, a treatment event or a closure before
it: its handler would find nothing to count or nobody to tell, and the event would be lost.
Such an event is parked (the service's ``early_events`` table) and applied, in the order it
arrived, in the transaction that applies its request.submitted. A copy that parked one while
another copy was applying the submission (neither sees the other's uncommitted rows) leaves it
to the sweep, which applies every parked event whose request is known by now.

A parked event holds what the event holds (a validation carries the citizen's contact): it is
kept no longer than its request takes to come, at most ``parked_days`` (MILIE_PARKED_DAYS); one
whose request never comes (another platform's, a test's) is then dropped with a warning.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from uuid import UUID

import asyncpg
from aiohttp import web

from shared import metrics, periodic
from shared.consumer import Delivery, Handler
from shared.lock_order import LockFirst
from shared.messages import CONTRACTS
from shared.service import POOL, SETTINGS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Parking:
    """A service's parked events: ``known_in`` is its table whose ``request_id`` says that a
    request is known here; ``handlers`` apply the events, by message type."""

    known_in: str
    handlers: Mapping[str, Handler]
    # The locks the service's consumer takes first (shared.lock_order): the sweep, applying
    # events of several requests in one transaction beside the consumer's, takes them too.
    lock_first: LockFirst | None = None

    def until_known(self, message_type: str) -> Handler:
        """The handler of ``message_type``, applied when the request is known here, parked
        otherwise."""
        handler = self.handlers[message_type]
        # known_in is the service's own constant, never a caller's text.
        known_sql = f"SELECT EXISTS (SELECT 1 FROM {self.known_in} WHERE request_id = $1)"  # noqa: S608

        async def handle(conn: asyncpg.Connection, event, delivery: Delivery) -> None:
            if await conn.fetchval(known_sql, event.request_id):
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
            metrics.EVENTS_PARKED.labels(delivery.message_type).inc()
            log.info(
                "event parked until its request is known",
                extra={"request_id": str(event.request_id), "type": delivery.message_type},
            )

        return handle

    def parked_until_known(self) -> dict[str, Handler]:
        """Every handler, wrapped by :meth:`until_known`: entries for the service's registry."""
        return {name: self.until_known(name) for name in self.handlers}

    async def apply(self, conn: asyncpg.Connection, request_ids: list[UUID] | None) -> int:
        """Applies, in the order they arrived, the parked events of ``request_ids`` (None: of
        every request known here by now), and forgets them; returns how many."""
        # Two statements rather than one with a CASE: each keeps its index.
        if request_ids is None:
            which = f"EXISTS (SELECT 1 FROM {self.known_in} k WHERE k.request_id = e.request_id)"  # noqa: S608
        else:
            which = "e.request_id = ANY($1::uuid[])"
        rows = await conn.fetch(
            f"""WITH taken AS (
                    DELETE FROM early_events e WHERE {which}
                    RETURNING id, message_id, message_type, body)
                SELECT message_id, message_type, body FROM taken ORDER BY id""",  # noqa: S608
            *([] if request_ids is None else [request_ids]),
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
            await self.handlers[row["message_type"]](
                conn, contract.model_validate_json(row["body"]), delivery
            )
        return len(rows)

    def sweeping(self) -> Callable[[web.Application], AsyncIterator[None]]:
        """The app's context (``cleanup_ctx``) that applies what can be applied of the parked
        events, and drops the stale ones, every ``parked_sweep_seconds``."""

        async def sweep(app: web.Application) -> None:
            async with app[POOL].acquire(timeout=10) as conn, conn.transaction():
                if self.lock_first is not None:
                    await self.lock_first(conn, [])
                applied = await self.apply(conn, None)
                await drop_stale(conn, app[SETTINGS].parked_days)
            if applied:
                log.info("parked events applied by the sweep", extra={"applied": applied})

        return periodic.every(
            "parked-events", lambda app: app[SETTINGS].parked_sweep_seconds, sweep
        )


async def drop_stale(conn: asyncpg.Connection, days: int) -> int:
    """Forgets the parked events older than ``days`` whose request never came; returns how
    many."""
    dropped = await conn.fetch(
        """DELETE FROM early_events WHERE parked_at < now() - make_interval(days => $1)
           RETURNING request_id, message_type""",
        days,
    )
    for row in dropped:
        metrics.PARKED_EVENTS_DROPPED.labels(row["message_type"]).inc()
        log.warning(
            "parked event dropped: its request never came",
            extra={"request_id": str(row["request_id"]), "type": row["message_type"]},
        )
    return len(dropped)


async def forget(conn: asyncpg.Connection, request_ids: list[UUID]) -> None:
    """Drops the parked events of these requests (their personal data is being purged)."""
    await conn.execute("DELETE FROM early_events WHERE request_id = ANY($1::uuid[])", request_ids)
