"""shared.periodic: a clock sweeps again after a failure, stops with the app, never runs at
interval 0, and shows a run of failed sweeps to Prometheus until one succeeds."""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import web
from prometheus_client import REGISTRY

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


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_a_run_of_failed_sweeps_is_shown_until_one_succeeds():
    """Three sweeps fail (the database answers, a query is wrong), then the fourth succeeds: the
    alert MilieClockFailing reads the run of failures, the counters say how each sweep ended."""
    failed_before = _sample("milie_clock_sweeps_total", task="probe-clock", outcome="failed")
    ok_before = _sample("milie_clock_sweeps_total", task="probe-clock", outcome="ok")
    calls: list[int] = []
    # The loop counts a sweep's outcome before it calls the next: the fourth call says the
    # third failure is counted, the fifth that the fourth's success is.
    fourth, fifth = asyncio.Event(), asyncio.Event()
    release = asyncio.Event()

    async def sweep(app) -> None:
        calls.append(1)
        if len(calls) <= 3:
            raise RuntimeError("column does not exist")
        if len(calls) == 4:
            fourth.set()
            await release.wait()
        else:
            fifth.set()

    async def during() -> None:
        await asyncio.wait_for(fourth.wait(), 10)
        assert _sample("milie_clock_consecutive_failures", task="probe-clock") == 3
        assert _sample("milie_clock_sweeps_total", task="probe-clock", outcome="failed") == (
            failed_before + 3
        )
        release.set()
        await asyncio.wait_for(fifth.wait(), 10)
        assert _sample("milie_clock_consecutive_failures", task="probe-clock") == 0

    await _run(0.001, sweep, during)
    assert _sample("milie_clock_sweeps_total", task="probe-clock", outcome="ok") > ok_before
    assert _sample("milie_clock_last_success_timestamp_seconds", task="probe-clock") > 0
