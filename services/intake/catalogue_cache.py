"""The catalogue rows a submission names, kept in memory between catalogue changes.

Reading the body, theme and place a submission names was one of its two database round trips,
for rows that change a few times a year. Each copy of intake keeps what it read and forgets all
of it when a statement changes the catalogue: a trigger notifies ``milie_catalogue_<schema>``
(migration 0030), on which every copy LISTENs. While that connection is down nothing is kept,
so a change is never missed: each submission then reads the database, as before.
"""

from __future__ import annotations

import asyncio
import logging

import asyncpg

from services.intake import repository

log = logging.getLogger(__name__)

# Bodies × themes × places named together: far fewer in practice; a bound all the same.
MAX_ENTRIES = 10_000

Key = tuple[str, str | None, str | None]


class CatalogueCache:
    def __init__(self, pool: asyncpg.Pool, schema: str) -> None:
        self.pool = pool
        self.channel = f"milie_catalogue_{schema}"
        self._facts: dict[Key, asyncpg.Record] = {}
        # Moved on by every change: a read that started before a change is not kept after it.
        self._generation = 0
        self._listening = False

    async def facts(
        self, conn: asyncpg.Connection, body_id: str, theme_id: str | None, place_id: str | None
    ) -> asyncpg.Record:
        """:func:`repository.catalogue_facts`, from memory when nothing changed since."""
        key = (body_id, theme_id, place_id)
        if self._listening and (kept := self._facts.get(key)) is not None:
            return kept
        generation = self._generation
        facts = await repository.catalogue_facts(conn, body_id, theme_id, place_id)
        if self._listening and generation == self._generation:
            if len(self._facts) >= MAX_ENTRIES:
                self._facts.clear()
            self._facts[key] = facts
        return facts

    def forget(self, *_: object) -> None:
        self._generation += 1
        self._facts.clear()

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
                log.debug("catalogue listener lost (%s)", exc)
                await asyncio.sleep(1.0)
