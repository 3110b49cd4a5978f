"""Helpers the tests share: waiting for a condition, free ports, running an app, the broker."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aio_pika
from aiohttp import web

T = TypeVar("T")

SERVICES = ("intake", "triage", "treatment", "notify", "stats")
# Settings a process accepts with env="production" (it refuses the development secrets).
PRODUCTION_SECRETS = {
    "identity_secret": "test-identity-secret-of-at-least-32-bytes",
    "form_secret": "test-form-secret-of-at-least-32-bytes-too",
}


async def eventually(
    probe: Callable[[], Awaitable[T]], *, timeout: float = 30.0, interval: float = 0.1
) -> T:
    """Poll ``probe`` until it returns something truthy; fail with its last answer otherwise.

    The deadline is a guard against hanging, not an assertion on speed.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last: Any = None
    while True:
        last = await probe()
        if last:
            return last
        if loop.time() > deadline:
            raise AssertionError(f"condition not reached; last value: {last!r}")
        await asyncio.sleep(interval)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RunningApp:
    """An aiohttp app served on a free local port, with its startup (cleanup_ctx) run."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.port = free_port()
        self.runner = web.AppRunner(app, access_log=None)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> RunningApp:
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.runner.cleanup()


async def delete_namespace(amqp_url: str, namespace: str) -> None:
    """Remove the queues and exchanges a test created under its namespace."""
    connection = await aio_pika.connect(amqp_url)
    try:
        for service in (*SERVICES, "gateway", "probe"):
            for name in (
                f"{namespace}.milie.{service}",
                f"{namespace}.milie.{service}.dead-letter",
            ):
                channel = await connection.channel()
                try:
                    await channel.queue_delete(name)
                except Exception:
                    pass
        for logical in ("events", "commands", "dead-letter"):
            channel = await connection.channel()
            try:
                await channel.exchange_delete(f"{namespace}.milie.{logical}")
            except Exception:
                pass
    finally:
        await connection.close()


async def dead_letters(
    amqp_url: str, queue_name: str
) -> list[aio_pika.abc.AbstractIncomingMessage]:
    """Read (and ack) everything waiting in a dead-letter queue."""
    connection = await aio_pika.connect(amqp_url)
    out = []
    try:
        channel = await connection.channel()
        queue = await channel.get_queue(queue_name, ensure=True)
        while (message := await queue.get(fail=False, no_ack=True)) is not None:
            out.append(message)
    finally:
        await connection.close()
    return out


async def publish_event(
    amqp_url: str,
    namespace: str,
    contract,
    *,
    message_id: str | None = None,
    message_type: str | None = None,
    body: bytes | None = None,
    routing_key: str | None = None,
) -> str:
    """Publish one event on the test's ``milie.events`` the way a service's relay does.

    ``body``/``message_type`` override what is sent, to publish malformed messages.
    """
    from shared.broker import Broker
    from shared.topology import EVENTS, Topology

    broker = Broker(amqp_url, Topology(namespace), "tests")
    await broker.connect()
    message_id = message_id or str(uuid.uuid4())
    try:
        await broker.publish(
            EVENTS,
            routing_key or contract.name,
            body if body is not None else contract.model_dump_json().encode(),
            message_id=message_id,
            message_type=message_type or contract.type_name(),
            correlation_id=uuid.uuid4().hex,
        )
    finally:
        await broker.close()
    return message_id


def submitted_event(**overrides):
    """A valid ``request.submitted.v1`` for tests, with overridable fields."""
    from datetime import UTC, datetime

    from shared.codes import new_code
    from shared.messages import Channel, Contact, Nature, RequestSubmittedV1

    values = {
        "request_id": uuid.uuid4(),
        "code": new_code(),
        "nature": Nature.RECLAMATION,
        "body_id": "ministere-budget",
        "body_name": "Ministère du budget et du Portefeuille de l'Etat",
        "theme_id": "accueil-espace",
        "theme_label": "ACCUEIL : Espace d'accueil",
        "channel": Channel.WEB,
        "message": "L'accueil est décevant, la file d'attente est longue.",
        "contact": Contact(
            last_name="KOUASSI",
            first_names="Aya",
            country="CI",
            phone="+2250707123456",
            email=f"aya.{uuid.uuid4().hex[:6]}@example.ci",
        ),
        "submitted_at": datetime.now(UTC),
    }
    values.update(overrides)
    return RequestSubmittedV1(**values)
