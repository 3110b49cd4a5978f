"""Fixtures of the triage tests: triage on real PostgreSQL and RabbitMQ, with intake beside it
for the catalogue (re-index)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import pytest

from services.intake.app import create_app as intake_app
from services.intake.settings import IntakeSettings
from services.triage.app import create_app as triage_app
from services.triage.settings import TriageSettings
from shared.service import POOL
from tests.support import RunningApp, eventually, publish_event, signed_session
from tests.triage.helpers import Api


@dataclass
class Triage:
    api: Api
    pool: asyncpg.Pool
    amqp_url: str
    namespace: str

    async def queued(self, event) -> dict:
        """Publish a submission and wait for it in the queue."""
        await publish_event(self.amqp_url, self.namespace, event)

        async def probe():
            status, body = await self.api.get(f"/queue/{event.code}")
            return body if status == 200 else None

        return await eventually(probe)


@pytest.fixture
async def triage(settings_for, amqp_url, namespace) -> AsyncIterator[Triage]:
    intake = RunningApp(intake_app(settings_for(IntakeSettings, db_pool_min=1)))
    async with intake:
        settings = settings_for(
            TriageSettings,
            db_pool_min=1,
            intake_url=intake.url,
            admissibility_days_by_nature={"demande_information": 5},
        )
        async with RunningApp(triage_app(settings)) as running, signed_session() as http:
            secret = settings.identity_secret.get_secret_value().encode()
            yield Triage(Api(http, running.url, secret), running.app[POOL], amqp_url, namespace)
