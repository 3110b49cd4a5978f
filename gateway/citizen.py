"""The citizen's home page, and the page shown when a service does not answer.

« Soumettre une requête »: ``submission``; « Suivre une requête »: ``tracking_pages``;
« Organismes »: ``directory``; « Statistiques »: ``public_stats``.
"""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web

from gateway import csrf

routes = web.RouteTableDef()


def unavailable(request: web.Request) -> web.Response:
    return aiohttp_jinja2.render_template(
        "unavailable.html", request, {"csrf_token": csrf.token_for(request)}, status=503
    )


@routes.get("/")
@aiohttp_jinja2.template("home.html")
async def home(request: web.Request) -> dict[str, Any]:
    return {}
