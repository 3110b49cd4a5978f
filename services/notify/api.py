"""Internal HTTP API: the delivery log of a request, for staff (analysts and administrators,
with the gateway's signed identity: the log names citizens' emails and phone numbers)."""

from __future__ import annotations

import uuid

from aiohttp import web

from services.notify import repository
from shared.identity import Role, requires
from shared.service import connection
from shared.web import json_error

routes = web.RouteTableDef()


@routes.get("/deliveries")
@requires(Role.ADMINISTRATOR, Role.ANALYST)
async def deliveries(request: web.Request) -> web.Response:
    """``GET /deliveries?request_id=<uuid>``: every email/SMS about the request, oldest first."""
    raw = request.query.get("request_id", "")
    try:
        request_id = uuid.UUID(raw)
    except ValueError:
        return json_error(400, "invalid_request_id", "request_id must be a UUID")
    async with connection(request) as conn:
        rows = await repository.deliveries_of(conn, request_id)
    return web.json_response([_public(row) for row in rows])


def _public(row) -> dict:
    out = dict(row)
    out["id"] = str(out["id"])
    for key in ("created_at", "sent_at", "failed_at", "next_attempt_at"):
        if out.get(key) is not None:
            out[key] = out[key].isoformat()
    return out
