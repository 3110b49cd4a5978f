"""Consuming: validate, apply once (inbox), then acknowledge.

- A message whose type is unknown or whose body fails its contract can never succeed: it goes to
  the service's dead-letter queue once, with the reason in the ``x-milie-reason`` header, and is
  acknowledged so the queue keeps flowing.
- A temporary failure (the database is down) is retried here, holding the message, until it
  succeeds: it never counts toward the delivery limit and is never dead-lettered.
- Any other handler error is requeued; after ``handler_attempts`` deliveries it is dead-lettered
  with the error as reason. The broker's own delivery limit is the last guard (crash loops).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aio_pika.abc
import asyncpg
from pydantic import ValidationError

from shared import inbox, logs, metrics
from shared.broker import Broker
from shared.db import is_transient
from shared.messages import CONTRACTS, Contract
from shared.topology import DEAD_LETTER, EVENTS

log = logging.getLogger(__name__)
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


Handler = Callable[[asyncpg.Connection, Any, Delivery], Awaitable[None]]


class Poison(Exception):
    """Raised by a handler for a message that can never succeed; it is dead-lettered at once."""


class Consumer:
    def __init__(
        self,
        *,
        service: str,
        pool: asyncpg.Pool,
        broker: Broker,
        handlers: Mapping[str, Handler],
        bindings: list[tuple[str, str]],
        prefetch: int = 32,
        delivery_limit: int = 20,
        handler_attempts: int = 5,
        on_poison: Callable[[aio_pika.abc.AbstractIncomingMessage, str], Awaitable[None]]
        | None = None,
        fault_kill_after_commit: str = "",
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
        self.prefetch = prefetch
        self.delivery_limit = delivery_limit
        self.handler_attempts = handler_attempts
        self.on_poison = on_poison
        self.fault_kill_after_commit = fault_kill_after_commit
        self._channel: aio_pika.abc.AbstractChannel | None = None
        self._stopping = False

    async def start(self) -> None:
        self._channel = await self.broker.channel(self.prefetch)
        queue = await self.broker.declare_service_queue(
            self._channel, self.service, self.bindings, self.delivery_limit
        )
        await queue.consume(self.on_message)

    async def stop(self) -> None:
        self._stopping = True
        if self._channel is not None and not self._channel.is_closed:
            await self._channel.close()

    async def on_message(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        token = logs.correlation_id.set(message.correlation_id)
        try:
            await self._handle(message)
        finally:
            logs.correlation_id.reset(token)

    async def _handle(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        type_name = message.type or ""
        versioned = _TYPE.fullmatch(type_name)
        if (
            versioned is not None
            and versioned.group(1) not in self._names_handled
            and message.exchange == self.broker.topology.exchange(EVENTS)
        ):
            # An event bound by a wider routing key (request.#) but not for us, maybe newer than
            # this copy of the service: nothing to do. A command is never ignored this way.
            await message.ack()
            return
        contract = CONTRACTS.get(type_name)
        handler = self.handlers.get(type_name)
        if contract is None or handler is None:
            await self.dead_letter(message, f"unknown message type {type_name!r}")
            return
        try:
            message_id = uuid.UUID(message.message_id or "")
        except ValueError:
            await self.dead_letter(message, "message_id missing or not a UUID")
            return
        try:
            body = contract.model_validate_json(message.body)
        except ValidationError as exc:
            reason = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()
            )
            await self.dead_letter(message, f"invalid {type_name}: {reason}")
            return
        delivery = Delivery(
            message_id=message_id,
            message_type=type_name,
            routing_key=message.routing_key or "",
            correlation_id=message.correlation_id,
            reply_to=message.reply_to,
            headers=dict(message.headers or {}),
            app_id=message.app_id,
        )
        await self._apply(message, handler, body, delivery)

    async def _apply(
        self,
        message: aio_pika.abc.AbstractIncomingMessage,
        handler: Handler,
        body: Contract,
        delivery: Delivery,
    ) -> None:
        delay = 0.2
        while True:
            try:
                async with self.pool.acquire(timeout=10) as conn, conn.transaction():
                    if await inbox.claim(conn, delivery.message_id, delivery.message_type):
                        await handler(conn, body, delivery)
                        metrics.MESSAGES_CONSUMED.labels(delivery.message_type).inc()
                    else:
                        metrics.MESSAGES_DUPLICATE.labels(delivery.message_type).inc()
                break
            except Poison as exc:
                await self.dead_letter(message, str(exc))
                return
            except Exception as exc:
                if is_transient(exc) and not self._stopping:
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
        if self.fault_kill_after_commit == delivery.message_type:
            log.warning("fault injection: killed after commit, before ack")
            os.kill(os.getpid(), signal.SIGKILL)
        await message.ack()

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
            }
        )
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
        metrics.MESSAGES_DEAD_LETTERED.labels(message.type or "unknown").inc()
        if self.on_poison is not None:
            try:
                await self.on_poison(message, reason)
            except Exception:
                log.exception("error while answering a poison message")
        await message.ack()
