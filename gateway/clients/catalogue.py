"""What the citizen pages read from intake's catalogue, shaped for the templates.

The form page's part of it (a body with its themes, the places) is kept :data:`KEPT_SECONDS`
per gateway copy, as the back office keeps body names: it changes a few times a year, and every
form page asked intake for it twice (two calls, four statements, ~130 rows). A change shows on
the form at most that long after; a submission is still checked by intake against its own
copy, which follows every change, so a choice gone meanwhile comes back as a field error.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from gateway.clients.intake import INTAKE
from gateway.clients.transport import ServiceUnavailable
from gateway.web import forms
from shared.numbers import whole

# Every body on one page (issue 12: ten a page hid most ministries two taps away on a phone);
# intake's most a page, so a catalogue grown past it still pages.
PER_PAGE = 100
# The catalogue's identifiers (intake refuses others); checked before one goes into a URL.
CATALOGUE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
KEPT_SECONDS = 60.0


class Kept:
    """Answers kept by key for ``seconds``; callers that miss the same key at once share one
    call. At most ``most`` keys (one per active body, and the places): past that, all go."""

    def __init__(self, seconds: float = KEPT_SECONDS, most: int = 1000) -> None:
        self.seconds = seconds
        self.most = most
        self._answers: dict[str, tuple[float, Any]] = {}
        self._fetching: dict[str, asyncio.Future] = {}

    async def get(self, key: str, fetch: Callable[[], Awaitable[Any]]) -> Any:
        """The kept answer, or ``fetch()``'s (kept unless None); raises what ``fetch`` raises."""
        kept = self._answers.get(key)
        if kept is not None and time.monotonic() < kept[0]:
            return kept[1]
        pending = self._fetching.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._fetch(key, fetch))
            # Retrieved even when every caller went away (its ServiceUnavailable is no news).
            pending.add_done_callback(lambda f: f.cancelled() or f.exception())
            self._fetching[key] = pending
        # Shielded: a browser that leaves does not cancel the call the others wait for.
        return await asyncio.shield(pending)

    def forget(self) -> None:
        """Drop every kept answer (this copy's catalogue just changed)."""
        self._answers.clear()

    async def _fetch(self, key: str, fetch: Callable[[], Awaitable[Any]]) -> Any:
        try:
            answer = await fetch()
        finally:
            del self._fetching[key]
        if answer is not None:
            if len(self._answers) >= self.most:
                self._answers.clear()
            self._answers[key] = (time.monotonic() + self.seconds, answer)
        return answer


KEPT = web.AppKey("catalogue_kept", Kept)


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
    return whole(raw, 1, 10_000) or 1


def search_text(request: web.Request) -> str:
    return request.query.get("q", "").strip()[: forms.MAX_LENGTHS["q"]]


async def search_bodies(request: web.Request, q: str, number: int) -> Page:
    """Active bodies matching ``q``, by subject (« Affaires étrangères », « Agriculture »…).
    Raises ServiceUnavailable."""
    status, body = await request.app[INTAKE].search_bodies(q, number, PER_PAGE)
    if status != 200:
        raise ServiceUnavailable("intake")
    page = Page(body["bodies"], body["total"], number, PER_PAGE)
    if not page.items and page.total and number > page.count:
        # A page past the last (an old link, bodies withdrawn since): the last one, rather than
        # « Aucun organisme ne correspond » to a search nobody made.
        return await search_bodies(request, q, page.count)
    return page


async def all_bodies(request: web.Request) -> list[dict[str, Any]]:
    status, body = await request.app[INTAKE].bodies()
    if status != 200:
        raise ServiceUnavailable("intake")
    return body["bodies"]


async def body_with_themes(request: web.Request, body_id: str) -> dict[str, Any] | None:
    """``{"body", "theme_groups"}`` for an active body, None when there is no such body
    (kept :data:`KEPT_SECONDS`; a body not found is asked again)."""
    if not CATALOGUE_ID.match(body_id):
        return None

    async def fetch() -> dict[str, Any] | None:
        status, body = await request.app[INTAKE].body(body_id)
        if status == 404:
            return None
        if status != 200:
            raise ServiceUnavailable("intake")
        return {"body": body["body"], "theme_groups": theme_groups(body["themes"])}

    return await request.app[KEPT].get(f"body:{body_id}", fetch)


def theme_groups(themes: list[dict[str, Any]]) -> list[tuple[dict, list[dict]]]:
    """(theme, its sub-themes) in order: a theme with sub-themes is a group heading, one without
    is a choice of its own."""
    children: dict[str, list] = {}
    for theme in themes:
        if theme["parent_id"]:
            children.setdefault(theme["parent_id"], []).append(theme)
    return [(t, children.get(t["id"], [])) for t in themes if not t["parent_id"]]


@dataclass(frozen=True)
class Places:
    regions: list[tuple[str, list[dict[str, Any]]]]  # places grouped by region, in order
    options: forms.Options  # « Commune ou S/Préfecture », rendered once per copy


async def places(request: web.Request) -> Places:
    """The active places (kept :data:`KEPT_SECONDS`). Raises ServiceUnavailable."""

    async def fetch() -> Places:
        status, body = await request.app[INTAKE].places()
        if status != 200:
            raise ServiceUnavailable("intake")
        grouped: dict[str, list] = {}
        for place in body["places"]:
            grouped.setdefault(place["region"], []).append(place)
        regions = list(grouped.items())
        options = forms.Options.of(
            (region, [(p["id"], p["name"]) for p in group]) for region, group in regions
        )
        return Places(regions, options)

    return await request.app[KEPT].get("places", fetch)


async def regions(request: web.Request) -> list[tuple[str, list[dict[str, Any]]]]:
    """Places grouped by region, in the catalogue's order."""
    return (await places(request)).regions
