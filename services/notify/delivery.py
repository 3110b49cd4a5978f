"""The delivery loop: claim due deliveries, send each through its medium, record the outcome.

One loop for every medium; a medium (:class:`Medium`: email over SMTP in smtp.py, SMS through
the provider's HTTP API in sms.py) only says how one worker sends one row and what a failure
means.

- Each medium has its workers (``Medium.workers``). A worker holds a database connection, claims
  a batch of its medium's due rows with ``FOR UPDATE SKIP LOCKED`` (so several copies of notify
  share the work), sends them one after the other through its :class:`Way` (an SMTP connection
  kept warm across batches, the SMS client), then marks the rows and writes
  ``notification.sent``/``notification.failed`` to the outbox in the same transaction. The row
  lock is held while sending: a crash before the commit leaves the rows pending and they are
  sent again (at least once; an email keeps its ``Message-ID``).
- A failure is :data:`PERMANENT` (this message or address is refused: the row fails at once),
  :data:`TEMPORARY` (retried with a growing delay — 1 s, 2 s, 4 s… up to ``retry_cap_seconds``
  — and failed after ``max_attempts``) or :data:`UNAVAILABLE` (the server, the provider or our
  configuration, not this message: the rest of the batch waits with it; the attempt is counted
  but never turns the row into a failure — delayed, never lost).
- The deliveries table's trigger (``pg_notify``) wakes one idle worker of each medium through
  one listening connection; the workers also poll.
- Metrics and logs come after the commit: they tell what really happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import asyncpg

from services.notify import metrics, repository
from services.notify.settings import NotifySettings
from shared import outbox
from shared.db import TRANSIENT_ERRORS, stop_if_cancelled
from shared.messages import NotificationFailedV1, NotificationSentV1

log = logging.getLogger(__name__)

TEMPORARY, PERMANENT, UNAVAILABLE = "temporary", "permanent", "unavailable"


class Way(Protocol):
    """One worker's means of sending (its own SMTP connection, or a shared HTTP client)."""

    async def send(self, row: asyncpg.Record) -> str | None:
        """Send the delivery ``row``; the provider's reference for it, if it gives one."""

    def failed(self, kind: str, exc: BaseException) -> None:
        """A send raised ``exc`` of this kind (e.g. drop a connection left in an unknown state)."""

    def idle(self) -> None:
        """Nothing came for a poll interval."""

    async def close(self) -> None:
        """The worker stops."""


class Medium(Protocol):
    name: str  # the deliveries' ``medium``: "email", "sms"
    provider: str  # for the logs: "SMTP server", "SMS provider"
    workers: int
    batch: int  # rows a worker claims at once
    linger: float  # a woken worker waits this long so that rows committed together go together

    def open(self) -> Way:
        """A way of sending for one worker."""

    def classify(self, exc: BaseException) -> str:
        """:data:`TEMPORARY`, :data:`PERMANENT` or :data:`UNAVAILABLE`."""

    def describe(self, exc: BaseException) -> str:
        """The error as the delivery log keeps it."""


class Doorbell:
    """Wakes one idle worker per ring, so a burst of inserts does not send every worker to
    claim the same row; a ring while every worker is busy is kept for the next one to wait."""

    def __init__(self) -> None:
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._rung = False

    def ring(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._rung = True

    def ring_all(self) -> None:
        self._rung = True
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)

    async def wait(self, timeout: float) -> bool:
        """True when rung, False after ``timeout``."""
        if self._rung:
            self._rung = False
            return True
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await asyncio.wait_for(waiter, timeout)
            return True
        except TimeoutError:
            return False
        finally:
            with contextlib.suppress(ValueError):
                self._waiters.remove(waiter)


@dataclass
class Outcome:
    row: asyncpg.Record
    error: BaseException | None = None
    kind: str = ""
    reference: str | None = None
    gave_up: bool = False


class DeliveryLoop:
    """Runs every medium's workers for the process's life; :meth:`stop` lets them finish their
    batch."""

    def __init__(
        self, pool: asyncpg.Pool, settings: NotifySettings, media: Sequence[Medium]
    ) -> None:
        self.pool = pool
        self.settings = settings
        self.media = list(media)
        self._bells = {m.name: Doorbell() for m in self.media}
        self._stopping = False
        self._workers: list[asyncio.Task] = []
        self._tasks: list[asyncio.Task] = []

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, schema: str = "notify") -> None:
        self._workers = [
            asyncio.create_task(self._worker(medium), name=f"notify-{medium.name}-{i}")
            for medium in self.media
            for i in range(max(1, medium.workers))
        ]
        self._tasks = [
            *self._workers,
            asyncio.create_task(self._listen(schema), name="notify-listener"),
            asyncio.create_task(self._gauges(), name="notify-gauges"),
        ]

    @property
    def is_running(self) -> bool:
        return bool(self._tasks) and not any(t.done() for t in self._tasks)

    async def stop(self, grace: float = 5.0) -> None:
        self._stopping = True
        for bell in self._bells.values():
            bell.ring_all()
        if self._workers:
            await asyncio.wait(self._workers, timeout=grace)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def wake(self, *_: object) -> None:
        for bell in self._bells.values():
            bell.ring()

    # -- loops -------------------------------------------------------------------------------

    async def _worker(self, medium: Medium) -> None:
        way = medium.open()
        try:
            while not self._stopping:
                try:
                    # One connection for the worker's life: acquiring one per batch would cost
                    # the pool's reset query each time.
                    async with self.pool.acquire(timeout=self.settings.db_acquire_timeout) as conn:
                        await self._serve(conn, medium, way)
                except TRANSIENT_ERRORS as exc:
                    stop_if_cancelled()
                    log.warning("%s sender: database unavailable (%r)", medium.name, exc)
                    await asyncio.sleep(1.0)
                except Exception:
                    stop_if_cancelled()
                    log.exception("%s sender: unexpected error", medium.name)
                    await asyncio.sleep(1.0)
        finally:
            await way.close()

    async def _serve(self, conn: asyncpg.Connection, medium: Medium, way: Way) -> None:
        bell = self._bells[medium.name]
        while not self._stopping:
            claimed = await self.send_batch(conn, medium, way)
            if self._stopping:
                return
            if claimed >= medium.batch:
                # More may be waiting: bring an idle worker in and go on.
                bell.ring()
                continue
            if await bell.wait(self.settings.sender_poll_seconds):
                if medium.linger > 0:
                    await asyncio.sleep(medium.linger)
            else:
                way.idle()

    async def _listen(self, schema: str) -> None:
        """Hold a connection that LISTENs for new deliveries; reconnect when it drops."""
        channel = f"milie_deliveries_{schema}"
        while True:
            try:
                async with self.pool.acquire(timeout=10) as conn:
                    await conn.add_listener(channel, self.wake)
                    try:
                        while not conn.is_closed():
                            await asyncio.sleep(5)
                    finally:
                        if not conn.is_closed():
                            await conn.remove_listener(channel, self.wake)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                stop_if_cancelled()
                log.debug("deliveries listener lost (%s)", exc)
                await asyncio.sleep(1.0)

    async def _gauges(self) -> None:
        while True:
            try:
                async with self.pool.acquire(timeout=10) as conn:
                    row = await repository.waiting(conn)
                metrics.PENDING.set(row["pending"])
                metrics.OLDEST_PENDING_AGE.set(row["oldest"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                stop_if_cancelled()
                log.debug("delivery gauges: %s", exc)
            await asyncio.sleep(2.0)

    # -- one batch ---------------------------------------------------------------------------

    async def send_batch(self, conn: asyncpg.Connection, medium: Medium, way: Way) -> int:
        """Claim, send and record up to ``medium.batch`` due deliveries of that medium; returns
        how many were claimed."""
        async with conn.transaction():
            rows = await repository.claim_due(conn, medium.name, medium.batch)
            metrics.BATCH_SIZE.observe(len(rows))
            if not rows:
                return 0
            outcomes = await self._send_all(medium, way, rows)
            marked = await self._record(conn, medium, outcomes)
        self._count(medium, outcomes, marked)
        return len(rows)

    @staticmethod
    async def _send_all(medium: Medium, way: Way, rows: list[asyncpg.Record]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        down: BaseException | None = None
        for row in rows:
            if down is not None:
                # The server or provider is out of reach: the rest of the batch waits with it.
                outcomes.append(Outcome(row, down, UNAVAILABLE))
                continue
            try:
                reference = await way.send(row)
            except Exception as exc:
                kind = medium.classify(exc)
                way.failed(kind, exc)
                if kind == UNAVAILABLE:
                    down = exc
                outcomes.append(Outcome(row, exc, kind))
            else:
                outcomes.append(Outcome(row, reference=reference))
        return outcomes

    async def _record(
        self, conn: asyncpg.Connection, medium: Medium, outcomes: list[Outcome]
    ) -> list[asyncpg.Record]:
        sent = [o for o in outcomes if o.error is None]
        marked = await repository.mark_sent(conn, [o.row["id"] for o in sent]) if sent else []
        references = [(o.row["id"], o.reference) for o in sent if o.reference]
        if references:
            await repository.keep_references(conn, references)
        sent_at = {m["id"]: m["sent_at"] for m in marked}
        await outbox.add_many(
            conn,
            (
                (
                    NotificationSentV1(
                        delivery_id=o.row["id"],
                        request_id=o.row["request_id"],
                        medium=o.row["medium"],
                        about_message_type=o.row["about_message_type"],
                        sent_at=sent_at[o.row["id"]],
                    ),
                    o.row["correlation_id"],
                )
                for o in sent
            ),
        )
        for o in outcomes:
            if o.error is None:
                continue
            reason = medium.describe(o.error)
            gives_up = o.kind == PERMANENT or (
                o.kind == TEMPORARY and o.row["attempts"] + 1 >= self.settings.max_attempts
            )
            if not gives_up:
                await repository.postpone(
                    conn, o.row["id"], reason, self.settings.retry_cap_seconds
                )
                continue
            failed = await repository.mark_failed(conn, o.row["id"], reason)
            await outbox.add(
                conn,
                NotificationFailedV1(
                    delivery_id=o.row["id"],
                    request_id=o.row["request_id"],
                    medium=o.row["medium"],
                    about_message_type=o.row["about_message_type"],
                    reason=reason,
                    failed_at=failed["failed_at"] or datetime.now(UTC),
                ),
                correlation_id=o.row["correlation_id"],
            )
            o.gave_up = True
        return marked

    @staticmethod
    def _count(medium: Medium, outcomes: list[Outcome], marked: list[asyncpg.Record]) -> None:
        now = datetime.now(UTC)
        for m in marked:
            metrics.SENT.labels(medium.name).inc()
            metrics.DELIVERY_LATENCY.labels(medium.name).observe(
                max(0.0, (now - m["created_at"]).total_seconds())
            )
        unavailable = [o for o in outcomes if o.kind == UNAVAILABLE]
        for o in outcomes:
            if o.error is None:
                continue
            kind = PERMANENT if o.kind == PERMANENT else TEMPORARY
            metrics.ATTEMPT_ERRORS.labels(medium.name, kind).inc()
            extra = {
                "delivery_id": str(o.row["id"]),
                "medium": medium.name,
                "error": medium.describe(o.error),
            }
            if o.gave_up:
                metrics.FAILED.labels(medium.name).inc()
                log.warning("notification failed", extra=extra)
            elif o.kind != UNAVAILABLE:
                log.info("notification postponed", extra=extra)
        if unavailable:
            log.warning(
                "%s unavailable, %d %s(s) postponed",
                medium.provider,
                len(unavailable),
                medium.name,
                extra={"error": medium.describe(unavailable[0].error)},
            )
