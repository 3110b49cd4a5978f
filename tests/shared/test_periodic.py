"""shared.periodic: a clock sweeps again after a failure, stops with the app, and never runs at
interval 0."""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import web

from shared.periodic import every


def _clock_tasks() -> list[asyncio.Task]:
    return [t for t in asyncio.all_tasks() if t.get_name() == "probe-clock" and not t.done()]


async def _run(interval: float, sweep, during) -> None:
    """Start the context as aiohttp's cleanup_ctx does, run ``during``, then stop it."""
    ctx = every("probe-clock", lambda app: interval, sweep)(web.Application())
    await ctx.__anext__()
    await during()
    with contextlib.suppress(StopAsyncIteration):
        await ctx.__anext__()


async def test_a_failed_sweep_is_followed_by_the_next_and_the_clock_stops_with_the_app():
    calls: list[int] = []
    third = asyncio.Event()

    async def sweep(app) -> None:
        calls.append(len(calls))
        if len(calls) == 3:
            third.set()
        if len(calls) == 1:
            raise RuntimeError("a bug in the first sweep")

    async def during() -> None:
        assert len(_clock_tasks()) == 1
        await asyncio.wait_for(third.wait(), 10)

    await _run(0.001, sweep, during)
    assert len(calls) >= 3
    assert _clock_tasks() == []  # cancelled and awaited when the app stopped


async def test_interval_zero_never_sweeps():
    calls: list[int] = []

    async def sweep(app) -> None:
        calls.append(1)

    async def during() -> None:
        assert _clock_tasks() == []

    await _run(0, sweep, during)
    assert calls == []
