"""Killing a process with SIGKILL at the worst moments loses nothing and duplicates nothing.

The fault is injected from outside the code under test: the process is started with
``tests/e2e/faults`` first on its path, whose ``sitecustomize`` wraps the consumer's
acknowledgement or the relay's publish and kills the process there, so that the kill lands exactly
between a commit and the acknowledgement (or a confirmed publish and the outbox mark) instead of
somewhere by chance. Production code knows nothing of it.
"""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

from tests.e2e.conftest import BODY, analyst_headers, submission
from tests.support import eventually, signed_session

SUBMITTED = "request.submitted.v1"
FAULTS = Path(__file__).resolve().parent / "faults"


async def _get(url: str, headers: dict | None = None):
    async with signed_session() as http, http.get(url, headers=headers) as resp:
        if resp.content_type == "application/json":
            return resp.status, await resp.json()
        return resp.status, await resp.text()


async def _submit(platform, email: str) -> str:
    async with (
        signed_session() as http,
        http.post(platform.url("gateway") + "/api/v1/requests", json=submission(email)) as resp,
    ):
        assert resp.status == 201, await resp.text()
        return (await resp.json())["code"]


async def _stats_total(platform) -> int:
    _, data = await _get(platform.url("stats") + "/stats/bodies")
    return next((b["total"] for b in data["bodies"] if b["body_id"] == BODY), 0)


async def _metric(platform, name: str, process: str, type_name: str = SUBMITTED) -> float:
    status, text = await _get(platform.metrics_url(process))
    if status != 200:
        return 0.0
    match = re.search(rf'^{name}\{{type="{re.escape(type_name)}"\}} (\S+)$', text, re.M)
    return float(match.group(1)) if match else 0.0


async def _restart(platform, name: str, **fault: str) -> None:
    """Restart ``name``; with ``fault`` (MILIE_TEST_KILL_AFTER_*), under tests/e2e/faults."""
    await platform.stop(name)
    env = (
        {"PYTHONPATH": os.pathsep.join([str(FAULTS), str(platform.cwd)]), **fault} if fault else {}
    )
    await platform.start(name, env)
    await platform.wait_ready([name])


async def test_consumer_killed_after_commit_before_ack(platform, smtp_server):
    await _restart(platform, "stats", MILIE_TEST_KILL_AFTER_COMMIT=SUBMITTED)
    email = "kill.consumer@example.ci"
    await _submit(platform, email)

    assert await platform.wait_exit("stats") == -signal.SIGKILL
    await _restart(platform, "stats")

    # The message comes back (the ack never left), is recognised and ignored.
    await eventually(lambda: _metric(platform, "milie_messages_duplicate_total", "stats"))
    assert await _stats_total(platform) == 1
    await smtp_server.wait_for(email)
    assert len(smtp_server.to(email)) == 1


async def _submit_with_key(platform, body: dict) -> str | None:
    """The code, or None when the process died before its answer left (the gateway says 503)."""
    async with (
        signed_session() as http,
        http.post(platform.url("gateway") + "/api/v1/requests", json=body) as resp,
    ):
        if resp.status == 503:
            return None
        assert resp.status in (200, 201), await resp.text()
        return (await resp.json())["code"]


async def test_relay_killed_after_publish_before_marking_sent(platform, smtp_server):
    await _restart(platform, "intake", MILIE_TEST_KILL_AFTER_PUBLISH=SUBMITTED)
    email = "kill.relay@example.ci"
    body = {**submission(email), "submission_key": "kill-relay-1"}
    # The relay wakes on the commit and may publish, and die, before the HTTP answer leaves:
    # the client then gets a 503 for a request that was stored.
    first = await _submit_with_key(platform, body)

    assert await platform.wait_exit("intake") == -signal.SIGKILL
    await _restart(platform, "intake")
    # The client sends it again with its key, as the API's documentation says: the same request.
    code = await _submit_with_key(platform, body)
    assert code is not None and first in (None, code)

    # The row was still unsent, so the restarted relay publishes it again: every consumer gets
    # it twice and applies it once.
    for process in ("stats", "notify", "triage"):
        await eventually(lambda p=process: _metric(platform, "milie_messages_duplicate_total", p))
    assert await _stats_total(platform) == 1
    await smtp_server.wait_for(email)
    assert len(smtp_server.to(email)) == 1
    status, item = await _get(platform.url("triage") + f"/queue/{code}", analyst_headers())
    assert status == 200 and item["code"] == code
