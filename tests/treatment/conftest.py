"""Fixtures of the treatment tests: treatment on real PostgreSQL and RabbitMQ, requests put in
its hands by applying request.validated as its consumer does, calls signed as a staff member."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import asyncpg
import pytest

from services.treatment import handlers
from services.treatment.app import create_app
from services.treatment.settings import TreatmentSettings
from shared import inbox
from shared.identity import Identity, Role
from shared.messages import Actor, Contact, Nature, RequestValidatedV1
from shared.service import POOL
from tests.support import RunningApp, as_staff, delivery_of, signed_session, submitted_event
from tests.support import validated_event as validated_from

BODY = "ministere-budget"
OTHER_BODY = "ministere-sante"
AGENT = Identity(staff_id="fp-1", role=Role.FOCAL_POINT, body_id=BODY, login="koffi.yao")
COLLEAGUE = Identity(staff_id="fp-2", role=Role.FOCAL_POINT, body_id=BODY, login="adjoua.n")
STRANGER = Identity(staff_id="fp-9", role=Role.FOCAL_POINT, body_id=OTHER_BODY, login="sante.fp")
ANALYST = Identity(staff_id="a-1", role=Role.ANALYST, login="awa.kone")
ADMIN = Identity(staff_id="adm-1", role=Role.ADMINISTRATOR, login="admin.osep")
OPERATOR = Identity(staff_id="op-1", role=Role.OPERATOR, login="operatrice")


def validated_event(**overrides: Any) -> RequestValidatedV1:
    """A valid ``request.validated.v1`` of a réclamation to BODY."""
    values: dict[str, Any] = {
        "body_id": BODY,
        "contact": Contact(email="aya@example.ci"),
        "actor": Actor(staff_id=ANALYST.staff_id, role=ANALYST.role.value),
        **overrides,
    }
    if "nature" in overrides and "needs_treatment" not in overrides:
        values["needs_treatment"] = overrides["nature"].needs_treatment
    return validated_from(submitted_event(nature=Nature.RECLAMATION), **values)


async def deliver(pool: asyncpg.Pool, event, message_id: uuid.UUID | None = None) -> bool:
    """Apply ``event`` as the consumer does (inbox claim and handler, one transaction); False
    when the inbox already had it."""
    delivery = delivery_of(event, message_id)
    async with pool.acquire() as conn, conn.transaction():
        if not await inbox.claim(conn, delivery.message_id, delivery.message_type):
            return False
        await handlers.HANDLERS[event.type_name()](conn, event, delivery)
    return True


class Api:
    """Calls to the treatment app, signed for one staff member (or none)."""

    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self.http, self.base = http, base

    async def call(
        self, method: str, path: str, *, identity: Identity | None = AGENT, **kw: Any
    ) -> tuple[int, Any]:
        headers = {**as_staff(identity), **kw.pop("headers", {})} if identity else {}
        async with self.http.request(method, self.base + path, headers=headers, **kw) as resp:
            if resp.content_type == "application/json":
                return resp.status, await resp.json()
            return resp.status, await resp.read()

    async def get(self, path: str, **kw: Any) -> tuple[int, Any]:
        return await self.call("GET", path, **kw)

    async def post(self, path: str, body: Any = None, **kw: Any) -> tuple[int, Any]:
        return await self.call("POST", path, json=body if body is not None else {}, **kw)


@dataclass
class Treatment:
    pool: asyncpg.Pool
    api: Api
    amqp_url: str
    namespace: str

    async def validated(self, **overrides: Any) -> RequestValidatedV1:
        event = validated_event(**overrides)
        assert await deliver(self.pool, event)
        return event

    async def row(self, code: str) -> asyncpg.Record:
        async with self.pool.acquire() as conn:
            return await conn.fetchrow("SELECT * FROM treatments WHERE code = $1", code)

    async def count(self, table: str, code: str) -> int:
        async with self.pool.acquire() as conn:
            return await conn.fetchval(
                f"""SELECT count(*) FROM {table} x JOIN treatments t USING (request_id)
                    WHERE t.code = $1""",
                code,
            )

    async def outbox_types(self, prefix: str = "request.") -> list[str]:
        """The types of the events in the outbox, in order, of those named ``prefix``… (the
        life cycle's by default; ``deadlines.`` for the deadlines')."""
        async with self.pool.acquire() as conn:
            rows = await conn.fetch("SELECT message_type FROM outbox ORDER BY id")
        return [r["message_type"] for r in rows if r["message_type"].startswith(prefix)]

    async def outbox(self, message_type: str) -> list[dict]:
        """The bodies of the outbox's events of ``message_type``, in order."""
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT body::text FROM outbox WHERE message_type = $1 ORDER BY id",
                message_type,
            )
        return [json.loads(r[0]) for r in rows]


@pytest.fixture
async def treatment(settings_for, amqp_url, namespace) -> AsyncIterator[Treatment]:
    # The app's own clock off: tests sweep it themselves (clock.sweep), and a sweep of the app's
    # racing theirs took the rows first (under a loaded run, its first sweep at start came after
    # the test had emptied a deadline, and the test's sweep found nothing left to set).
    settings = settings_for(TreatmentSettings, db_pool_min=1, clock_interval_seconds=0)
    async with RunningApp(create_app(settings)) as running, signed_session() as http:
        yield Treatment(running.app[POOL], Api(http, running.url), amqp_url, namespace)
