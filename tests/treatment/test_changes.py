"""Treatment's feed of changes (the ministry API's polling): a body's lines only, in order, and
never one skipped — a line whose transaction commits after a later one's still comes after the
cursor a poller was given in between."""

from __future__ import annotations

import asyncpg

from tests.support import eventually
from tests.treatment.conftest import AGENT, STRANGER

INSERT = """INSERT INTO history (request_id, occurred_at, kind, message)
            VALUES ($1, now(), 'tagged', $2)"""


async def _feed(treatment, after: str, count: int, identity=AGENT) -> dict:
    async def enough():
        status, feed = await treatment.api.get(f"/changes?after={after}", identity=identity)
        assert status == 200, feed
        return feed if len(feed["items"]) >= count else None

    return await eventually(enough)


async def test_a_line_that_commits_late_is_not_skipped(treatment, infrastructure):
    # A long write in another database of the cluster (another engineer's load) stalls nothing.
    elsewhere = await asyncpg.connect(infrastructure[0])
    busy = elsewhere.transaction()
    await busy.start()
    await elsewhere.fetchval("SELECT pg_current_xact_id()")
    try:
        await _late_line_comes_after(treatment)
    finally:
        await busy.rollback()
        await elsewhere.close()


async def _late_line_comes_after(treatment):
    first = await treatment.validated()
    second = await treatment.validated()
    await treatment.validated(body_id=STRANGER.body_id)  # another body's: never in ours
    feed = await _feed(treatment, "", 2)
    assert [(c["code"], c["kind"]) for c in feed["items"]] == [
        (first.code, "validated"),
        (second.code, "validated"),
    ]
    cursor = feed["next"]

    # A slow transaction writes its line first (the lower id), a quick one commits after it.
    async with treatment.pool.acquire() as slow:
        writing = slow.transaction()
        await writing.start()
        await slow.execute(INSERT, first.request_id, "la ligne lente")
        async with treatment.pool.acquire() as quick:
            await quick.execute(INSERT, second.request_id, "la ligne rapide")
        # The quick line is not given while the slow one may still come before it.
        status, feed = await treatment.api.get(f"/changes?after={cursor}")
        assert (status, feed["items"], feed["next"]) == (200, [], cursor)
        await writing.commit()

    feed = await _feed(treatment, cursor, 2)
    assert [c["message"] for c in feed["items"]] == ["la ligne lente", "la ligne rapide"]
    status, other = await treatment.api.get("/changes", identity=STRANGER)
    assert [c["kind"] for c in other["items"]] in ([], ["validated"])
    assert all(c["code"] not in (first.code, second.code) for c in other["items"])
    status, refused = await treatment.api.get("/changes?after=abc&limit=0")
    assert status == 400
    assert {e["field"] for e in refused["errors"]} == {"after", "limit"}
