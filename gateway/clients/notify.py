"""The notify service's HTTP API as the back office calls it: the delivery log."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.clients.transport import Services
from shared.identity import Identity

SERVICE = "notify"


class Notify:
    def __init__(self, services: Services) -> None:
        self.services = services

    async def deliveries(self, request_id: str, *, identity: Identity) -> tuple[int, Any]:
        """The emails and SMS sent (or failed) about one request: a JSON list."""
        return await self.services.call(
            "GET", SERVICE, "/deliveries", params={"request_id": request_id}, identity=identity
        )


NOTIFY = web.AppKey("notify", Notify)
