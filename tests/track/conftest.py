"""Fixtures and helpers of the tracking tests: the platform in this process with tracking limits
chosen per test, submissions through the gateway, triage events as triage would publish them,
and waiting for intake to have applied one (read in its table: polling the tracking page would
count against the very limits under test)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiohttp
import asyncpg
import pytest

from shared.messages import Actor
from shared.service import POOL
from tests.stack import Stack, start_stack
from tests.support import eventually, signed_session

# The tests' direct peer is 127.0.0.1 (never trusted); a client that binds 127.0.0.2 plays a
# load balancer the gateway trusts.
PROXY_ADDRESS = "127.0.0.2"
ANALYST = Actor(staff_id="analyste-1", role="analyst")
BODY = "ministere-budget"
THEME = "accueil-espace"

RELAXED = {
    "tracking_per_code": 1000,
    "tracking_per_email": 1000,
    "tracking_per_client": 1000,
    "reminder_per_email": 100,
    "reminder_per_client": 100,
}
STRICT = {
    "tracking_per_code": 3,
    "tracking_per_email": 4,
    "tracking_per_client": 6,
    "reminder_per_email": 2,
    "reminder_per_client": 4,
}


async def _stack(settings_for, smtp_server, limits: dict) -> AsyncIterator[Stack]:
    exits = await start_stack(
        settings_for, smtp_server.port, trusted_proxies=f"{PROXY_ADDRESS}/32", **limits
    )
    async with exits:
        yield exits.stack  # type: ignore[attr-defined]


@pytest.fixture
async def relaxed_stack(settings_for, smtp_server) -> AsyncIterator[Stack]:
    """The platform with limits no test reaches (for the flows)."""
    async for stack in _stack(settings_for, smtp_server, RELAXED):
        yield stack


@pytest.fixture
async def strict_stack(settings_for, smtp_server) -> AsyncIterator[Stack]:
    """The platform with low limits (for the throttling tests)."""
    async for stack in _stack(settings_for, smtp_server, STRICT):
        yield stack


@pytest.fixture
async def intake_db(database_url) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(database_url, server_settings={"search_path": "intake,public"})
    yield conn
    await conn.close()


def http_session(source: str | None = None) -> aiohttp.ClientSession:
    """A client; ``source`` binds its connections to that local address (e.g. the proxy's)."""
    connector = aiohttp.TCPConnector(local_addr=(source, 0) if source else None)
    return signed_session(connector=connector)


async def submit(
    stack: Stack, email: str, *, nature: str = "reclamation", message: str | None = None
) -> tuple[uuid.UUID, str]:
    """A request through the gateway's JSON API; (request id, code)."""
    body = {
        "nature": nature,
        "body_id": BODY,
        "theme_id": THEME,
        "place_id": "abidjan-plateau",
        "message": message or "L'accueil est décevant, la file d'attente est longue.",
        "contact": {
            "last_name": "KOUASSI",
            "first_names": "Aya",
            "country": "CI",
            "phone": "07 07 12 34 56",
            "email": email,
        },
        "terms_accepted": True,
    }
    async with (
        http_session() as http,
        http.post(stack.gateway + "/api/v1/requests", json=body) as resp,
    ):
        data = await resp.json()
        assert resp.status == 201, data
    # The public answer names the request by its code only; its row id is read from intake.
    assert "request_id" not in data
    request_id = (
        await stack.apps["intake"]
        .app[POOL]
        .fetchval("SELECT id FROM requests WHERE code = $1", data["code"])
    )
    return request_id, data["code"]


async def post_json(
    url: str, payload: dict, *, source: str | None = None, forwarded_for: str | None = None
) -> tuple[int, dict, dict]:
    """(status, JSON body, headers) of one POST."""
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    async with (
        http_session(source) as http,
        http.post(url, json=payload, headers=headers) as resp,
    ):
        return resp.status, await resp.json(), dict(resp.headers)


async def applied(conn: asyncpg.Connection, message_id: str) -> None:
    """Wait until intake has written the history line of the event ``message_id``."""

    async def probe():
        return await conn.fetchval(
            "SELECT true FROM request_history WHERE event_key = $1", message_id
        )

    await eventually(probe)


def now() -> datetime:
    return datetime.now(UTC)
