"""The public JSON API, routed to the services. Errors are JSON: 4xx with the faulty fields."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from aiohttp import web

from gateway.clients.intake import INTAKE
from gateway.clients.stats import STATS
from gateway.clients.transport import ServiceUnavailable
from gateway.web.errors import api_unavailable, passed_on
from shared.web import read_json

routes = web.RouteTableDef()


async def _forward(asked: Awaitable[tuple[int, Any]]) -> web.Response:
    """The service's answer to ``asked`` (a call of its client), as it gave it."""
    try:
        status, body = await asked
    except ServiceUnavailable:
        return api_unavailable()
    return passed_on(status, body)


@routes.post("/api/v1/requests")
async def submit(request: web.Request) -> web.Response:
    # The JSON API is its own channel (the signed call says so, see client_address.channel_of);
    # a client can send a submission_key to retry safely.
    payload = await read_json(request)
    return await _forward(request.app[INTAKE].submit(payload))


@routes.get("/api/v1/bodies")
async def bodies(request: web.Request) -> web.Response:
    return await _forward(request.app[INTAKE].bodies())


@routes.get("/api/v1/themes")
async def themes(request: web.Request) -> web.Response:
    # A channel asks a body's themes before it submits to it: the ones a submission may name.
    body_id = request.query.get("body_id", "").strip()[:100] or None
    return await _forward(request.app[INTAKE].themes(body_id))


@routes.get("/api/v1/places")
async def places(request: web.Request) -> web.Response:
    return await _forward(request.app[INTAKE].places())


@routes.get("/api/v1/stats/bodies")
async def stats_bodies(request: web.Request) -> web.Response:
    return await _forward(request.app[STATS].bodies())
