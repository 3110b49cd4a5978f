"""RabbitMQ: a robust connection, the design's topology, confirmed persistent publishing.

Traps this module exists to avoid (see CONVENTIONS): aio-pika messages are not persistent by
default, and a mandatory publish that no queue receives is dropped silently unless the channel
raises on returns. Here every message is persistent, every publish waits for the broker's
confirm, an unroutable publish raises :class:`Unroutable`, and a publish the broker refuses
(a nack: a queue at its length limit, which the policy of ``Topology.limits_policy`` sets to
refuse rather than grow) raises :class:`Refused` — never taken for sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aio_pika
import aio_pika.abc
import aio_pika.exceptions
import aiormq
import aiormq.exceptions
from aio_pika import DeliveryMode, ExchangeType

from shared import metrics
from shared.db import stop_if_cancelled
from shared.topology import COMMANDS, DEAD_LETTER, DEFAULT, EVENTS, Topology

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Publisher:
    channel: aio_pika.abc.AbstractChannel
    exchanges: dict[str, aio_pika.abc.AbstractExchange]


class Unroutable(Exception):
    """The broker returned the message: no queue is bound for it."""


class Refused(Exception):
    """The broker nacked the message: a queue it was routed to is full (or the broker failed to
    store it). Not sent: publish it again later."""


class Broker:
    def __init__(
        self, url: str, topology: Topology, app_id: str, publish_channels: int = 4
    ) -> None:
        self.url = url
        self.topology = topology
        self.app_id = app_id
        self.publish_channels = publish_channels
        self.connection: aio_pika.abc.AbstractRobustConnection | None = None
        # aiormq writes one message at a time per channel: several channels, used in turn, keep
        # a busy relay from queueing behind a single one (measured: ~150 events/s on one).
        self._publishers: list[_Publisher] = []
        self._turn = itertools.count()

    async def connect(self) -> None:
        """Connect (waiting for the broker to answer) and declare the shared exchanges."""
        delay = 0.2
        while True:
            try:
                self.connection = await aio_pika.connect_robust(
                    self.url, client_properties={"connection_name": self.app_id}
                )
                break
            except (OSError, aio_pika.exceptions.AMQPConnectionError) as exc:
                stop_if_cancelled()  # a process stopped while it starts
                log.warning("broker not ready (%s), retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        for _ in range(self.publish_channels):
            channel = await self.connection.channel(publisher_confirms=True, on_return_raises=True)
            self._publishers.append(_Publisher(channel, await self._declare_exchanges(channel)))

    async def _declare_exchanges(
        self, channel: aio_pika.abc.AbstractChannel
    ) -> dict[str, aio_pika.abc.AbstractExchange]:
        kinds = {EVENTS: ExchangeType.TOPIC, COMMANDS: ExchangeType.TOPIC}
        kinds[DEAD_LETTER] = ExchangeType.DIRECT
        exchanges = {}
        for logical, kind in kinds.items():
            exchanges[logical] = await channel.declare_exchange(
                self.topology.exchange(logical), kind, durable=True
            )
        exchanges[DEFAULT] = channel.default_exchange
        return exchanges

    async def declare_service_queue(
        self,
        channel: aio_pika.abc.AbstractChannel,
        service: str,
        bindings: Iterable[tuple[str, str]],
        delivery_limit: int,
        obsolete_bindings: Iterable[tuple[str, str]] = (),
    ) -> aio_pika.abc.AbstractQueue:
        """Declare the service's quorum queue, its dead-letter queue and the bindings.

        ``obsolete_bindings``: bindings an older release declared and this one no longer wants;
        removed (a queue keeps its bindings across restarts, and AMQP cannot list them)."""
        bindings = list(bindings)
        dead_letter_exchange = await channel.declare_exchange(
            self.topology.exchange(DEAD_LETTER), ExchangeType.DIRECT, durable=True
        )
        dlq = await channel.declare_queue(
            self.topology.dead_letter_queue(service),
            durable=True,
            arguments=self.topology.dead_letter_queue_arguments(),
        )
        await dlq.bind(dead_letter_exchange, routing_key=service)
        queue = await channel.declare_queue(
            self.topology.queue(service),
            durable=True,
            arguments=self.topology.queue_arguments(service, delivery_limit),
        )
        for logical, routing_key in bindings:
            exchange = await channel.declare_exchange(
                self.topology.exchange(logical), ExchangeType.TOPIC, durable=True
            )
            await queue.bind(exchange, routing_key=routing_key)
        for logical, routing_key in obsolete_bindings:
            if (logical, routing_key) in bindings:
                continue
            exchange = await channel.declare_exchange(
                self.topology.exchange(logical), ExchangeType.TOPIC, durable=True
            )
            await queue.unbind(exchange, routing_key=routing_key)  # absent: not an error
        return queue

    async def channel(self, prefetch: int) -> aio_pika.abc.AbstractChannel:
        assert self.connection is not None
        channel = await self.connection.channel()
        await channel.set_qos(prefetch_count=prefetch)
        return channel

    @property
    def is_connected(self) -> bool:
        return (
            self.connection is not None
            and not self.connection.is_closed
            and bool(self._publishers)
            and all(not p.channel.is_closed for p in self._publishers)
        )

    async def publish(
        self,
        exchange: str,
        routing_key: str,
        body: bytes,
        *,
        message_id: str,
        message_type: str,
        correlation_id: str | None = None,
        headers: Mapping[str, Any] | None = None,
        reply_to: str | None = None,
        timestamp: datetime | None = None,
        timeout: float = 10.0,
    ) -> None:
        """Publish one persistent message and wait for the broker's confirm.

        Raises :class:`Unroutable` when no queue receives it, :class:`Refused` when the broker
        nacks it (a full queue), and an aio-pika/OS error when the broker is unreachable.
        """
        if not self._publishers:
            raise RuntimeError("broker not connected")
        publisher = self._publishers[next(self._turn) % len(self._publishers)]
        properties = aiormq.spec.Basic.Properties(
            content_type="application/json",
            delivery_mode=DeliveryMode.PERSISTENT.value,
            message_id=message_id,
            message_type=message_type,
            correlation_id=correlation_id,
            app_id=self.app_id,
            # An empty table still costs its encoding on every message: sent only when needed.
            headers=dict(headers) if headers else None,
            reply_to=reply_to,
            timestamp=timestamp or datetime.now(UTC),
        )
        try:
            # The channel under aio-pika's robust one, with the same checks as its
            # Exchange.publish, and ``wait=False``: the channel's lock is released once the frames
            # are queued instead of after the connection's writer task has written them, so the
            # relay's concurrent publishes no longer take turns through the event loop (under
            # load a batch of 200 took 2 s on four channels). The broker's confirm is still
            # awaited for each message.
            # The timeout covers the wait for a reconnecting connection too: a publish during a
            # broker outage fails (the outbox row is retried) instead of hanging.
            if publisher.channel.is_closed:
                raise aiormq.exceptions.ChannelInvalidStateError("publish channel closed")
            async with asyncio.timeout(timeout):
                channel = await publisher.channel.get_underlay_channel()
                await channel.basic_publish(
                    body,
                    exchange=publisher.exchanges[exchange].name,
                    routing_key=routing_key,
                    properties=properties,
                    mandatory=True,
                    wait=False,
                )
        except aiormq.exceptions.PublishError as exc:
            raise Unroutable(f"no queue for {exchange or 'default'}/{routing_key}") from exc
        except aiormq.exceptions.DeliveryError as exc:  # a basic.nack
            raise Refused(f"refused by the broker: {exchange or 'default'}/{routing_key}") from exc
        metrics.MESSAGES_PUBLISHED.labels(message_type or "unknown").inc()

    async def close(self) -> None:
        if self.connection is not None:
            # Stopping never waits forever on a broker that does not answer the close.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.connection.close(), 5)
