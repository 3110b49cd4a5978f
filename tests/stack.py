"""All six apps served in this test process, on one test database and broker namespace.

Faster than separate processes (no interpreter start per service) and enough for tests of
behaviour; the end-to-end tests under tests/e2e start the real processes instead.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from tests.support import RunningApp, free_port


@dataclass
class Stack:
    apps: dict[str, RunningApp] = field(default_factory=dict)

    def url(self, name: str) -> str:
        return self.apps[name].url

    @property
    def gateway(self) -> str:
        return self.url("gateway")


async def start_stack(settings_for, smtp_port: int, **overrides) -> contextlib.AsyncExitStack:
    """Start intake, triage, treatment, notify, stats and the gateway; returns (exit stack, Stack).

    ``overrides`` are extra settings given to every app (unknown ones are ignored by each).
    """
    from gateway.app import create_app as gateway_app
    from gateway.settings import GatewaySettings
    from services.intake.app import create_app as intake_app
    from services.intake.settings import IntakeSettings
    from services.notify.app import create_app as notify_app
    from services.notify.settings import NotifySettings
    from services.stats.app import create_app as stats_app
    from services.stats.settings import StatsSettings
    from services.treatment.app import create_app as treatment_app
    from services.treatment.settings import TreatmentSettings
    from services.triage.app import create_app as triage_app
    from services.triage.settings import TriageSettings

    ports = {
        n: free_port() for n in ("intake", "triage", "treatment", "notify", "stats", "gateway")
    }
    urls = {n: f"http://127.0.0.1:{p}" for n, p in ports.items()}
    common = {"db_pool_min": 1, "smtp_port": smtp_port, "public_url": urls["gateway"], **overrides}
    builders = [
        ("intake", intake_app, IntakeSettings),
        ("triage", triage_app, TriageSettings),
        ("treatment", treatment_app, TreatmentSettings),
        ("notify", notify_app, NotifySettings),
        ("stats", stats_app, StatsSettings),
    ]
    # Triage asks intake for the catalogue when an analyst re-indexes a request.
    service_urls = {"triage": {"intake_url": urls["intake"]}}
    apps = {
        name: RunningApp(
            create_app(settings_for(settings_cls, **common, **service_urls.get(name, {})))
        )
        for name, create_app, settings_cls in builders
    }
    gateway_settings = settings_for(
        GatewaySettings,
        **common,
        **{f"{n}_url": urls[n] for n in ("intake", "triage", "treatment", "notify", "stats")},
    )
    apps["gateway"] = RunningApp(gateway_app(gateway_settings))
    for name, app in apps.items():
        app.port = ports[name]
    # The six start at once: each waits mostly for its own database and broker round trips, and
    # none calls another while it starts (the gateway calls the services once a test asks it).
    started = await asyncio.gather(
        *(app.__aenter__() for app in apps.values()), return_exceptions=True
    )
    exits = contextlib.AsyncExitStack()
    stack = Stack()
    # Stopped in the reverse order: the gateway first, intake last.
    for (name, app), outcome in zip(apps.items(), started, strict=True):
        if not isinstance(outcome, BaseException):
            exits.push_async_exit(app)
            stack.apps[name] = app
    failed = [outcome for outcome in started if isinstance(outcome, BaseException)]
    if failed:
        await exits.aclose()
        raise failed[0]
    exits.stack = stack  # type: ignore[attr-defined]
    return exits


@pytest.fixture
async def stack(settings_for, smtp_server) -> AsyncIterator[Stack]:
    """The whole platform in this process, with its email going to ``smtp_server``."""
    exits = await start_stack(settings_for, smtp_server.port)
    async with exits:
        yield exits.stack  # type: ignore[attr-defined]
