"""Outbox: messages are written with the business rows, in the same transaction, and a relay
publishes them with publisher confirms and only then marks them sent.

Several relays (several copies of a service) may run at once: each claims rows with
``FOR UPDATE SKIP LOCKED``. A crash between the confirm and the mark publishes a row twice; the
consumers' inbox makes that harmless. A row the broker cannot route stays unsent, is retried with
a growing delay, and its error is kept — unless it was given ``max_attempts`` (replies to another
channel's ``reply_to`` queue, which may be gone): after that many unroutable publishes it is
abandoned (``abandoned_at``), logged and counted, and never tried again. A row the broker nacks
(a queue at its length limit refuses it) is not sent either: it stays, retried with a growing
delay, and is never abandoned for that.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import asyncpg

from shared import logs, metrics
from shared.broker import Broker, Refused, Unroutable
from shared.db import TRANSIENT_ERRORS, columns, stop_if_cancelled
from shared.messages import Contract
from shared.topology import EVENTS

log = logging.getLogger(__name__)


COLUMNS = (
    "message_id, exchange, routing_key, message_type, body, headers, correlation_id, max_attempts"
)


def row(
    message: Contract,
    *,
    exchange: str = EVENTS,
    routing_key: str | None = None,
    correlation_id: str | None = None,
    headers: Mapping[str, Any] | None = None,
    message_id: uuid.UUID | None = None,
    max_attempts: int | None = None,
) -> tuple[Any, ...]:
    """The values of :data:`COLUMNS` for ``message`` (body and headers as JSON text: cast them
    to jsonb), for a statement that writes the outbox row together with the business rows."""
    return (
        message_id or uuid.uuid4(),
        exchange,
        routing_key or message.name,
        message.type_name(),
        message.model_dump_json(),
        json.dumps(dict(headers or {})),
        correlation_id or logs.correlation_id.get(),
        max_attempts,
    )


async def add(
    conn: asyncpg.Connection,
    message: Contract,
    *,
    exchange: str = EVENTS,
    routing_key: str | None = None,
    correlation_id: str | None = None,
    headers: Mapping[str, Any] | None = None,
    message_id: uuid.UUID | None = None,
    max_attempts: int | None = None,
) -> uuid.UUID:
    """Queue ``message`` for publishing; call inside the transaction that makes it true.

    ``max_attempts``: give the row up after that many unroutable publishes (a reply whose
    ``reply_to`` queue may have vanished); None retries forever (domain events)."""
    values = row(
        message,
        exchange=exchange,
        routing_key=routing_key,
        correlation_id=correlation_id,
        headers=headers,
        message_id=message_id,
        max_attempts=max_attempts,
    )
    await conn.execute(
        f"""INSERT INTO outbox ({COLUMNS})
            VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7, $8)""",  # noqa: S608
        *values,
    )
    return values[0]


async def add_many(
    conn: asyncpg.Connection, messages: Iterable[tuple[Contract, str | None]]
) -> None:
    """:func:`add` for several domain events, each with its correlation id, in one statement
    (one round trip instead of one per event: a batch of emails sent says so this way)."""
    rows = [
        (
            uuid.uuid4(),
            message.name,
            message.type_name(),
            message.model_dump_json(),
            correlation_id or logs.correlation_id.get(),
        )
        for message, correlation_id in messages
    ]
    if not rows:
        return
    await conn.execute(
        """INSERT INTO outbox (message_id, exchange, routing_key, message_type, body,
                               correlation_id)
           SELECT id, $1, key, type, body::jsonb, cid
           FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[])
                AS m(id, key, type, body, cid)""",
        EVENTS,
        *columns(rows, 5),
    )


class OutboxRelay:
    """Publishes the rows of one schema's outbox; run it as a task for the process's life."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        broker: Broker,
        schema: str,
        *,
        batch: int = 200,
        poll_seconds: float = 1.0,
        linger_seconds: float = 0.0,
    ) -> None:
        self.pool = pool
        self.broker = broker
        self.schema = schema
        self.batch = batch
        self.poll_seconds = poll_seconds
        self.linger_seconds = linger_seconds
        self._wake = asyncio.Event()
        self._last_gauge = 0.0
        self._last_cleanup = time.monotonic()

    async def run(self) -> None:
        listener = asyncio.create_task(self._listen())
        loop = asyncio.get_running_loop()
        last_published = float("-inf")
        try:
            while True:
                # Busy (rows were published moments ago): let the rows of the next few commits
                # gather, one claim, one publish round and one mark for all of them instead of
                # a transaction of four statements per row. After a quiet spell, at once.
                busy = loop.time() - last_published < max(0.25, self.linger_seconds)
                if self.linger_seconds > 0 and busy:
                    await asyncio.sleep(self.linger_seconds)
                # Cleared before the claim, not after: a row committed while a batch is being
                # published wakes the next one instead of waiting for the poll.
                self._wake.clear()
                try:
                    published = await self.publish_batch()
                    if published:
                        last_published = loop.time()
                    await self._update_gauges()
                except TRANSIENT_ERRORS as exc:
                    stop_if_cancelled()
                    log.warning("outbox relay: database unavailable (%s)", exc)
                    published = 0
                    await asyncio.sleep(1.0)
                except Exception:
                    stop_if_cancelled()
                    log.exception("outbox relay: unexpected error")
                    published = 0
                    await asyncio.sleep(1.0)
                if published < self.batch:
                    try:
                        await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
                    except TimeoutError:
                        pass
        finally:
            listener.cancel()

    async def _listen(self) -> None:
        """Hold a connection that LISTENs for new rows; reconnect when it drops."""
        channel = f"milie_outbox_{self.schema}"

        def wake(*_: object) -> None:
            self._wake.set()

        while True:
            try:
                async with self.pool.acquire() as conn:
                    await conn.add_listener(channel, wake)
                    try:
                        while not conn.is_closed():
                            await asyncio.sleep(5)
                    finally:
                        if not conn.is_closed():
                            await conn.remove_listener(channel, wake)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                stop_if_cancelled()
                log.debug("outbox listener lost (%s)", exc)
                await asyncio.sleep(1.0)

    async def publish_batch(self) -> int:
        """Publish up to ``batch`` due rows; returns how many were claimed."""
        if not self.broker.is_connected:
            return 0
        async with self.pool.acquire(timeout=10) as conn, conn.transaction():
            rows = await conn.fetch(
                """SELECT id, message_id, exchange, routing_key, message_type, body::text AS body,
                          headers::text AS headers, correlation_id, created_at, attempts,
                          max_attempts
                   FROM outbox
                   WHERE sent_at IS NULL AND abandoned_at IS NULL AND next_attempt_at <= now()
                   ORDER BY id
                   LIMIT $1
                   FOR UPDATE SKIP LOCKED""",
                self.batch,
            )
            if not rows:
                return 0
            results = await asyncio.gather(
                *(self._publish(row) for row in rows), return_exceptions=True
            )
            sent = [row["id"] for row, res in zip(rows, results, strict=True) if res is None]
            if sent:
                await conn.execute("UPDATE outbox SET sent_at = now() WHERE id = ANY($1)", sent)
            for row, res in zip(rows, results, strict=True):
                if res is not None:
                    await self._record_failure(conn, row, res)
            return len(rows)

    async def _publish(self, row: asyncpg.Record) -> None:
        await self.broker.publish(
            row["exchange"],
            row["routing_key"],
            row["body"].encode(),
            message_id=str(row["message_id"]),
            message_type=row["message_type"],
            correlation_id=row["correlation_id"],
            headers=json.loads(row["headers"]),
            timestamp=row["created_at"],
        )

    async def _record_failure(
        self, conn: asyncpg.Connection, row: asyncpg.Record, error: BaseException
    ) -> None:
        if isinstance(error, Unroutable):
            kind = "unroutable"
        elif isinstance(error, Refused):
            kind = "refused"  # a full queue: it drains at the consumers' pace
        else:
            kind = "broker"
        metrics.OUTBOX_PUBLISH_ERRORS.labels(row["message_type"], kind).inc()
        extra = {"message_id": str(row["message_id"]), "error": repr(error), "kind": kind}
        limit = row["max_attempts"]
        if kind == "unroutable" and limit is not None and row["attempts"] + 1 >= limit:
            # Only an unroutable publish gives a row up; a broker hiccup never does.
            metrics.OUTBOX_ABANDONED.labels(row["message_type"]).inc()
            log.warning("outbox: row abandoned after %d unroutable publishes", limit, extra=extra)
            await conn.execute(
                """UPDATE outbox SET attempts = attempts + 1, last_error = $2, abandoned_at = now()
                   WHERE id = $1""",
                row["id"],
                repr(error)[:1000],
            )
            return
        log.warning("outbox: publish failed", extra=extra)
        # An unroutable row is a configuration problem, a full queue drains slowly: back off up
        # to a minute. A broker hiccup is retried within seconds.
        cap = 5 if kind == "broker" else 60
        await conn.execute(
            """UPDATE outbox SET attempts = attempts + 1, last_error = $2,
                      next_attempt_at = now() + make_interval(secs => LEAST($3, power(2, attempts)))
               WHERE id = $1""",
            row["id"],
            repr(error)[:1000],
            cap,
        )

    async def _update_gauges(self) -> None:
        now = time.monotonic()
        if now - self._last_gauge < 1.0:
            return
        self._last_gauge = now
        async with self.pool.acquire(timeout=10) as conn:
            row = await conn.fetchrow(
                """SELECT count(*) AS waiting,
                          COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0) AS oldest
                   FROM outbox WHERE sent_at IS NULL AND abandoned_at IS NULL"""
            )
            metrics.OUTBOX_WAITING.set(row["waiting"])
            metrics.OUTBOX_OLDEST_AGE.set(float(row["oldest"]))
            # Sent and abandoned rows are kept a week for inspection, then removed.
            if now - self._last_cleanup > 600:
                self._last_cleanup = now
                await conn.execute(
                    """DELETE FROM outbox WHERE sent_at < now() - interval '7 days'
                                          OR abandoned_at < now() - interval '7 days'"""
                )
