"""The citizen's home page (the page shown when a service does not answer: ``web.errors``).

« Soumettre une requête »: ``submission``; « Suivre une requête »: ``tracking``;
« Organismes »: ``directory``; « Statistiques »: ``statistics``.
"""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web

routes = web.RouteTableDef()


@routes.get("/")
@aiohttp_jinja2.template("home.html")
async def home(request: web.Request) -> dict[str, Any]:
    return {}
