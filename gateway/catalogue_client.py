"""What the citizen pages read from intake's catalogue, shaped for the templates."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from gateway.clients import ServiceUnavailable
from gateway.keys import SERVICES

PER_PAGE = 10  # « Afficher 10 Résultats par page »
# The catalogue's identifiers (intake refuses others); checked before one goes into a URL.
CATALOGUE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")


@dataclass(frozen=True)
class Page:
    """One page of a search: the items, how many there are in all, where we are."""

    items: list[dict[str, Any]]
    total: int
    number: int
    per_page: int

    @property
    def count(self) -> int:
        return max(1, -(-self.total // self.per_page))


def page_number(request: web.Request) -> int:
    raw = request.query.get("page", "1")
    return int(raw) if raw.isdigit() and 0 < int(raw) <= 10_000 else 1


def search_text(request: web.Request) -> str:
    return request.query.get("q", "").strip()[:100]


async def search_bodies(request: web.Request, q: str, number: int) -> Page:
    """Raises ServiceUnavailable."""
    status, body = await request.app[SERVICES].call(
        "GET",
        "intake",
        "/catalogue/bodies",
        params={"q": q, "page": str(number), "per_page": str(PER_PAGE)},
    )
    if status != 200:
        raise ServiceUnavailable("intake")
    return Page(body["bodies"], body["total"], number, PER_PAGE)


async def all_bodies(request: web.Request) -> list[dict[str, Any]]:
    status, body = await request.app[SERVICES].call("GET", "intake", "/catalogue/bodies")
    if status != 200:
        raise ServiceUnavailable("intake")
    return body["bodies"]


async def body_with_themes(request: web.Request, body_id: str) -> dict[str, Any] | None:
    """``{"body", "theme_groups"}`` for an active body, None when there is no such body."""
    if not CATALOGUE_ID.match(body_id):
        return None
    status, body = await request.app[SERVICES].call("GET", "intake", f"/catalogue/bodies/{body_id}")
    if status == 404:
        return None
    if status != 200:
        raise ServiceUnavailable("intake")
    return {"body": body["body"], "theme_groups": theme_groups(body["themes"])}


def theme_groups(themes: list[dict[str, Any]]) -> list[tuple[dict, list[dict]]]:
    """(theme, its sub-themes) in order: a theme with sub-themes is a group heading, one without
    is a choice of its own."""
    children: dict[str, list] = {}
    for theme in themes:
        if theme["parent_id"]:
            children.setdefault(theme["parent_id"], []).append(theme)
    return [(t, children.get(t["id"], [])) for t in themes if not t["parent_id"]]


async def regions(request: web.Request) -> list[tuple[str, list[dict[str, Any]]]]:
    """Places grouped by region, in the catalogue's order."""
    status, body = await request.app[SERVICES].call("GET", "intake", "/catalogue/places")
    if status != 200:
        raise ServiceUnavailable("intake")
    grouped: dict[str, list] = {}
    for place in body["places"]:
        grouped.setdefault(place["region"], []).append(place)
    return list(grouped.items())
