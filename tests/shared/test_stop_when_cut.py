"""Every process stops when its database, or its broker, is gone.

A loop that retries after an error (the outbox relay, a listener, a clock, the consumer's batch)
must delay its work while its server is down and never give it up, but it must still end when its
process stops: asyncpg, connecting to a server that is gone, can let a task's cancellation out as
another error (MagicStack/asyncpg#1309), and a loop that caught it slept on; the process's
shutdown then waited forever. Each process here is reached through relays (tests/relay.py) that
the test cuts, so that only it loses its server while the shared ones stay up.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import aiohttp
import pytest

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
from tests.relay import Relay
from tests.support import RunningApp, eventually

PROCESSES = {
    "intake": (intake_app, IntakeSettings),
    "triage": (triage_app, TriageSettings),
    "treatment": (treatment_app, TreatmentSettings),
    "notify": (notify_app, NotifySettings),
    "stats": (stats_app, StatsSettings),
    "gateway": (gateway_app, GatewaySettings),
}
# The gateway has no broker connection: only its database is cut.
CASES = [(name, "database") for name in PROCESSES] + [
    (name, "broker") for name in PROCESSES if name != "gateway"
]
# Connections tried after the cut before the process is stopped: several of the database's loops
# retry every second; aio-pika's robust connection every five.
RETRIES = {"database": 5, "broker": 1}
# A guard against hanging, not an assertion on speed: far below pytest-timeout's, so that a
# process that does not stop fails its own case and not the whole run.
STOP_BOUND = 30.0


def _through(url: str, relay: Relay) -> str:
    """``url`` with its host and port replaced by the relay's."""
    parts = urlsplit(url)
    credentials = parts.netloc.rpartition("@")[0]
    at = f"{credentials}@" if credentials else ""
    return parts._replace(netloc=f"{at}127.0.0.1:{relay.port}").geturl()


def _server(url: str, default_port: int) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or default_port


@pytest.mark.parametrize(("process", "cut"), CASES, ids=[f"{p}-{c}" for p, c in CASES])
async def test_a_process_stops_when_its_server_is_cut(
    process, cut, settings_for, database_url, amqp_url
):
    create_app, settings_cls = PROCESSES[process]
    async with (
        Relay(*_server(database_url, 5432)) as database,
        Relay(*_server(amqp_url, 5672)) as broker,
    ):
        settings = settings_for(
            settings_cls,
            db_pool_min=1,
            database_url=_through(database_url, database),
            amqp_url=_through(amqp_url, broker),
        )
        running = RunningApp(create_app(settings))
        await running.__aenter__()
        try:
            async with aiohttp.ClientSession() as http:

                async def ready() -> bool:
                    # A request that touches the database (and the broker): the pool is in use.
                    async with http.get(running.url + "/health/ready") as answer:
                        return answer.status == 200

                await eventually(ready)
                gone = database if cut == "database" else broker
                await gone.cut(counting=True)

                async def knows_it() -> bool:
                    # The process has seen its server go, and tried again (its loops are in
                    # their retries, where a swallowed cancellation kept them).
                    return gone.tried_since_cut >= RETRIES[cut] and not await ready()

                await eventually(knows_it)
        finally:
            try:
                await asyncio.wait_for(running.__aexit__(None, None, None), STOP_BOUND)
            except TimeoutError:
                pytest.fail(f"{process} did not stop within {STOP_BOUND} s once its {cut} was cut")
