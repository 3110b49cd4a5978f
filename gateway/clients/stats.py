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

    async def api_schemas(self) -> Answer:
        """The JSON Schemas of what stats answers /api/v1 (the public statistics), keyed by
        model name, referencing each other as ``#/components/schemas/…``."""
        return await self.services.call("GET", SERVICE, "/api-schemas")

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

    async def body_dashboard(
        self, start: date, end: date, *, identity: Identity, body_id: str | None = None
    ) -> Answer:
        """One body's « Tableau de bord » counters over the period (a focal point's own body,
        whatever ``body_id`` says; analysts and administrators name it)."""
        params = {**_period(start, end), **({"body_id": body_id} if body_id else {})}
        return await self.services.call(
            "GET", SERVICE, "/stats/body-dashboard", params=params, identity=identity
        )

    async def body_waiting(self, *, identity: Identity, body_id: str | None = None) -> Answer:
        """« À traiter » (the header's count) of one body now: ``{"body_id", "waiting",
        "by_status"}``."""
        params = {"body_id": body_id} if body_id else None
        return await self.services.call(
            "GET", SERVICE, "/stats/body-waiting", params=params, identity=identity
        )


STATS = web.AppKey("stats", Stats)
