"""The public JSON API for following a request, routed to intake.

Each route takes the citizen's ``email`` or, for a citizen who gave none (a call-centre caller),
their mobile number as ``phone`` (« 07 07 12 34 56 » or « +2250707123456 »), never both; the
same throttling and refusals either way.

``POST /api/v1/tracking`` ``{code, email}``, ``POST /api/v1/tracking/rewrite``
``{code, email, message}``, ``POST /api/v1/tracking/opinion`` ``{code, email, opinion, comment}``
(opinion: satisfied, partly_satisfied, not_satisfied), ``POST /api/v1/tracking/reopen``
``{code, email, message}`` (202 recorded; 409 ``not_answered``, ``already_given``,
``already_reopened``, ``closed``), ``POST /api/v1/tracking/codes-reminder`` ``{email}`` or
``{phone}`` (the codes by SMS): intake's answers as they are (4xx JSON with the faulty fields),
and a throttled answer is a 429 with ``Retry-After``. The client's address is the gateway's to
say: it goes in the call's signed envelope (``clients.transport``), and a ``client_address``
field sent by the caller is refused by intake (422).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from gateway.clients.intake import INTAKE, Answer
from gateway.clients.transport import ServiceUnavailable
from gateway.web.errors import api_unavailable, passed_on
from shared.web import json_error, read_json

routes = web.RouteTableDef()


async def _forward(request: web.Request, send: Callable[[Any], Awaitable[Answer]]) -> web.Response:
    """The client's JSON object, passed to intake by ``send`` (a method of the intake client)."""
    payload = await read_json(request)
    if not isinstance(payload, dict):
        return json_error(
            422,
            "validation_failed",
            "Certains champs sont invalides.",
            errors=[{"field": "body", "code": "model_type", "message": "Un objet JSON attendu."}],
        )
    try:
        status, body = await send(payload)
    except ServiceUnavailable:
        return api_unavailable()
    return passed_on(status, body)


@routes.post("/api/v1/tracking")
async def track(request: web.Request) -> web.Response:
    return await _forward(request, request.app[INTAKE].track_as_sent)


@routes.post("/api/v1/tracking/rewrite")
async def rewrite(request: web.Request) -> web.Response:
    return await _forward(request, request.app[INTAKE].rewrite_as_sent)


@routes.post("/api/v1/tracking/opinion")
async def opinion(request: web.Request) -> web.Response:
    return await _forward(request, request.app[INTAKE].give_opinion_as_sent)


@routes.post("/api/v1/tracking/reopen")
async def reopen(request: web.Request) -> web.Response:
    return await _forward(request, request.app[INTAKE].reopen_as_sent)


@routes.post("/api/v1/tracking/codes-reminder")
async def codes_reminder(request: web.Request) -> web.Response:
    return await _forward(request, request.app[INTAKE].remind_codes_as_sent)
