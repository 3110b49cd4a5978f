"""« Organismes »: the public bodies with their telephones and locations, searchable, paged."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from gateway.clients import catalogue
from gateway.clients.transport import ServiceUnavailable
from gateway.web.errors import unavailable

routes = web.RouteTableDef()


@routes.get("/organismes")
async def directory(request: web.Request) -> web.Response:
    q = catalogue.search_text(request)
    try:
        page = await catalogue.search_bodies(request, q, catalogue.page_number(request))
    except ServiceUnavailable:
        return unavailable(request)
    return aiohttp_jinja2.render_template(
        "organismes.html", request, {"q": q, "page": page, "page_query": {"q": q}}
    )
