"""The catalogue a submission's check reads, kept in memory between catalogue changes.

Reading the body, theme and place a submission names was one of its two database round trips,
for a few hundred rows that change a few times a year. Each copy of intake keeps the four small
tables (active bodies, themes, active places, which themes a body offers) and answers
:func:`repository.catalogue_facts` from them; it forgets them when a statement changes the
catalogue: a trigger notifies ``milie_catalogue_<schema>`` (migration 0030), on which every copy
LISTENs. While that connection is down nothing is kept, so a change is never missed: each
submission then reads the database, as before.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg

from services.intake import repository
from services.intake.catalogue.repository import OTHER_THEME
from shared.db import stop_if_cancelled

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Catalogue:
    bodies: Mapping[str, asyncpg.Record]  # the active ones
    themes: Mapping[str, asyncpg.Record]  # all of them: a theme's parent may be inactive
    places: Mapping[str, asyncpg.Record]  # the active ones
    offered: Mapping[str, frozenset[str]]  # body → the themes it offers (none: every theme)

    @classmethod
    async def read(cls, conn: asyncpg.Connection) -> Catalogue:
        bodies = await conn.fetch("SELECT id, name, phones, location FROM bodies WHERE active")
        themes = await conn.fetch("SELECT id, parent_id, label, active FROM themes")
        places = await conn.fetch("SELECT id, region, name, kind FROM places WHERE active")
        pairs = await conn.fetch("SELECT body_id, theme_id FROM body_themes")
        offered: dict[str, set[str]] = {}
        for pair in pairs:
            offered.setdefault(pair["body_id"], set()).add(pair["theme_id"])
        return cls(
            bodies={r["id"]: r for r in bodies},
            themes={r["id"]: r for r in themes},
            places={r["id"]: r for r in places},
            offered={body: frozenset(ids) for body, ids in offered.items()},
        )

    def facts(self, body_id: str, theme_id: str | None, place_id: str | None) -> dict[str, Any]:
        """What :func:`repository.catalogue_facts` answers, column for column (a test compares
        the two over every body, theme and place)."""
        body = self.bodies.get(body_id)
        theme = self.themes.get(theme_id) if theme_id is not None else None
        if theme is not None and not theme["active"]:
            theme = None
        parent = self.themes.get(theme["parent_id"]) if theme and theme["parent_id"] else None
        place = self.places.get(place_id) if place_id is not None else None
        restricted = self.offered.get(body_id) if body is not None else None
        offered = (
            (theme is not None and theme["id"] == OTHER_THEME)
            or not restricted
            or (
                theme is not None
                and (theme["id"] in restricted or theme["parent_id"] in restricted)
            )
        )
        return {
            "body_id": body["id"] if body else None,
            "body_name": body["name"] if body else None,
            "body_phones": body["phones"] if body else None,
            "body_location": body["location"] if body else None,
            "theme_id": theme["id"] if theme else None,
            "theme_label": theme["label"] if theme else None,
            "theme_parent_label": parent["label"] if parent else None,
            "theme_offered": offered and (parent is None or parent["active"]),
            "place_id": place["id"] if place else None,
            "place_region": place["region"] if place else None,
            "place_name": place["name"] if place else None,
            "place_kind": place["kind"] if place else None,
        }


class CatalogueCache:
    def __init__(self, pool: asyncpg.Pool, schema: str) -> None:
        self.pool = pool
        self.channel = f"milie_catalogue_{schema}"
        self._catalogue: Catalogue | None = None
        # Moved on by every change: a read that started before a change is not kept after it.
        self._generation = 0
        self._listening = False

    async def facts(
        self, conn: asyncpg.Connection, body_id: str, theme_id: str | None, place_id: str | None
    ) -> Mapping[str, Any]:
        """:func:`repository.catalogue_facts`, from memory when nothing changed since."""
        if not self._listening:
            return await repository.catalogue_facts(conn, body_id, theme_id, place_id)
        catalogue = self._catalogue
        if catalogue is None:
            generation = self._generation
            catalogue = await Catalogue.read(conn)
            if self._listening and generation == self._generation:
                self._catalogue = catalogue
        return catalogue.facts(body_id, theme_id, place_id)

    def forget(self, *_: object) -> None:
        self._generation += 1
        self._catalogue = None

    def _stop_keeping(self, *_: object) -> None:
        self._listening = False
        self.forget()

    async def listen(self) -> None:
        """Hold a connection that LISTENs for catalogue changes; reconnect when it drops."""
        while True:
            try:
                async with self.pool.acquire() as conn:
                    conn.add_termination_listener(self._stop_keeping)
                    await conn.add_listener(self.channel, self.forget)
                    self.forget()  # what changed while nobody listened
                    self._listening = True
                    try:
                        while not conn.is_closed():
                            await asyncio.sleep(5)
                    finally:
                        self._stop_keeping()
                        if not conn.is_closed():
                            await conn.remove_listener(self.channel, self.forget)
                        conn.remove_termination_listener(self._stop_keeping)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                stop_if_cancelled()
                log.debug("catalogue listener lost (%s)", exc)
                await asyncio.sleep(1.0)
