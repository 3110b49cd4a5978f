"""The SMS delivery loop: claim due SMS deliveries, send them through the provider, record the
outcome — the email sender's log and backoff, with the SMS provider's client (sms.py).

- One worker holds one connection: it LISTENs there for new deliveries (the deliveries table's
  trigger) and polls besides; several copies of notify share the work with ``FOR UPDATE SKIP
  LOCKED``.
- A claimed batch keeps its row locks while it is sent; the rows are then marked sent (with the
  provider's ``resourceURL``) and ``notification.sent`` written to the outbox in the same
  transaction. That is what keeps a redelivered event or a second worker from sending again.
- The provider takes no idempotency key, so there is a window: a crash after the provider
  accepted a message and before the commit, or a timeout on an accepted one, sends it again
  (at least once — a citizen may, rarely, get the SMS twice; never none).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from services.notify import metrics, repository
from services.notify.settings import NotifySettings
from services.notify.sms import OrangeSms, SmsProviderUnavailable, SmsRefused
from shared import outbox
from shared.db import TRANSIENT_ERRORS
from shared.messages import NotificationFailedV1, NotificationSentV1

log = logging.getLogger(__name__)

SMS = "sms"
TEMPORARY, PERMANENT, PROVIDER = "temporary", "permanent", "provider"


@dataclass
class Outcome:
    row: asyncpg.Record
    error: BaseException | None = None
    kind: str = ""
    reference: str | None = None
    gave_up: bool = False


def classify(exc: BaseException) -> str:
    if isinstance(exc, SmsRefused):
        return PERMANENT
    if isinstance(exc, SmsProviderUnavailable):
        return PROVIDER
    return TEMPORARY


class SmsSender:
    """Runs the worker for the process's life; :meth:`stop` lets it finish its batch."""

    def __init__(self, pool: asyncpg.Pool, settings: NotifySettings, client: OrangeSms) -> None:
        self.pool = pool
        self.settings = settings
        self.client = client
        self.batch = max(1, settings.sms_batch)
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task | None = None

    def start(self, schema: str = "notify") -> None:
        self._task = asyncio.create_task(self._run(schema), name="notify-sms-sender")

    @property
    def is_running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def stop(self, grace: float = 5.0) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is None:
            return
        await asyncio.wait([self._task], timeout=grace)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task

    def wake(self, *_: object) -> None:
        self._wake.set()

    async def _run(self, schema: str) -> None:
        channel = f"milie_deliveries_{schema}"
        while not self._stopping:
            try:
                async with self.pool.acquire(timeout=self.settings.db_acquire_timeout) as conn:
                    await conn.add_listener(channel, self.wake)
                    try:
                        await self._serve(conn)
                    finally:
                        if not conn.is_closed():
                            await conn.remove_listener(channel, self.wake)
            except TRANSIENT_ERRORS as exc:
                log.warning("SMS sender: database unavailable (%r)", exc)
                await asyncio.sleep(1.0)
            except Exception:
                log.exception("SMS sender: unexpected error")
                await asyncio.sleep(1.0)

    async def _serve(self, conn: asyncpg.Connection) -> None:
        while not self._stopping and not conn.is_closed():
            self._wake.clear()
            claimed = await self.send_batch(conn)
            if claimed >= self.batch:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.sender_poll_seconds)

    async def send_batch(self, conn: asyncpg.Connection) -> int:
        """Claim, send and record up to ``batch`` due SMS; returns how many were claimed."""
        async with conn.transaction():
            rows = await repository.claim_due(conn, SMS, self.batch)
            if not rows:
                return 0
            outcomes = await self._send_all(rows)
            await self._record(conn, outcomes)
        self._count(outcomes)
        return len(rows)

    async def _send_all(self, rows: list[asyncpg.Record]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        down: BaseException | None = None
        for row in rows:
            if down is not None:
                # The provider is out of reach: the rest of the batch waits with this one.
                outcomes.append(Outcome(row, down, PROVIDER))
                continue
            try:
                reference = await self.client.send(row["recipient"], row["body_text"])
            except Exception as exc:
                kind = classify(exc)
                if kind == PROVIDER:
                    down = exc
                outcomes.append(Outcome(row, exc, kind))
            else:
                outcomes.append(Outcome(row, reference=reference))
        return outcomes

    async def _record(self, conn: asyncpg.Connection, outcomes: list[Outcome]) -> None:
        sent = [o for o in outcomes if o.error is None]
        marked = await repository.mark_sent(conn, [o.row["id"] for o in sent]) if sent else []
        sent_at = {m["id"]: m["sent_at"] for m in marked}
        for o in sent:
            if o.reference:
                await conn.execute(
                    "UPDATE deliveries SET provider_ref = $2 WHERE id = $1",
                    o.row["id"],
                    o.reference[:500],
                )
            await outbox.add(
                conn,
                NotificationSentV1(
                    delivery_id=o.row["id"],
                    request_id=o.row["request_id"],
                    medium=SMS,
                    about_message_type=o.row["about_message_type"],
                    sent_at=sent_at[o.row["id"]],
                ),
                correlation_id=o.row["correlation_id"],
            )
        for o in outcomes:
            if o.error is None:
                continue
            reason = f"{type(o.error).__name__}: {o.error}"[:1000]
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
                    medium=SMS,
                    about_message_type=o.row["about_message_type"],
                    reason=reason,
                    failed_at=failed["failed_at"] or datetime.now(UTC),
                ),
                correlation_id=o.row["correlation_id"],
            )
            o.gave_up = True

    def _count(self, outcomes: list[Outcome]) -> None:
        """Metrics and logs once the transaction is committed: they tell what really happened."""
        now = datetime.now(UTC)
        for o in outcomes:
            extra = {"delivery_id": str(o.row["id"])}
            if o.error is None:
                metrics.SENT.labels(SMS).inc()
                metrics.DELIVERY_LATENCY.labels(SMS).observe(
                    max(0.0, (now - o.row["created_at"]).total_seconds())
                )
                continue
            extra["error"] = f"{type(o.error).__name__}: {o.error}"[:1000]
            metrics.ATTEMPT_ERRORS.labels(
                SMS, "permanent" if o.kind == PERMANENT else "temporary"
            ).inc()
            if o.gave_up:
                metrics.FAILED.labels(SMS).inc()
                log.warning("SMS failed", extra=extra)
            elif o.kind == PROVIDER:
                log.warning("SMS provider unavailable, SMS postponed", extra=extra)
            else:
                log.info("SMS postponed", extra=extra)
