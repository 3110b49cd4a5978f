"""What every page of « Traitements » shares: who may open them, their addresses, the page
that says triage (or intake) is not answering, the catalogue's choices for the selects, a
waiting request's deadline in words."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.backoffice import shell
from gateway.clients import catalogue
from gateway.clients.intake import INTAKE
from gateway.clients.transport import ServiceUnavailable
from shared.identity import Role
from shared.lifecycle import deadline_text

STAFF = (Role.ANALYST, Role.ADMINISTRATOR)
BASE = "/admin/traitements"
CODE = "{code:[0-9]{10}}"


async def unavailable(request: web.Request, what: str = "La file des requêtes") -> web.Response:
    return await shell.unavailable(request, what)


def deadline_of(item: dict) -> str:
    """« 3 jours ouvrés restants », « Dernier jour », « En retard de 2 jours ouvrés » (waiting
    requests)."""
    return deadline_text(item["days_left"], item["overdue"])


async def catalogue_choices(request: web.Request) -> dict[str, Any]:
    """Bodies, themes and places for the selects; empty lists when intake does not answer."""
    try:
        bodies = await catalogue.all_bodies(request)
        status, body = await request.app[INTAKE].themes()
        themes = catalogue.theme_groups(body["themes"]) if status == 200 else []
        regions = await catalogue.regions(request)
    except (ServiceUnavailable, KeyError):
        return {"bodies": [], "theme_groups": [], "regions": []}
    return {
        "bodies": sorted(((b["id"], b["name"]) for b in bodies), key=lambda b: b[1]),
        "theme_groups": themes,
        "regions": regions,
    }
