"""End-to-end fixtures: the six real processes, a real SMTP server, a real browser."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import bench.faults
import deploy.local.private_servers
from deploy.local.platform import PROCESSES, Platform
from tests.browser import ARTIFACTS
from tests.fakes.orange_sms import FakeOrangeSms
from tests.support import RELAXED_SUBMISSION_LIMITS, as_staff, free_port, signing_for

# The checks the tests of two copies share (tests/e2e/copies.py, imported by the test modules
# after this file) say what they found when they fail, as the tests' own asserts do.
pytest.register_assert_rewrite("tests.e2e.copies")

# The private servers' ports and the fault campaign's, from this worker's share of the ports
# (tests.support.free_port) when pytest-xdist runs the tests in several processes.
deploy.local.private_servers.free_port = free_port
bench.faults.free_port = free_port

IDENTITY_SECRET = "e2e-identity-secret"
BODY = "ministere-education-nationale"


def submission(email: str | None, phone: str = "0707123456") -> dict:
    """A valid JSON API submission to :data:`BODY` from ``email`` (None: the mobile number
    alone)."""
    return {
        "nature": "reclamation",
        "body_id": BODY,
        "message": "Les bulletins ne sont pas arrivés.",
        "contact": {"country": "CI", "phone": phone, "email": email},
    }


def analyst_headers() -> dict[str, str]:
    """Headers that make a signed session (``tests.support.signed_session``) call as an analyst
    through the gateway would."""
    from shared.identity import Identity, Role

    return as_staff(Identity("e2e-analyst", Role.ANALYST, login="analyste"))


def platform_for(database_url, amqp_url, namespace, smtp_port, log_dir: Path) -> Platform:
    env = {
        "DATABASE_URL": database_url,
        "AMQP_URL": amqp_url,
        "MILIE_BROKER_NAMESPACE": namespace,
        "MILIE_ENV": "test",
        "MILIE_SUBMISSION_LIMITS": json.dumps(RELAXED_SUBMISSION_LIMITS),
        "MILIE_SMTP_HOST": "127.0.0.1",
        "MILIE_SMTP_PORT": str(smtp_port),
        "MILIE_OUTBOX_POLL_SECONDS": "0.2",
        "MILIE_DB_POOL_MIN": "1",
        "MILIE_IDENTITY_SECRET": IDENTITY_SECRET,
    }
    ports = {name: free_port() for name in PROCESSES}
    return Platform(env=env, ports=ports, log_dir=log_dir, gateway_metrics_port=free_port())


@contextlib.asynccontextmanager
async def running_platform(
    database_url, amqp_url, namespace, smtp_port: int, name: str, env: dict | None = None
) -> AsyncIterator[Platform]:
    """All six processes started as `make up` starts them, ready; logs under artifacts/``name``;
    ``env``: settings of the test's own, over the e2e ones."""
    log_dir = ARTIFACTS / "logs" / name
    shutil.rmtree(log_dir, ignore_errors=True)
    platform = platform_for(database_url, amqp_url, namespace, smtp_port, log_dir)
    platform.env.update(env or {})
    try:
        await platform.start_all()
        await platform.wait_ready()
        urls = {name: platform.url(name) for name in PROCESSES}
        with signing_for(urls, IDENTITY_SECRET.encode()):
            yield platform
    finally:
        await platform.stop_all()


@pytest.fixture
async def platform(database_url, amqp_url, namespace, smtp_server, request):
    """The platform on this test's database and queues."""
    async with running_platform(
        database_url, amqp_url, namespace, smtp_server.port, request.node.name
    ) as platform:
        yield platform


@dataclass
class Copies:
    """Two copies of every process on one database and one broker namespace: each copy's
    gateway calls its own copy of the services, and each service's two copies consume its one
    queue."""

    first: Platform
    second: Platform

    @property
    def both(self) -> tuple[Platform, Platform]:
        return (self.first, self.second)


# Settings both copies get besides the e2e ones: tracking limits a test driving dozens of
# citizens from one address never reaches, and a parked-event sweep (shared.early) that picks up
# within a second what one copy parked while the other applied its request's submission.
COPIES_ENV = {
    "MILIE_TRACKING_PER_CODE": "1000",
    "MILIE_TRACKING_PER_EMAIL": "1000",
    "MILIE_TRACKING_PER_CLIENT": "100000",
    "MILIE_PARKED_SWEEP_SECONDS": "1",
}


@pytest.fixture
async def fake_sms() -> AsyncIterator[FakeOrangeSms]:
    """A local server speaking Orange's SMS API (tests.e2e.copies.sms_env sends notify's SMS
    to it)."""
    async with FakeOrangeSms() as fake:
        yield fake


@pytest.fixture
def copies_env() -> dict[str, str]:
    """Settings both copies get besides COPIES_ENV: none here; a module overrides this fixture
    to give its own (an SMS provider)."""
    return {}


@pytest.fixture
async def two_copies_platform(
    database_url, amqp_url, namespace, smtp_server, copies_env, request
) -> AsyncIterator[Copies]:
    """Every process twice, each copy on its own ports, started as `make up` starts one."""
    log_dir = ARTIFACTS / "logs" / request.node.name
    shutil.rmtree(log_dir, ignore_errors=True)
    copies = Copies(
        *(
            platform_for(database_url, amqp_url, namespace, smtp_server.port, log_dir / name)
            for name in ("copy-1", "copy-2")
        )
    )
    for platform in copies.both:
        platform.env.update({**COPIES_ENV, **copies_env})
    try:
        # Side by side, as a scaled deployment starts its replicas.
        await asyncio.gather(*(p.start_all() for p in copies.both))
        await asyncio.gather(*(p.wait_ready() for p in copies.both))
        with contextlib.ExitStack() as signing:
            for platform in copies.both:
                urls = {name: platform.url(name) for name in PROCESSES}
                signing.enter_context(signing_for(urls, IDENTITY_SECRET.encode()))
            yield copies
    finally:
        await asyncio.gather(*(p.stop_all() for p in copies.both))
