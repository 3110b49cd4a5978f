"""What the ministry API's tests share: keys made as the back office makes them, calls with a
key in a header, and requests of the key's body put in treatment."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from gateway.app import create_app
from gateway.settings import GatewaySettings
from gateway.staff import api_keys
from shared.db import run_in_transaction
from shared.service import POOL
from tests.support import RunningApp, eventually, free_port
from tests.treatment.pages import BODY, PDF, validated_reclamation

OTHER_BODY = "ministere-justice"
BASE = "/api/ministeres/v1"
__all__ = ["BODY", "OTHER_BODY", "PDF", "Api", "last_change", "new_key", "validated_reclamation"]


async def new_key(
    stack, body: str = BODY, *, calls_per_minute: int = 10_000, label: str = ""
) -> str:
    """A key of ``body``, as « Clés d'API » makes one: the whole key."""

    async def work(conn):
        _, whole = await api_keys.create(
            conn,
            body_id=body,
            label=label or f"SI {body}",
            calls_per_minute=calls_per_minute,
            created_by="admin.tests",
        )
        return whole

    return await run_in_transaction(stack.apps["gateway"].app[POOL], work)


@asynccontextmanager
async def gateway_alone(settings_for) -> AsyncIterator[tuple[RunningApp, str]]:
    """The gateway with no service answering behind it, and a key of BODY: what the API says
    before (or without) calling treatment."""
    nobody = f"http://127.0.0.1:{free_port()}"
    settings = settings_for(GatewaySettings, db_pool_min=1, treatment_url=nobody, intake_url=nobody)
    async with RunningApp(create_app(settings)) as gateway:

        async def work(conn):
            _, whole = await api_keys.create(
                conn, body_id=BODY, label="SI", calls_per_minute=10_000, created_by="tests"
            )
            return whole

        yield gateway, await run_in_transaction(gateway.app[POOL], work)


class Api:
    """Calls to the ministry API with one key (None: no key)."""

    def __init__(self, http: aiohttp.ClientSession, gateway: str, key: str | None) -> None:
        self.http, self.base, self.key = http, gateway + BASE, key

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        given = {"Authorization": f"Bearer {self.key}"} if self.key else {}
        return {**given, **(extra or {})}

    async def call(self, method: str, path: str, **kw: Any) -> tuple[int, Any, Any]:
        headers = self.headers(kw.pop("headers", None))
        async with self.http.request(method, self.base + path, headers=headers, **kw) as resp:
            if resp.content_type in ("application/json", "application/problem+json"):
                return resp.status, await resp.json(content_type=None), resp.headers
            return resp.status, await resp.read(), resp.headers

    async def get(self, path: str, **kw: Any) -> tuple[int, Any, Any]:
        return await self.call("GET", path, **kw)

    async def post(self, path: str, body: Any = None, **kw: Any) -> tuple[int, Any, Any]:
        return await self.call("POST", path, json=body if body is not None else {}, **kw)


async def key_for_the_table(ctx) -> dict[str, str]:
    """For the access table (tests/staff/test_access.py): ``{api_key_id}``, a key's id."""
    whole = await new_key(ctx.stack, label="Clé du tableau des accès")
    return {"api_key_id": whole.split("_")[1]}


async def last_change(api: Api, kind: str) -> dict:
    """The feed's last line, once it is of ``kind`` (a line comes once older transactions end)."""

    async def arrived() -> dict | None:
        status, feed, _ = await api.get("/changes?limit=500")
        assert status == 200, feed
        # Empty while a transaction older than every line is still running (the horizon).
        items = feed["items"]
        return items[-1] if items and items[-1]["kind"] == kind else None

    return await eventually(arrived)
