"""Work that time alone starts (a service's clock): one ``cleanup_ctx`` that runs a sweep every
so many seconds from the app's start until it stops.

Several copies of a service may tick at once: each sweep must be safe to run concurrently (rows
taken with ``FOR UPDATE SKIP LOCKED``, idempotent keys). A failed sweep is logged and the next
one tries again: a database away is a warning, anything else an error with its trace. Each
sweep is counted by how it ended (``milie_clock_sweeps_total``) and a run of failures is shown
(``milie_clock_consecutive_failures``, alert ``MilieClockFailing``): the log alone would let a
clock stop doing its work for days.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from shared import metrics
from shared.db import is_transient, stop_if_cancelled

log = logging.getLogger(__name__)


def every(
    name: str,
    interval: Callable[[web.Application], float],
    sweep: Callable[[web.Application], Awaitable[object]],
) -> Callable[[web.Application], AsyncIterator[None]]:
    """The app's context that awaits ``sweep(app)`` every ``interval(app)`` seconds (read from
    its settings at start; 0 or less: never). ``name`` names the task and the log lines."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        seconds = interval(app)

        failures = metrics.CLOCK_CONSECUTIVE_FAILURES.labels(name)

        async def loop() -> None:
            while True:
                try:
                    await sweep(app)
                except Exception as exc:
                    stop_if_cancelled()
                    metrics.CLOCK_SWEEPS.labels(name, "failed").inc()
                    failures.inc()
                    if is_transient(exc):
                        log.warning("%s could not sweep: %r", name, exc)
                    else:
                        log.exception("%s failed; the next sweep tries again", name)
                else:
                    metrics.CLOCK_SWEEPS.labels(name, "ok").inc()
                    failures.set(0)
                    metrics.CLOCK_LAST_SUCCESS.labels(name).set_to_current_time()
                await asyncio.sleep(seconds)

        task = asyncio.create_task(loop(), name=name) if seconds > 0 else None
        yield
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return ctx
