"""The stats service's HTTP API as the gateway calls it. Answers are ``(status, JSON body)``;
raises ``ServiceUnavailable`` when stats does not answer."""

from __future__ import annotations

from datetime import date
from typing import Any

from aiohttp import web

from gateway.clients.transport import Services
from shared.identity import Identity

SERVICE = "stats"

Answer = tuple[int, Any]


def _period(start: date, end: date) -> dict[str, str]:
    return {"from": start.isoformat(), "to": end.isoformat()}


class Stats:
    def __init__(self, services: Services) -> None:
        self.services = services

    async def bodies(self) -> Answer:
        """The public statistics: counts per public body (no identity needed)."""
        return await self.services.call("GET", SERVICE, "/stats/bodies")

    async def summary(self, start: date, end: date, *, identity: Identity) -> Answer:
        """The dashboard's figures over the period, every body counted (analysts only)."""
        return await self.services.call(
            "GET", SERVICE, "/stats/summary", params=_period(start, end), identity=identity
        )

    async def general(self, start: date, end: date, *, identity: Identity) -> Answer:
        """« Statistiques »' table over the period (stats limits a focal point to its body)."""
        return await self.services.call(
            "GET", SERVICE, "/stats/general", params=_period(start, end), identity=identity
        )


STATS = web.AppKey("stats", Stats)
