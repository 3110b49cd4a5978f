"""The citizen's reading pages, from the guide's menu: « À propos », « Informations », « Le guide »;
and the full text of the terms (« Conditions d'utilisation »), linked from the form.

They hold no data of their own: the natures and their hints come from the submission pages, the
steps of treatment from the tracking pages, so that a word changed there is changed here too.
"""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web

from gateway.citizen.submission import NATURE_HINTS
from shared.lifecycle import STEPS

routes = web.RouteTableDef()


def _natures() -> list[tuple[str, str]]:
    return [(nature.label, hint) for nature, hint in NATURE_HINTS.items()]


@routes.get("/a-propos")
@aiohttp_jinja2.template("about.html")
async def about(request: web.Request) -> dict[str, Any]:
    return {"natures": _natures()}


@routes.get("/informations")
@aiohttp_jinja2.template("informations.html")
async def informations(request: web.Request) -> dict[str, Any]:
    return {}


@routes.get("/guide")
@aiohttp_jinja2.template("guide.html")
async def guide(request: web.Request) -> dict[str, Any]:
    return {"natures": _natures(), "steps": STEPS}


@routes.get("/conditions-utilisation")
@aiohttp_jinja2.template("conditions.html")
async def conditions(request: web.Request) -> dict[str, Any]:
    """The full text of the terms the form's one sentence accepts."""
    return {}
