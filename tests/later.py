"""Cleanups that no test waits for: run in the background, one after another.

Dropping a test's database took the server 0.2–1 s here (files unlinked, a forced WAL flush on a
busy disk) and deleting its broker namespace ~0.05 s, in every test's teardown. Nothing reads a
dropped database or a deleted namespace again (their names are new to each test), so the next test
starts at once and the cleanup runs beside it. The session waits for the last one, and a cleanup
that failed fails the session's teardown with its error, as it failed the test's before.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable


class Later:
    def __init__(self) -> None:
        self._last: asyncio.Task[None] | None = None
        self._errors: list[BaseException] = []

    def add(self, cleanup: Callable[[], Awaitable[None]]) -> None:
        """Run ``cleanup()`` once those added before it are done (one at a time: one connection
        to the servers at a time, and the drops do not compete for the disk)."""
        self._last = asyncio.create_task(self._after(self._last, cleanup))

    async def _after(
        self, previous: asyncio.Task[None] | None, cleanup: Callable[[], Awaitable[None]]
    ) -> None:
        if previous is not None:
            with contextlib.suppress(Exception):
                await previous
        try:
            await cleanup()
        except Exception as exc:
            self._errors.append(exc)

    async def close(self) -> None:
        """Wait for every cleanup; raise the first that failed."""
        if self._last is not None:
            await self._last
        if self._errors:
            raise self._errors[0]
