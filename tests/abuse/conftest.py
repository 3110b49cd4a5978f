"""The anonymous channels under abuse: the whole platform with strict submission limits, a
trusted proxy (so a test can speak for any client address, IPv6 included) and an Open311 key."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator

import aiohttp
import asyncpg
import pytest

from tests.channels.conftest import OPEN311_KEYS
from tests.front.conftest import intake  # noqa: F401  (the fixture: intake alone)
from tests.stack import Stack, start_stack
from tests.support import signed_session
from tests.track.conftest import PROXY_ADDRESS, http_session

STRICT = {
    "submissions_per_client": 3,
    "submissions_per_email": 2,
    "submissions_per_phone": 2,
    "suspicion_per_client": 1000,
}
BODY = "ministere-budget"


@pytest.fixture
async def strict_stack(settings_for, smtp_server) -> AsyncIterator[Stack]:
    exits = await start_stack(
        settings_for,
        smtp_server.port,
        trusted_proxies=f"{PROXY_ADDRESS}/32",
        open311_keys=OPEN311_KEYS,
        submission_limits=STRICT,
    )
    async with exits:
        yield exits.stack  # type: ignore[attr-defined]


def new_email() -> str:
    return f"c{uuid.uuid4().hex[:10]}@example.ci"


def new_phone() -> str:
    return f"0707{uuid.uuid4().int % 1_000_000:06d}"


def api_request(email: str | None = None, phone: str | None = None, **contact) -> dict:
    return {
        "nature": "reclamation",
        "body_id": BODY,
        "message": "Le guichet ferme avant l'heure affichée.",
        "contact": {
            "last_name": "KONÉ",
            "first_names": "Awa",
            "country": "CI",
            "phone": phone or new_phone(),
            "email": email or new_email(),
            **contact,
        },
    }


async def api_submit(
    stack: Stack, payload: dict, client: str | None = None
) -> tuple[int, dict, dict]:
    """One POST /api/v1/requests; from ``client`` (through the trusted proxy) if given."""
    headers = {"X-Forwarded-For": client} if client else {}
    async with (
        http_session(PROXY_ADDRESS if client else None) as http,
        http.post(stack.gateway + "/api/v1/requests", json=payload, headers=headers) as resp,
    ):
        return resp.status, await resp.json(), dict(resp.headers)


async def stored(database_url: str) -> tuple[int, int]:
    """Requests intake keeps, and events in its outbox (what would be sent)."""
    conn = await asyncpg.connect(database_url)
    try:
        return (
            await conn.fetchval("SELECT count(*) FROM intake.requests"),
            await conn.fetchval("SELECT count(*) FROM intake.outbox"),
        )
    finally:
        await conn.close()


async def set_config(database_url: str, **values) -> None:
    """Settings written in intake's configuration table, as PUT /config does (call before the
    first submission: intake reads the table again only every few seconds)."""
    import json

    conn = await asyncpg.connect(database_url)
    try:
        for key, value in values.items():
            await conn.execute(
                """INSERT INTO intake.config (key, value) VALUES ($1, $2::jsonb)
                   ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value""",
                key,
                json.dumps(value),
            )
    finally:
        await conn.close()


FORM = "/soumettre/formulaire"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def web_session() -> aiohttp.ClientSession:
    return signed_session(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def web_fill(http: aiohttp.ClientSession, gateway: str, **values: str) -> tuple[int, str]:
    """The citizen's form posted (multipart, as a browser does); (status, Location or page)."""
    async with http.get(gateway + FORM + f"?nature=reclamation&organisme={BODY}") as resp:
        token = TOKEN.search(await resp.text()).group(1)
    fields = {
        "csrf_token": token,
        "draft_id": "",
        "nature": "reclamation",
        "body_id": BODY,
        "message": "Le guichet ferme avant l'heure affichée.",
        "last_name": "KONÉ",
        "first_names": "Awa",
        "country": "CI",
        "phone": new_phone(),
        "email": new_email(),
        "terms_accepted": "on",
        **values,
    }
    with aiohttp.MultipartWriter("form-data") as body:
        for name, value in fields.items():
            part = body.append(value)
            part.set_content_disposition("form-data", name=name)
    async with http.post(gateway + FORM, data=body, allow_redirects=False) as resp:
        if resp.status == 303:
            return 303, resp.headers["Location"]
        return resp.status, await resp.text()


async def web_confirm(
    http: aiohttp.ClientSession, gateway: str, draft_id: str, **extra: str
) -> tuple[int, str, dict]:
    """« Envoyer ma requête » on the confirmation page; (status, Location or page, headers)."""
    async with http.get(gateway + f"/soumettre/confirmer?brouillon={draft_id}") as resp:
        token = TOKEN.search(await resp.text()).group(1)
    data = {"csrf_token": token, "draft_id": draft_id, **extra}
    async with http.post(
        gateway + "/soumettre/confirmer", data=data, allow_redirects=False
    ) as resp:
        text = resp.headers.get("Location", "") if resp.status == 303 else await resp.text()
        return resp.status, text, dict(resp.headers)


def draft_of(location: str) -> str:
    return re.search(r"brouillon=([0-9a-f-]{36})", location).group(1)
