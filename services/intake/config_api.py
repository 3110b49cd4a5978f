"""Intake's configuration table over HTTP (administrators, through the back office's client).

- ``GET /config`` → every setting with its value (``limits.Config``: the anonymous channels'
  limits, the proof of work, the SMS countries).
- ``PUT /config`` ``{setting: value, …}`` → 200 the whole configuration, or 422 naming the
  setting refused. Every copy of intake applies it within ``ConfigCache.ttl`` seconds.
"""

from __future__ import annotations

from aiohttp import web

from services.intake import limits
from shared.identity import Role, identity_of, requires
from shared.service import transaction
from shared.web import FieldErrors, field_error, read_json

routes = web.RouteTableDef()


@routes.get("/config")
@requires(Role.ADMINISTRATOR)
async def show(request: web.Request) -> web.Response:
    config = await request.app[limits.CONFIG_CACHE].get()
    return web.json_response(limits.as_json(config))


@routes.put("/config")
@requires(Role.ADMINISTRATOR)
async def change(request: web.Request) -> web.Response:
    values = await read_json(request)
    if not isinstance(values, dict) or not values:
        raise FieldErrors([field_error("config", "Indiquez les réglages à changer.")])
    cache = request.app[limits.CONFIG_CACHE]
    identity = identity_of(request)
    by = identity.staff_id if identity is not None else None

    async def work(conn) -> limits.Config:
        try:
            return await limits.store(conn, values, by or "", cache.defaults)
        except ValueError as exc:
            key, _, message = str(exc).partition(": ")
            raise FieldErrors([field_error(key, message, "invalid_setting")]) from None

    config = await transaction(request, work)
    cache.forget()
    return web.json_response(limits.as_json(config))
