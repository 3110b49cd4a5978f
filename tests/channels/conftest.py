"""Fixtures of the channel tests: a channel talking to intake over RabbitMQ (its own reply
queue), the fake Orange SMS provider, and the platform with Open311 keys and SMS configured."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

import aio_pika
import aio_pika.abc
import asyncpg
import pytest

from services.intake.app import create_app as intake_app
from services.intake.settings import IntakeSettings
from tests.fakes.orange_sms import FakeOrangeSms
from tests.stack import Stack, start_stack
from tests.support import RunningApp, eventually

OPEN311_KEY = "cle-open311-fixmystreet-0123456789"
OTHER_KEY = "cle-open311-autre-canal-9876543210"
OPEN311_KEYS = {OPEN311_KEY: "fixmystreet-ci", OTHER_KEY: "autre-canal"}
BODY = "ministere-budget"
THEME = "accueil-espace"
PLACE = "abidjan-plateau"


def sms_settings(fake: FakeOrangeSms) -> dict:
    return {
        "sms_enabled": True,  # every process: intake and the gateway then promise the SMS
        "sms_base_url": fake.url,
        "sms_client_id": fake.client_id,
        "sms_client_secret": fake.client_secret,
        "sms_sender": fake.sender,
    }


@pytest.fixture
async def fake_sms() -> AsyncIterator[FakeOrangeSms]:
    async with FakeOrangeSms() as fake:
        yield fake


@pytest.fixture
async def channels_stack(settings_for, smtp_server, fake_sms) -> AsyncIterator[Stack]:
    """The whole platform, with Open311 keys for two channels and SMS through the fake."""
    exits = await start_stack(
        settings_for, smtp_server.port, open311_keys=OPEN311_KEYS, **sms_settings(fake_sms)
    )
    async with exits:
        yield exits.stack  # type: ignore[attr-defined]


@pytest.fixture
async def intake(settings_for) -> AsyncIterator[RunningApp]:
    """Intake alone: enough for the RabbitMQ channel."""
    async with RunningApp(intake_app(settings_for(IntakeSettings, db_pool_min=1))) as app:
        yield app


@pytest.fixture
async def intake_db(database_url) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(database_url, server_settings={"search_path": "intake,public"})
    yield conn
    await conn.close()


def command(external_id: str | None = None, **overrides) -> dict:
    """A valid ``intake.submit.v1`` body."""
    body = {
        "channel": "guichet-unique",
        "external_id": external_id or f"GU-{uuid.uuid4().hex[:8]}",
        "nature": "reclamation",
        "body_id": BODY,
        "theme_id": THEME,
        "place_id": PLACE,
        "message": "Le guichet est fermé aux heures d'ouverture affichées.",
        "contact": {
            "last_name": "KOUASSI",
            "first_names": "Aya",
            "country": "CI",
            "phone": "07 07 12 34 56",
            "email": f"aya.{uuid.uuid4().hex[:6]}@example.ci",
        },
    }
    body.update(overrides)
    return body


@dataclass
class Reply:
    body: dict
    correlation_id: str | None
    message_type: str | None


@dataclass
class ChannelClient:
    """A government channel: publishes commands as its RabbitMQ user (``user_id``), reads the
    replies on its own queue (``<channel>.replies.…``)."""

    connection: aio_pika.abc.AbstractRobustConnection
    channel: aio_pika.abc.AbstractChannel
    exchange: aio_pika.abc.AbstractExchange
    replies: aio_pika.abc.AbstractQueue
    user: str
    received: list[Reply] = field(default_factory=list)

    async def publish(
        self,
        body: dict | bytes,
        *,
        correlation_id: str | None = None,
        message_id: str | None = None,
        message_type: str = "intake.submit.v1",
        reply_to: str | None = "",
        user_id: str | None = "",
    ) -> str:
        """Publish a command (``reply_to`` and ``user_id``: "" for the client's own, None for
        none); returns its correlation id."""
        correlation_id = correlation_id or uuid.uuid4().hex
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        await self.exchange.publish(
            aio_pika.Message(
                raw,
                content_type="application/json",
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                message_id=message_id if message_id is not None else str(uuid.uuid4()),
                type=message_type,
                correlation_id=correlation_id,
                reply_to=self.replies.name if reply_to == "" else reply_to,
                user_id=self.user if user_id == "" else user_id,
            ),
            routing_key="intake.submit",
            mandatory=True,
        )
        return correlation_id

    async def reply(self, correlation_id: str, timeout: float = 30.0) -> Reply:
        async def probe():
            return next((r for r in self.received if r.correlation_id == correlation_id), None)

        return await eventually(probe, timeout=timeout)

    async def submit(self, body: dict | bytes, **kwargs) -> Reply:
        return await self.reply(await self.publish(body, **kwargs))


@contextlib.asynccontextmanager
async def connected_channel(
    amqp_url: str, namespace: str, channel_name: str = "guichet-unique"
) -> AsyncIterator[ChannelClient]:
    """A channel's client on ``amqp_url`` (whose user is the channel's RabbitMQ user)."""
    connection = await aio_pika.connect_robust(amqp_url)
    channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
    exchange = await channel.get_exchange(f"{namespace}.milie.commands", ensure=False)
    replies = await channel.declare_queue(
        f"{channel_name}.replies.{uuid.uuid4().hex}", exclusive=True, auto_delete=True
    )
    user = urlsplit(amqp_url).username or "guest"
    client = ChannelClient(connection, channel, exchange, replies, unquote(user))

    async def on_reply(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        async with message.process():
            client.received.append(
                Reply(json.loads(message.body), message.correlation_id, message.type)
            )

    await replies.consume(on_reply)
    try:
        yield client
    finally:
        await connection.close()


@pytest.fixture
async def channel_client(amqp_url, namespace, intake) -> AsyncIterator[ChannelClient]:
    """Connected once intake runs (it declares the exchange and binds its queue); guest is the
    channel « guichet-unique » in tests."""
    async with connected_channel(amqp_url, namespace) as client:
        yield client


def rabbitmqctl_reaches(amqp_url: str) -> bool:
    """rabbitmqctl speaks to the machine's default node: usable only when that is the broker
    under test (a private one, as `make test` starts on a machine without one, is on 56720)."""
    address = urlsplit(amqp_url)
    return (
        shutil.which("rabbitmqctl") is not None
        and address.hostname in ("127.0.0.1", "localhost")
        and (address.port or 5672) == 5672
    )


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], capture_output=True, text=True, check=True)


@pytest.fixture
def channel_user(amqp_url, namespace) -> Iterator[tuple[str, str]]:
    """A RabbitMQ user of this test with a channel's permissions only (as the AsyncAPI document
    says: write to milie.commands, declare and read its own reply queues); deleted at the end.
    Gives (user, its AMQP URL). The channel it is, in intake's settings, is « autre-canal »."""
    if not rabbitmqctl_reaches(amqp_url):
        pytest.skip("rabbitmqctl does not reach the broker under test")
    user, password = f"test-{namespace}", uuid.uuid4().hex
    address = urlsplit(amqp_url)
    vhost = unquote(address.path[1:]) or "/"
    rabbitmqctl("add_user", user, password)
    try:
        own = r"^autre-canal\.replies(\..*)?$"
        commands = f"^{re.escape(namespace)}\\.milie\\.commands$"
        rabbitmqctl("set_permissions", "-p", vhost, user, own, commands, own)
        netloc = f"{user}:{password}@{address.hostname}:{address.port or 5672}"
        yield user, address._replace(netloc=netloc).geturl()
    finally:
        rabbitmqctl("delete_user", user)
