"""Fixtures of the staff tests: the gateway alone (sign-in needs no service), with settings."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from gateway.app import create_app
from gateway.settings import GatewaySettings
from tests.support import RunningApp

# Nothing answers on the discard port: the pages that ask a service show their fallback.
NOBODY = "http://127.0.0.1:9"


@pytest.fixture
async def gateway_alone(settings_for) -> AsyncIterator[Callable[..., Awaitable[RunningApp]]]:
    """Start a gateway without the services: ``app = await gateway_alone(**settings)``."""
    started: list[RunningApp] = []

    async def start(**overrides) -> RunningApp:
        values = {
            "db_pool_min": 1,
            **{f"{s}_url": NOBODY for s in ("intake", "triage", "treatment", "notify", "stats")},
            **overrides,
        }
        app = RunningApp(create_app(settings_for(GatewaySettings, **values)))
        await app.__aenter__()
        started.append(app)
        return app

    yield start
    for app in reversed(started):
        await app.__aexit__(None, None, None)
