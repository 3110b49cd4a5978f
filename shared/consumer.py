"""Consuming: validate, apply once (inbox), then acknowledge.

- A message whose type is unknown or whose body fails its contract can never succeed: it goes to
  the service's dead-letter queue once, with the reason in the ``x-milie-reason`` header, and is
  acknowledged so the queue keeps flowing.
- A temporary failure (the database is down) is retried here, holding the message, until it
  succeeds: it never counts toward the delivery limit and is never dead-lettered. A consumer
  stopped meanwhile leaves the message unsettled, for the broker to deliver again.
- Any other handler error is requeued; after ``handler_attempts`` deliveries it is dead-lettered
  with the error as reason. The broker's own delivery limit is the last guard (crash loops).
- A command (a message from ``milie.commands``, or of a command type) comes from another
  channel and is trusted only so far: its type must be one of ``COMMAND_TYPES``, its body at
  most ``COMMAND_MAX_BYTES``, and it must carry the AMQP ``user_id`` of a RabbitMQ user that
  ``command_senders`` names (RabbitMQ refuses a user_id other than the connection's user, so a
  channel cannot pass for another). Anything else is dead-lettered with the reason, unapplied;
  the handler gets the sender's channel in ``Delivery.channel``.

Messages are applied in batches, because a transaction and an ack per message cost more than
the handlers themselves: what has arrived (up to ``batch_size``) is applied in one transaction —
one inbox statement, then each handler in turn — committed, then acknowledged with one
``multiple`` ack. When a handler fails in a way that is not temporary, the batch is rolled back
and each of its messages is applied again alone, in its own transaction, with the rules above:
one bad message never fails or holds back the others. A handler registered as :class:`Batched`
gets each run of consecutive messages of its type in one call, and writes them in one statement.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import aio_pika.abc
import aio_pika.exceptions
import asyncpg
from pydantic import ValidationError

from shared import inbox, logs, metrics
from shared.broker import Broker, Refused
from shared.db import is_transient, stop_if_cancelled
from shared.lock_order import LockFirst
from shared.messages import COMMAND_MAX_BYTES, COMMAND_TYPES, CONTRACTS, Contract
from shared.topology import COMMANDS, DEAD_LETTER, EVENTS

log = logging.getLogger(__name__)

# Seconds a stop waits for the broker to confirm the channel's close.
CLOSE_TIMEOUT = 5.0
_TYPE = re.compile(r"(.+)\.v(\d+)")


@dataclass(frozen=True)
class Delivery:
    """What a handler may need besides the body: ids and where to answer."""

    message_id: uuid.UUID
    message_type: str
    routing_key: str
    correlation_id: str | None
    reply_to: str | None
    headers: Mapping[str, Any] = field(default_factory=dict)
    app_id: str | None = None
    # A command's sender: the RabbitMQ user (checked by the broker) and the channel it is.
    user_id: str | None = None
    channel: str | None = None


Handler = Callable[[asyncpg.Connection, Any, Delivery], Awaitable[None]]
RunHandler = Callable[[asyncpg.Connection, list[tuple[Any, Delivery]]], Awaitable[None]]


@dataclass(frozen=True)
class Batched:
    """A registry entry whose function applies a run of messages of its type at once: one
    statement for the run instead of one per message, the consumer's main cost under load.

    It gets ``[(body, delivery), …]`` in delivery order, already claimed in the inbox, inside the
    batch's transaction; a message applied alone (a batch that failed) is a run of one."""

    apply: RunHandler


Entry = Handler | Batched


class Poison(Exception):
    """Raised by a handler for a message that can never succeed; it is dead-lettered at once."""


class _LeftForRedelivery(Exception):
    """The consumer stops while the database is down: the batch in hand is left unsettled, and
    the broker redelivers it once the channel closes. A temporary failure is never taken for
    the handler's (requeued as one of its attempts, or dead-lettered)."""


@dataclass
class _Work:
    """A readable message for one of our handlers, waiting to be applied."""

    message: aio_pika.abc.AbstractIncomingMessage
    handler: Entry
    body: Contract
    delivery: Delivery


def _channel_of(message: aio_pika.abc.AbstractIncomingMessage) -> object | None:
    """The channel ``message`` came on, or None once it is closed (aio-pika's ``channel`` then
    raises). A broker restart closes it under messages still in hand: the broker requeues them
    itself, so there is nothing to settle, and the inbox ignores them when they come again."""
    try:
        return message.channel
    except aio_pika.exceptions.ChannelInvalidStateError:
        return None


@contextlib.contextmanager
def _correlated(message: aio_pika.abc.AbstractIncomingMessage) -> Iterator[None]:
    # Logs, and the outbox rows a handler writes, carry the message's correlation id.
    token = logs.correlation_id.set(message.correlation_id)
    try:
        yield
    finally:
        logs.correlation_id.reset(token)


def _runs(work: list[_Work]) -> Iterator[list[_Work]]:
    """``work`` cut into runs of consecutive messages with the same handler: the order across
    types is kept (a rewrite never overtakes the submission it rewrites)."""
    run: list[_Work] = []
    for w in work:
        if run and w.handler is not run[0].handler:
            yield run
            run = []
        run.append(w)
    if run:
        yield run


async def _apply_run(conn: asyncpg.Connection, run: list[_Work]) -> None:
    handler = run[0].handler
    if isinstance(handler, Batched):
        with _correlated(run[0].message):
            await handler.apply(conn, [(w.body, w.delivery) for w in run])
        return
    for w in run:
        with _correlated(w.message):
            await handler(conn, w.body, w.delivery)


class Consumer:
    def __init__(
        self,
        *,
        service: str,
        pool: asyncpg.Pool,
        broker: Broker,
        handlers: Mapping[str, Entry],
        bindings: list[tuple[str, str]],
        obsolete_bindings: list[tuple[str, str]] | None = None,
        prefetch: int = 32,
        batch_size: int = 16,
        batch_linger: float = 0.01,
        delivery_limit: int = 20,
        handler_attempts: int = 5,
        on_poison: Callable[[aio_pika.abc.AbstractIncomingMessage, str], Awaitable[None]]
        | None = None,
        command_senders: Mapping[str, str] | None = None,
        lock_first: LockFirst | None = None,
    ) -> None:
        unknown = set(handlers) - set(CONTRACTS)
        if unknown:
            raise ValueError(f"handlers for unknown contracts: {unknown}")
        self.service = service
        self.pool = pool
        self.broker = broker
        self.handlers = dict(handlers)
        self._names_handled = {t.rpartition(".v")[0] for t in handlers}
        self.bindings = bindings
        self.obsolete_bindings = obsolete_bindings or []
        self.prefetch = prefetch
        self.batch_size = max(1, batch_size)
        self.batch_linger = batch_linger
        self.delivery_limit = delivery_limit
        self.handler_attempts = handler_attempts
        self.on_poison = on_poison
        # RabbitMQ user -> channel: who may send commands (none when not given).
        self.command_senders = dict(command_senders or {})
        # The locks each transaction takes before anything else (shared.lock_order).
        self.lock_first = lock_first
        self._channel: aio_pika.abc.AbstractChannel | None = None
        self._stopping = False
        # Delivered, not yet taken by the loop, in delivery order.
        self._arrived: deque[aio_pika.abc.AbstractIncomingMessage] = deque()
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task | None = None
        # Channels where a message may have been left unsettled: no ``multiple`` ack there, it
        # would acknowledge that message too.
        self._no_multiple: list[object] = []

    async def start(self) -> None:
        self._channel = await self.broker.channel(self.prefetch)
        queue = await self.broker.declare_service_queue(
            self._channel,
            self.service,
            self.bindings,
            self.delivery_limit,
            obsolete_bindings=self.obsolete_bindings,
        )
        self._loop_task = asyncio.create_task(self._run(), name=f"{self.service}-consumer")
        await queue.consume(self.on_message)

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._loop_task is not None:
            # Let the batch in hand commit and be acknowledged; what is left is redelivered.
            await asyncio.wait({self._loop_task}, timeout=5)
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
        if self._channel is not None and not self._channel.is_closed:
            # A broker that does not answer the close (overloaded, partitioned) must not keep
            # the process from stopping: what was not acknowledged is redelivered anyway.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._channel.close(), CLOSE_TIMEOUT)

    async def on_message(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        self._arrived.append(message)
        self._wake.set()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        last_batch = float("-inf")
        while not self._stopping:
            if not self._arrived:
                self._wake.clear()
                await self._wake.wait()
                continue
            # Busy (the last batch was moments ago): wait a little for a fuller batch, fewer
            # transactions and statements per message. After a quiet spell, at once.
            busy = loop.time() - last_batch < max(self.batch_linger, 0.05)
            if busy and self.batch_linger > 0 and len(self._arrived) < self.batch_size:
                await asyncio.sleep(self.batch_linger)
            count = min(self.batch_size, len(self._arrived))
            batch = [self._arrived.popleft() for _ in range(count)]
            try:
                await self._handle_batch(batch)
            except _LeftForRedelivery as exc:
                log.warning("stopping, database down (%r): the batch is redelivered", exc.__cause__)
                return
            except Exception:
                log.exception("consumer: unexpected error, the batch's messages are requeued")
                await self._give_back(batch)
            last_batch = loop.time()

    async def _give_back(self, batch: list[aio_pika.abc.AbstractIncomingMessage]) -> None:
        for message in batch:
            channel = _channel_of(message)
            # Closed: the broker requeued it already. (Reading message.channel here raised, and
            # that killed this loop for good on a broker restart: nothing was consumed again.)
            if message.processed or channel is None:
                continue
            try:
                await message.nack(requeue=True)
            except Exception:
                self._no_multiple.append(channel)

    async def _handle_batch(self, batch: list[aio_pika.abc.AbstractIncomingMessage]) -> None:
        settled_by_ack: list[aio_pika.abc.AbstractIncomingMessage] = []
        work: list[_Work] = []
        for message in batch:
            with _correlated(message):
                item = await self._prepare(message)
            if isinstance(item, _Work):
                work.append(item)
            elif item:
                settled_by_ack.append(message)
        if len(work) == 1:
            await self._apply(work[0])
        elif work and await self._apply_batch(work):
            settled_by_ack.extend(w.message for w in work)
        await self._ack(settled_by_ack)

    async def _prepare(self, message: aio_pika.abc.AbstractIncomingMessage) -> _Work | bool:
        """The message's work; True when it only needs an ack, False when it was dead-lettered."""
        type_name = message.type or ""
        channel = None
        if type_name in COMMAND_TYPES or message.exchange == self.broker.topology.exchange(
            COMMANDS
        ):
            refusal = self._command_refusal(message, type_name)
            if refusal:
                await self.dead_letter(message, refusal)
                return False
            channel = self.command_senders[message.user_id or ""]
        versioned = _TYPE.fullmatch(type_name)
        on_events = message.exchange == self.broker.topology.exchange(EVENTS)
        if on_events and versioned is not None and versioned.group(1) != message.routing_key:
            # The routing key is the event's name: a type that says otherwise is a publisher's
            # mistake (or a lie), never an event to apply or to ignore unseen.
            await self.dead_letter(
                message,
                f"type {type_name!r} does not match routing key {message.routing_key!r}",
            )
            return False
        if versioned is not None and versioned.group(1) not in self._names_handled and on_events:
            # An event bound by a wider routing key (request.#) but not for us, maybe newer than
            # this copy of the service: nothing to do. A command is never ignored this way.
            return True
        contract = CONTRACTS.get(type_name)
        handler = self.handlers.get(type_name)
        if contract is None or handler is None:
            await self.dead_letter(message, f"unknown message type {type_name!r}")
            return False
        try:
            message_id = uuid.UUID(message.message_id or "")
        except ValueError:
            await self.dead_letter(message, "message_id missing or not a UUID")
            return False
        try:
            body = contract.model_validate_json(message.body)
        except ValidationError as exc:
            reason = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()
            )
            await self.dead_letter(message, f"invalid {type_name}: {reason}")
            return False
        delivery = Delivery(
            message_id=message_id,
            message_type=type_name,
            routing_key=message.routing_key or "",
            correlation_id=message.correlation_id,
            reply_to=message.reply_to,
            headers=dict(message.headers or {}),
            app_id=message.app_id,
            user_id=message.user_id,
            channel=channel,
        )
        return _Work(message, handler, body, delivery)

    def _command_refusal(self, message: aio_pika.abc.AbstractIncomingMessage, type_name: str):
        """Why a command cannot be taken from its sender (None when it can)."""
        if type_name not in COMMAND_TYPES:
            accepted = ", ".join(sorted(COMMAND_TYPES))
            return f"unknown message type {type_name!r}: commands accept only {accepted}"
        if len(message.body) > COMMAND_MAX_BYTES:
            return f"command of {len(message.body)} bytes, over the limit of {COMMAND_MAX_BYTES}"
        if not message.user_id:
            return "command without user_id: a channel is the RabbitMQ user that publishes it"
        if message.user_id not in self.command_senders:
            return f"command from RabbitMQ user {message.user_id!r}, who is no known channel"
        return None

    async def _lock_first(self, conn: asyncpg.Connection, work: list[_Work]) -> None:
        if self.lock_first is not None:
            await self.lock_first(conn, [w.body for w in work])

    async def _apply_batch(self, work: list[_Work]) -> bool:
        """Apply ``work`` in one transaction; True once committed (the caller acks), False when
        it fell back to one transaction per message (each then settled by :meth:`_apply`)."""
        delay = 0.2
        while True:
            applied: list[_Work] = []
            try:
                async with self.pool.acquire(timeout=10) as conn, conn.transaction():
                    # Before the inbox: two copies handed the same message wait here, in order.
                    await self._lock_first(conn, work)
                    new = await inbox.claim_many(
                        conn, ((w.delivery.message_id, w.delivery.message_type) for w in work)
                    )
                    for w in work:
                        # discard: a second copy of a message in the same batch is a duplicate.
                        if w.delivery.message_id in new:
                            new.discard(w.delivery.message_id)
                            applied.append(w)
                    for run in _runs(applied):
                        await _apply_run(conn, run)
                break
            except Exception as exc:
                # Asked to stop: asyncpg may have let the cancellation out as another error.
                stop_if_cancelled()
                if is_transient(exc) and self._stopping:
                    raise _LeftForRedelivery from exc
                if is_transient(exc):
                    log.warning("temporary failure, retrying the batch in %.1fs: %r", delay, exc)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 5.0)
                    continue
                # Poison or a bug: each message alone, so only the bad one suffers.
                log.info("batch of %d failed (%r): applying them one by one", len(work), exc)
                for w in work:
                    await self._apply(w)
                return False
        for w in work:
            counter = metrics.MESSAGES_CONSUMED if w in applied else metrics.MESSAGES_DUPLICATE
            counter.labels(w.delivery.message_type).inc()
        return True

    async def _apply(self, w: _Work) -> None:
        """Apply one message in its own transaction, then ack, requeue or dead-letter it."""
        message, delivery = w.message, w.delivery
        delay = 0.2
        while True:
            try:
                async with self.pool.acquire(timeout=10) as conn, conn.transaction():
                    await self._lock_first(conn, [w])
                    if await inbox.claim(conn, delivery.message_id, delivery.message_type):
                        await _apply_run(conn, [w])
                        metrics.MESSAGES_CONSUMED.labels(delivery.message_type).inc()
                    else:
                        metrics.MESSAGES_DUPLICATE.labels(delivery.message_type).inc()
                break
            except Poison as exc:
                await self.dead_letter(message, str(exc))
                return
            except Exception as exc:
                stop_if_cancelled()  # as in _apply_batch
                if is_transient(exc) and self._stopping:
                    raise _LeftForRedelivery from exc
                if is_transient(exc):
                    metrics.MESSAGES_FAILED.labels(delivery.message_type, "temporary").inc()
                    log.warning("temporary failure, retrying in %.1fs: %r", delay, exc)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 5.0)
                    continue
                metrics.MESSAGES_FAILED.labels(delivery.message_type, "error").inc()
                deliveries = int((message.headers or {}).get("x-delivery-count") or 0) + 1
                if deliveries >= self.handler_attempts:
                    log.exception("handler failed %d times, dead-lettering", deliveries)
                    await self.dead_letter(message, f"handler error: {exc!r}")
                else:
                    log.exception("handler failed (delivery %d), requeueing", deliveries)
                    await message.nack(requeue=True)
                return
        try:
            await message.ack()
        except aio_pika.exceptions.ChannelInvalidStateError:
            # Its channel closed (broker restart): redelivered, then ignored by the inbox.
            log.warning("ack failed, channel closed: the message will be redelivered")

    async def _ack(self, messages: list[aio_pika.abc.AbstractIncomingMessage]) -> None:
        """Acknowledge ``messages``: one ``multiple`` ack per channel where that is safe."""
        by_channel: dict[int, list[aio_pika.abc.AbstractIncomingMessage]] = {}
        for message in messages:
            channel = _channel_of(message)
            if channel is not None:  # else redelivered by the broker, then ignored by the inbox
                by_channel.setdefault(id(channel), []).append(message)
        for group in by_channel.values():
            last = max(group, key=lambda m: m.delivery_tag or 0)
            try:
                if self._may_ack_up_to(last):
                    await last.ack(multiple=True)
                else:
                    for message in group:
                        await message.ack()
            except Exception as exc:
                # The channel is gone: the broker redelivers these, and the inbox ignores them.
                log.warning("ack failed (%r): the messages will be redelivered", exc)

    def _may_ack_up_to(self, last: aio_pika.abc.AbstractIncomingMessage) -> bool:
        """True when no message of ``last``'s channel delivered before it is still unsettled.

        Everything the loop took before this batch is settled (it runs one batch at a time), so
        only the messages still waiting in ``_arrived`` can be behind ``last``."""
        channel, tag = _channel_of(last), last.delivery_tag or 0
        if channel is None or any(c is channel for c in self._no_multiple):
            return False
        return not any(
            _channel_of(m) is channel and (m.delivery_tag or 0) < tag for m in self._arrived
        )

    async def dead_letter(self, message: aio_pika.abc.AbstractIncomingMessage, reason: str) -> None:
        """Move ``message`` to this service's dead-letter queue with ``reason``, then ack it."""
        log.error(
            "dead-lettering message",
            extra={"message_id": message.message_id, "type": message.type, "reason": reason},
        )
        headers = dict(message.headers or {})
        headers.update(
            {
                "x-milie-reason": reason[:2000],
                "x-milie-service": self.service,
                "x-milie-original-routing-key": message.routing_key or "",
                # Who published it (the dead letter is published by this service's user).
                "x-milie-user-id": message.user_id or "",
            }
        )
        try:
            await self.broker.publish(
                DEAD_LETTER,
                self.service,
                message.body,
                message_id=message.message_id or str(uuid.uuid4()),
                message_type=message.type or "",
                correlation_id=message.correlation_id,
                headers=headers,
                reply_to=message.reply_to,
            )
        except Refused:
            # The dead-letter queue is at its length limit (a flood of bad messages): this one
            # is dropped rather than requeued, which would spin and hold up the good ones.
            log.error(
                "dead-letter queue full: message dropped",
                extra={"message_id": message.message_id, "type": message.type, "reason": reason},
            )
        metrics.MESSAGES_DEAD_LETTERED.labels(message.type or "unknown").inc()
        if self.on_poison is not None:
            try:
                await self.on_poison(message, reason)
            except Exception:
                log.exception("error while answering a poison message")
        await message.ack()
