"""Helpers of the triage tests: signed identities, JSON calls, a probe of the published events."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import aiohttp

from shared.identity import Identity, Role
from shared.topology import EVENTS, Topology
from tests.support import as_staff

ANALYST = Identity(staff_id="a-1", role=Role.ANALYST, login="awa.kone")
OTHER_ANALYST = Identity(staff_id="a-2", role=Role.ANALYST, login="yao.kouame")
ADMIN = Identity(staff_id="adm-1", role=Role.ADMINISTRATOR, login="admin.osep")


def headers(secret: bytes, identity: Identity | None = ANALYST, address: str = "") -> dict:
    """Headers that make the signed test session call as ``identity`` from ``address``
    (``secret``: kept for the callers; the session signs with the app's own)."""
    return as_staff(identity, client_address=address or None)


class Api:
    """Calls to one triage app as one staff member."""

    def __init__(self, http: aiohttp.ClientSession, base: str, secret: bytes) -> None:
        self.http, self.base, self.secret = http, base, secret

    async def call(
        self,
        method: str,
        path: str,
        *,
        identity: Identity | None = ANALYST,
        address: str = "",
        extra_headers: dict[str, str] | None = None,
        **kw: Any,
    ) -> tuple[int, Any]:
        sent = {**headers(self.secret, identity, address), **(extra_headers or {})}
        async with self.http.request(method, self.base + path, headers=sent, **kw) as resp:
            if resp.content_type == "application/json":
                return resp.status, await resp.json()
            return resp.status, await resp.read()

    async def get(self, path: str, **kw: Any) -> tuple[int, Any]:
        return await self.call("GET", path, **kw)

    async def post(self, path: str, body: Any, **kw: Any) -> tuple[int, Any]:
        return await self.call("POST", path, json=body, **kw)


@contextlib.asynccontextmanager
async def published(amqp_url: str, namespace: str, pattern: str = "request.#") -> AsyncIterator:
    """A list that fills with ``(type, body)`` of the events published on the namespace's
    ``milie.events`` (the exchange must exist: start the service first)."""
    received: list[tuple[str, dict]] = []
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        exchange = await channel.get_exchange(Topology(namespace).exchange(EVENTS))
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(exchange, pattern)

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            async with message.process():
                received.append((message.type, json.loads(message.body)))

        await queue.consume(on_message)
        yield received
    finally:
        await connection.close()


def of_type(received: list[tuple[str, dict]], type_name: str) -> list[dict]:
    return [body for kind, body in received if kind == type_name]


async def wait_events(
    received: list[tuple[str, dict]], type_name: str, count: int = 1, code: str | None = None
) -> list[dict]:
    """The events of that type (about that code) once ``count`` of them arrived."""
    from tests.support import eventually

    async def probe():
        found = [e for e in of_type(received, type_name) if code is None or e["code"] == code]
        return found if len(found) >= count else None

    return await eventually(probe)
