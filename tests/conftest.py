"""Fixtures on real PostgreSQL, RabbitMQ and SMTP.

testcontainers is used where a Docker engine answers; otherwise ``DATABASE_URL`` and ``AMQP_URL``
(which ``make test`` sets), else the local default servers. Each test gets its own database and
its own broker namespace, so tests run in any order. A test's database is a copy of a template
migrated once per run (tests/databases.py).
"""

from __future__ import annotations

import asyncio
import gc
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message

import pytest
from aiosmtpd.controller import Controller

from shared.settings import ServiceSettings

# The platforms the tests start as processes (tests/stack.py, tests/e2e) read their settings from
# the environment: staff there sign in with the password alone too (see settings_for below).
os.environ.setdefault("MILIE_SECOND_FACTOR_REQUIRED", "false")
from tests.databases import Copies, Drops, create_database, create_template, drop_database
from tests.later import Later
from tests.support import RELAXED_SUBMISSION_LIMITS, delete_namespace, eventually, free_port


def _docker_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=2).ping()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def infrastructure() -> Iterator[tuple[str, str]]:
    """(base database URL, AMQP URL) for the whole run."""
    if os.environ.get("DATABASE_URL") or os.environ.get("AMQP_URL") or not _docker_answers():
        yield (
            os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
            os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"),
        )
        return
    from testcontainers.postgres import PostgresContainer
    from testcontainers.rabbitmq import RabbitMqContainer

    with (
        PostgresContainer("postgres:15", driver=None) as pg,
        RabbitMqContainer("rabbitmq:3.13") as mq,
    ):
        amqp = f"amqp://guest:guest@{mq.get_container_host_ip()}:{mq.get_exposed_port(5672)}/"
        yield pg.get_connection_url(), amqp


@pytest.fixture(scope="session")
def amqp_url(infrastructure: tuple[str, str]) -> str:
    return infrastructure[1]


@pytest.fixture(scope="session")
async def template_database(infrastructure: tuple[str, str]) -> AsyncIterator[str]:
    """The name of a database with every service's schema migrated, for this run."""
    name = await create_template(infrastructure[0])
    yield name
    await drop_database(infrastructure[0], name)


@pytest.fixture(scope="session")
async def template_copies(
    infrastructure: tuple[str, str], template_database: str
) -> AsyncIterator[Copies]:
    copies = Copies(infrastructure[0], template_database)
    yield copies
    await copies.close()


@pytest.fixture(scope="session")
async def later() -> AsyncIterator[Later]:
    """Where tests' namespaces are deleted without the next test waiting."""
    cleanups = Later()
    yield cleanups
    await cleanups.close()


@pytest.fixture(scope="session")
async def drops(infrastructure: tuple[str, str]) -> AsyncIterator[Drops]:
    dropping = Drops(infrastructure[0])
    yield dropping
    await dropping.close()


@pytest.fixture
async def database_url(template_copies: Copies, drops: Drops) -> AsyncIterator[str]:
    """This test's own database, every schema migrated already; dropped afterwards (in the
    background, with others: nobody uses its name again)."""
    url = await template_copies.take()
    yield url
    drops.add(url.rpartition("/")[2])


@pytest.fixture
async def empty_database_url(infrastructure: tuple[str, str], drops: Drops) -> AsyncIterator[str]:
    """An empty database of this test's own, for tests of the migrations themselves; dropped
    afterwards in the background, as :func:`database_url`'s (a drop waited 10–15 s for its
    checkpoint in a test's teardown on a busy machine)."""
    url = await create_database(infrastructure[0])
    yield url
    drops.add(url.rpartition("/")[2])


@pytest.fixture
async def namespace(amqp_url: str, later: Later) -> AsyncIterator[str]:
    """A broker namespace of this test's own: its exchanges and queues are prefixed with it;
    deleted afterwards, in the background."""
    ns = f"t{uuid.uuid4().hex[:10]}"
    yield ns
    later.add(lambda: delete_namespace(amqp_url, ns))


@pytest.fixture
def settings_for(database_url: str, amqp_url: str, namespace: str):
    """Build a service's settings for this test's database and namespace."""

    def build(cls: type[ServiceSettings] = ServiceSettings, **overrides) -> ServiceSettings:
        values = {
            "database_url": database_url,
            "amqp_url": amqp_url,
            "broker_namespace": namespace,
            "env": "test",
            "outbox_poll_seconds": 0.2,
            "metrics_port": 0,  # the gateway's metrics listener: any free port
            # The staff's second factor has its own tests (tests/staff/test_second_factor.py);
            # the others sign in with the password alone. Ignored by the services' settings.
            "second_factor_required": False,
            # intake: tests submit many requests from one address and email; the limits' own
            # tests (tests/abuse) set theirs in the configuration table.
            "submission_limits": RELAXED_SUBMISSION_LIMITS,
            **overrides,
        }
        return cls.model_validate(values)

    return build


@dataclass
class SmtpInbox:
    """A real SMTP server (aiosmtpd) that keeps what it receives."""

    host: str
    port: int
    messages: list[Message] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        self.messages.append(
            message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        )
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if address in (m["To"] or "")]

    async def wait_for(self, address: str, count: int = 1, timeout: float = 30.0) -> list[Message]:
        async def probe():
            found = self.to(address)
            return found if len(found) >= count else None

        return await eventually(probe, timeout=timeout)


@pytest.fixture
def smtp_server() -> Iterator[SmtpInbox]:
    inbox = SmtpInbox("127.0.0.1", free_port())
    controller = Controller(inbox, hostname=inbox.host, port=inbox.port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


def pytest_collection_finish(session):
    # What exists once the tests are collected (modules, contracts, templates) lives for the whole
    # run: keep the collector from walking it again and again, and collect the young generation
    # less often, as the services' processes do (shared.service.run). The GC's time in the run
    # of tests/treatment/test_actions.py, test_focal_api.py and tests/staff/test_journal.py:
    # 1.54 -> 0.76 s.
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


def pytest_collection_modifyitems(items):
    # Keep the event loop policy simple: every async test shares the session loop.
    for item in items:
        if asyncio.iscoroutinefunction(getattr(item, "function", None)):
            item.add_marker(pytest.mark.asyncio(loop_scope="session"))


from tests.browser import browser, page  # noqa: E402,F401  - a real Chromium
from tests.stack import stack  # noqa: E402,F401  - the in-process platform fixture
