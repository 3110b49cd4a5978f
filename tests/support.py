"""Helpers the tests share: waiting for a condition, free ports, running an app, signing calls to
it, the broker."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import socket
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import aio_pika
import aiohttp
import hypothesis
from aiohttp import web
from aiohttp.payload import BytesPayload
from yarl import URL

from shared import signing
from shared.identity import Identity, Role
from shared.service import SETTINGS, parser_limits

T = TypeVar("T")

SERVICES = ("intake", "triage", "treatment", "notify", "stats")
# The service of the messaging backbone's own tests (tests/shared).
PROBE = "probe"
# Settings a process accepts with env="production" (it refuses the development secrets).
PRODUCTION_SECRETS = {
    "identity_secret": "test-identity-secret-of-at-least-32-bytes",
    "form_secret": "test-form-secret-of-at-least-32-bytes-too",
    "second_factor_required": True,  # the gateway's; production refuses it off
}

# Intake's submission limits for tests other than the limits' own (tests/abuse): tests submit
# many requests from one address, with one email; no proof of work is asked.
RELAXED_SUBMISSION_LIMITS = {
    "submissions_per_client": 1_000_000,
    "submissions_per_email": 1_000_000,
    "submissions_per_phone": 1_000_000,
    "suspicion_per_client": 1_000_000,
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


# Ports a test listens on are picked below the kernel's ephemeral range (32768 and up here), out
# of which every outgoing connection on the machine takes its local port: a port the kernel
# handed out as free was now and then taken by such a connection before the test's server bound
# it (« address already in use » in a full run beside other runs).
_LISTEN_PORTS = range(20000, 32000)


def _worker_ports(ports: range) -> range:
    """This pytest-xdist worker's share of ``ports`` (all of them outside xdist): a port handed
    out by one worker and not bound yet is free to the kernel, and another worker could be handed
    it too."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # gw0, gw1, …
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if not worker.startswith("gw") or count <= 1:
        return ports
    share = len(ports) // count
    start = ports.start + int(worker[2:]) * share
    return range(start, start + share)


_LISTEN_PORTS = _worker_ports(_LISTEN_PORTS)


# Ports handed out by this run: a port picked for a server not started yet is free to the
# kernel, and was once handed out again to another server of the same run (« address already in
# use » when the second one started).
_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A port nobody listens on now, for a server the test starts next."""
    for port in random.sample(_LISTEN_PORTS, 50):
        if port in _HANDED_OUT:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            _HANDED_OUT.add(port)
            return port
    with socket.socket() as s:  # that crowded: let the kernel choose
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Port → (service, secret) of the apps running in this process that answer only signed calls.
_SIGNED_APPS: dict[int, tuple[str, bytes]] = {}
SIGN_AS = "X-Test-Sign-As"  # read and removed by :func:`signer`, never sent
SIGNED_HEADERS = ("X-Draft-Owner",)  # signed into the envelope when a call has them
STREAMED_ROUTES = re.compile(
    r"^/drafts/[^/]+/files$|^/requests/[^/]+/documents$"
)  # routes marked shared.signing.streamed


def as_staff(
    identity: Identity | None = None,
    *,
    client_address: str | None = None,
    channel: str | None = None,
    channel_name: str | None = None,
) -> dict[str, str]:
    """Headers that make :func:`signer` sign this call for ``identity`` (and the address,
    channel) instead of its defaults."""
    who = None
    if identity is not None:
        who = {
            "staff_id": identity.staff_id,
            "role": identity.role.value,
            "body_id": identity.body_id,
            "login": identity.login,
        }
    envelope = {
        "identity": who,
        "client_address": client_address,
        "channel": channel,
        "channel_name": channel_name,
    }
    return {SIGN_AS: json.dumps({k: v for k, v in envelope.items() if v is not None})}


def signer(
    *,
    service: str | None = None,
    secret: bytes | None = None,
    client_address: str = "127.0.0.1",
    channel: str | None = None,
) -> aiohttp.ClientMiddlewareType:
    """A client middleware that signs every call to a service app running in this test (found by
    its port; ``service``/``secret`` for one running elsewhere) as the gateway would: the body
    hashed, or ``UNSIGNED-STREAM`` when it is a stream or goes to intake's streamed route. A call
    that carries its own ``X-Milie-Call`` is sent as it is; :func:`as_staff` headers name the
    staff member."""

    async def middleware(
        request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
    ) -> aiohttp.ClientResponse:
        given = request.headers.pop(SIGN_AS, None)
        known = _SIGNED_APPS.get(request.url.port or 0)
        name, key = (service, secret) if service and secret else (known or (None, None))
        if name and key and signing.HEADER not in request.headers:
            envelope = {"client_address": client_address, "channel": channel}
            envelope.update(json.loads(given) if given else {})
            who = envelope.get("identity")
            body = request.body
            data: bytes | None = b""
            to_stream_route = STREAMED_ROUTES.match(request.url.path)
            if to_stream_route or (body and not isinstance(body, BytesPayload)):
                data = None  # a file, sent to the streamed route as the gateway streams it
            elif body:
                data = await body.as_bytes()
            request.headers.update(
                signing.sign_call(
                    key,
                    name,
                    request.method,
                    request.url.raw_path_qs,
                    data,
                    client_address=envelope.get("client_address"),
                    channel=envelope.get("channel"),
                    channel_name=envelope.get("channel_name"),
                    identity=Identity(
                        who["staff_id"], Role(who["role"]), who.get("body_id"), who.get("login")
                    )
                    if who
                    else None,
                    headers={h: request.headers[h] for h in SIGNED_HEADERS if h in request.headers},
                )
            )
        return await handler(request)

    return middleware


def signed_headers_for(
    port: int, method: str, target: str, body: bytes | None, **envelope: Any
) -> dict[str, str]:
    """The signature of one call to the service app on ``port``, for a test that writes its HTTP
    by hand (below aiohttp, where :func:`signer` cannot see it)."""
    service, secret = _SIGNED_APPS[port]
    return signing.sign_call(secret, service, method, target, body, **envelope)


@contextlib.contextmanager
def signing_for(urls: dict[str, str], secret: bytes) -> Iterator[None]:
    """Have :func:`signer` sign calls to services running in other processes: ``urls`` maps a
    service's name to its base URL."""
    ports = {URL(url).port or 0: name for name, url in urls.items() if name in SERVICES}
    _SIGNED_APPS.update({port: (name, secret) for port, name in ports.items()})
    try:
        yield
    finally:
        for port in ports:
            _SIGNED_APPS.pop(port, None)


def signed_session(**kwargs: Any) -> aiohttp.ClientSession:
    """An aiohttp session whose calls to the services are signed (:func:`signer`)."""
    sign = {k: kwargs.pop(k) for k in ("service", "secret", "client_address") if k in kwargs}
    return aiohttp.ClientSession(middlewares=(signer(**sign),), **kwargs)


class RunningApp:
    """An aiohttp app served on a free local port, with its startup (cleanup_ctx) run; a service
    app's calls are signed by :func:`signer`."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.port = free_port()
        # At a test's end nothing waits for an answer any more; what a longer timeout waited for
        # was aiohttp's read of what is left of a body the app answered early (a stalled upload):
        # it goes on for 10 s even once the client has closed the connection.
        self.runner = web.AppRunner(
            app, access_log=None, shutdown_timeout=1.0, **parser_limits(app)
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> RunningApp:
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
        if signing.SIGNED_FOR in self.app:
            secret = self.app[SETTINGS].identity_secret.get_secret_value().encode()
            _SIGNED_APPS[self.port] = (self.app[signing.SIGNED_FOR], secret)
        return self

    async def __aexit__(self, *exc: object) -> None:
        _SIGNED_APPS.pop(self.port, None)
        await self.runner.cleanup()


async def _connect_for_cleanup(amqp_url: str, attempts: int = 3) -> aio_pika.abc.AbstractConnection:
    """A connection for a test's cleanup. On a machine loaded far past its cores, the broker can
    close a connection whose client did not finish the handshake within its 10 s (seen: a
    teardown's « Connection lost », the broker logging ``handshake_timeout``): try again, since
    a cleanup that fails marks a passed test as an error."""
    for attempt in range(1, attempts + 1):
        try:
            return await aio_pika.connect(amqp_url)
        except (ConnectionError, aio_pika.exceptions.AMQPConnectionError):
            if attempt == attempts:
                raise
    raise AssertionError("unreachable")


async def delete_namespace(amqp_url: str, namespace: str) -> None:
    """Remove the queues and exchanges a test created under its namespace."""
    connection = await _connect_for_cleanup(amqp_url)
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


async def publish_events(amqp_url: str, namespace: str, events) -> None:
    """Publish ``events`` in their order on the test's ``milie.events``, over one connection (as
    a busy relay does: back to back)."""
    from shared.broker import Broker
    from shared.topology import EVENTS, Topology

    broker = Broker(amqp_url, Topology(namespace), "tests")
    await broker.connect()
    try:
        for event in events:
            await broker.publish(
                EVENTS,
                event.name,
                event.model_dump_json().encode(),
                message_id=str(uuid.uuid4()),
                message_type=event.type_name(),
                correlation_id=uuid.uuid4().hex,
            )
    finally:
        await broker.close()


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


def validated_event(submitted, **overrides):
    """The ``request.validated.v1`` an analyst's validation of ``submitted`` publishes, with
    overridable fields."""
    from datetime import UTC, datetime

    from shared.messages import Actor, RequestValidatedV1

    kept = {"request_id", "code", "nature", "body_id", "body_name", "theme_id", "theme_label"}
    kept |= {"message"}
    values = {
        **submitted.model_dump(include=kept | {"contact", "submitted_at"}),
        "needs_treatment": submitted.nature.needs_treatment,
        "actor": Actor(staff_id="an-1", role="analyst"),
        "decided_at": datetime.now(UTC),
    }
    values.update(overrides)
    return RequestValidatedV1(**values)


def delivery_of(event, message_id: uuid.UUID | None = None):
    """The consumer's ``Delivery`` of ``event``, to call a handler as the consumer does."""
    from shared.consumer import Delivery

    return Delivery(
        message_id=message_id or uuid.uuid4(),
        message_type=event.type_name(),
        routing_key=event.name,
        correlation_id=None,
        reply_to=None,
    )


def fuzzing(examples: int) -> hypothesis.settings:
    """Hypothesis' settings for a schemathesis run of a test: ``examples`` per operation and
    mode, the same ones at every run (derandomized, no database of examples), no deadline."""
    return hypothesis.settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
        suppress_health_check=list(hypothesis.HealthCheck),
    )
