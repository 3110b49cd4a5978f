"""The lifecycle every service shares, built into the aiohttp app's ``cleanup_ctx``.

Start: database pool, migrations, broker and topology, outbox relay, consumer. Stop in reverse,
only for what started. A service module gives a :class:`ServiceSpec` and adds its own routes.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import aio_pika.abc
import asyncpg
import uvloop
from aiohttp import web

from shared import db, inbox, logs, periodic, signing
from shared.broker import Broker
from shared.consumer import Consumer, Entry
from shared.lock_order import LockFirst
from shared.messages import COMMAND_TYPES
from shared.migrations import migrate
from shared.outbox import OutboxRelay
from shared.settings import ServiceSettings
from shared.topology import COMMANDS, EVENTS, Topology
from shared.web import READY_CHECKS, add_operations_routes, correlation_header, observe

log = logging.getLogger(__name__)
T = TypeVar("T")

# The settings as every service has them; a service reads its own fields through its own key
# (``services.<name>.settings.SETTINGS``), set by its create_app.
SETTINGS = web.AppKey("settings", ServiceSettings)
POOL = web.AppKey("pool", asyncpg.Pool)
BROKER = web.AppKey("broker", Broker)
CONSUMER = web.AppKey("consumer", Consumer)


# Message names sent on ``milie.commands`` rather than ``milie.events`` (shared.messages' list).
_COMMAND_NAMES = frozenset(type_name.rpartition(".v")[0] for type_name in COMMAND_TYPES)


def bindings_of(handlers: Mapping[str, Entry]) -> list[tuple[str, str]]:
    """One (exchange, routing key) per message name the handler table names, every version of a
    name sharing its key: a service is sent what it handles and nothing else, and the table and
    the bindings cannot drift apart."""
    names = sorted({type_name.rpartition(".v")[0] for type_name in handlers})
    return [(COMMANDS if name in _COMMAND_NAMES else EVENTS, name) for name in names]


@dataclass
class ServiceSpec:
    name: str  # the schema, the queue and the app_id
    sql_dir: Path | None
    handlers: Mapping[str, Entry] = field(default_factory=dict)
    # None: derived from ``handlers`` (:func:`bindings_of`). No bindings, no consumer.
    bindings: list[tuple[str, str]] | None = None
    # Bindings an older release declared and this one no longer wants: removed at start.
    obsolete_bindings: list[tuple[str, str]] = field(default_factory=list)
    uses_broker: bool = True
    # False: /metrics is not answered on the HTTP port (the gateway's is public; it serves them
    # on a listener of its own).
    metrics_on_http_port: bool = True
    on_poison: Callable[[aio_pika.abc.AbstractIncomingMessage, str], object] | None = None
    # RabbitMQ user -> channel: who may send this service commands (see shared.consumer).
    command_senders: Mapping[str, str] = field(default_factory=dict)
    # The locks the consumer's transactions take first, in a fixed order (shared.lock_order).
    lock_first: LockFirst | None = None

    def __post_init__(self) -> None:
        if self.bindings is None:
            self.bindings = bindings_of(self.handlers)

    # A service answers only calls the gateway signed (shared.signing); the gateway, public,
    # is the one process that does not.
    signed_calls_only: bool = True


def connection(request: web.Request) -> asyncpg.pool.PoolAcquireContext:
    """``async with connection(request) as conn``: a connection of the service's pool for the
    work of one request, waited for ``db_acquire_timeout`` at most (never forever)."""
    return request.app[POOL].acquire(timeout=request.app[SETTINGS].db_acquire_timeout)


async def transaction(
    request: web.Request, work: Callable[[asyncpg.Connection], Awaitable[T]]
) -> T:
    """``work(conn)`` in one transaction of the service's pool, retried whole when the database
    failed it transiently (``shared.db.run_in_transaction``): what a handler that writes calls."""
    return await db.run_in_transaction(
        request.app[POOL], work, acquire_timeout=request.app[SETTINGS].db_acquire_timeout
    )


async def without_transaction(
    request: web.Request, work: Callable[[asyncpg.Connection], Awaitable[T]]
) -> T:
    """:func:`transaction` for work whose writes are one statement, atomic by itself
    (``shared.db.run_without_transaction``): BEGIN and COMMIT would add two round trips."""
    return await db.run_without_transaction(
        request.app[POOL], work, acquire_timeout=request.app[SETTINGS].db_acquire_timeout
    )


def create_service_app(
    settings: ServiceSettings, spec: ServiceSpec, middlewares: tuple = ()
) -> web.Application:
    """An app with operations routes and the shared lifecycle; add routes and contexts to it.

    Unless ``spec.signed_calls_only`` is off, every route but the operations ones answers only
    signed calls (``shared.signing``); the refusal passes through the service's ``middlewares``
    (triage's audit log records it)."""
    checks = (_signed_calls(settings, spec),) if spec.signed_calls_only else ()
    app = web.Application(middlewares=[observe, *middlewares, *checks], client_max_size=2 * 1024**2)
    app.on_response_prepare.append(correlation_header)
    app[SETTINGS] = settings
    app[READY_CHECKS] = {}
    add_operations_routes(app, metrics=spec.metrics_on_http_port)
    app.cleanup_ctx.append(_database(spec))
    if spec.signed_calls_only:
        app[signing.SIGNED_FOR] = spec.name
        app.cleanup_ctx.append(_forget_expired_calls)
    if spec.uses_broker:
        app.cleanup_ctx.append(_messaging(spec))
        app.cleanup_ctx.append(_forget_old_messages)
    return app


# The inbox's ids past ``inbox_kept_days`` (shared.inbox), every ``retention_sweep_seconds``.
_forget_old_messages = periodic.every(
    "inbox-retention",
    lambda app: app[SETTINGS].retention_sweep_seconds,
    lambda app: inbox.forget_old(app[POOL], app[SETTINGS].inbox_kept_days),
)


def _signed_calls(settings: ServiceSettings, spec: ServiceSpec):
    secret = settings.identity_secret.get_secret_value().encode()
    batcher = signing.NonceBatcher(settings.db_acquire_timeout)

    async def claim(request: web.Request, nonce: str, expires: int) -> bool:
        return await batcher.claim(request.app[POOL], nonce, expires)

    return signing.middleware(secret, spec.name, claim)


# The one-time ids of expired signed calls, every half minute (in one copy at a time or in
# several: the delete is idempotent).
_forget_expired_calls = periodic.every(
    "forget-expired-calls",
    lambda app: signing.LIFETIME_SECONDS / 2,
    lambda app: signing.forget_expired(app[POOL], app[SETTINGS].db_acquire_timeout),
)


def _database(spec: ServiceSpec):
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        settings = app[SETTINGS]
        pool = await db.create_pool(
            settings.database_url,
            spec.name,
            min_size=settings.db_pool_min,
            max_size=settings.db_pool_max,
            command_timeout=settings.db_command_timeout,
        )
        async with pool.acquire() as conn:
            await migrate(conn, spec.name, spec.sql_dir)
        app[POOL] = pool
        app[READY_CHECKS]["database"] = lambda: db.ping(pool)
        yield
        await pool.close()

    return ctx


def _messaging(spec: ServiceSpec):
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        settings = app[SETTINGS]
        broker = Broker(settings.amqp_url, Topology(settings.broker_namespace), spec.name)
        await broker.connect()
        app[BROKER] = broker

        async def broker_ready() -> bool:
            return broker.is_connected

        app[READY_CHECKS]["broker"] = broker_ready
        # The relay has its own two connections (one LISTENs, one publishes batches) so that it
        # never waits behind the HTTP requests for a connection of the main pool.
        relay_pool = await db.create_pool(
            settings.database_url,
            spec.name,
            min_size=2,
            max_size=2,
            command_timeout=settings.db_command_timeout,
        )
        relay = OutboxRelay(
            relay_pool,
            broker,
            spec.name,
            batch=settings.outbox_batch,
            poll_seconds=settings.outbox_poll_seconds,
            linger_seconds=settings.outbox_linger_seconds,
        )
        relay_task = asyncio.create_task(relay.run(), name=f"{spec.name}-outbox-relay")
        consumer = None
        if spec.bindings:
            consumer = Consumer(
                service=spec.name,
                pool=app[POOL],
                broker=broker,
                handlers=spec.handlers,
                bindings=spec.bindings,
                obsolete_bindings=spec.obsolete_bindings,
                prefetch=settings.consumer_prefetch,
                batch_size=settings.consumer_batch,
                batch_linger=settings.consumer_batch_linger_seconds,
                delivery_limit=settings.delivery_limit,
                handler_attempts=settings.handler_attempts,
                on_poison=spec.on_poison,
                command_senders=spec.command_senders,
                lock_first=spec.lock_first,
            )
            await consumer.start()
            app[CONSUMER] = consumer
        yield
        if consumer is not None:
            await consumer.stop()
        relay_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await relay_task
        await relay_pool.close()
        await broker.close()

    return ctx


def parser_limits(app: web.Application) -> dict[str, int]:
    """aiohttp's HTTP parser options for ``app`` (its runner's keyword arguments): a signed
    call's envelope holds its path and query (shared.signing), so a signed service reads longer
    header lines; the public gateway keeps aiohttp's 8 KiB. The tests serve the apps with them
    too (``tests.support.RunningApp``)."""
    return {"max_field_size": signing.MOST_HEADER_BYTES} if signing.SIGNED_FOR in app else {}


def run(app: web.Application, settings: ServiceSettings, service: str) -> None:
    """Serve ``app`` until SIGINT/SIGTERM; logs go to stderr as JSON lines."""
    logs.configure(service, settings.log_level, settings.log_format)
    log.info("starting", extra={"host": settings.http_host, "port": settings.http_port})
    # What exists now (modules, contracts, templates) lives as long as the process: keep the
    # collector from walking it again and again, and collect the young generation less often
    # (each request allocates thousands of short-lived objects; 700 made it run every few).
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)
    web.run_app(
        app,
        host=settings.http_host,
        port=settings.http_port,
        print=None,
        access_log=None,
        shutdown_timeout=5,
        **parser_limits(app),
        # uvloop's C event loop: less CPU in the loop, the transports and the protocol
        # callbacks (bench.load on a 2-core machine: 116 → 134-155 submissions/s).
        loop=uvloop.new_event_loop(),
    )
