"""The inbox keeps a consumed message's id ``inbox_kept_days``, then the service's clock removes
it; a message that comes again meanwhile is still dropped."""

from __future__ import annotations

import uuid

from prometheus_client import REGISTRY

from services.stats.app import create_app
from services.stats.settings import StatsSettings
from shared import inbox
from shared.db import create_pool
from shared.messages import RequestSubmittedV1
from shared.service import POOL
from tests.support import RunningApp, eventually, publish_event, submitted_event

SUBMITTED = RequestSubmittedV1.type_name()


async def _received(pool, days_ago: int) -> uuid.UUID:
    message_id = uuid.uuid4()
    await pool.execute(
        """INSERT INTO inbox (message_id, message_type, received_at)
           VALUES ($1, 'request.submitted.v1', now() - make_interval(days => $2))""",
        message_id,
        days_ago,
    )
    return message_id


async def test_ids_older_than_the_keeping_time_go_and_the_others_stay(database_url):
    pool = await create_pool(database_url, "triage", min_size=1, max_size=2)
    try:
        old = [await _received(pool, days) for days in (400, 31)]
        recent = [await _received(pool, days) for days in (29, 0)]
        # Batches smaller than the backlog: every old id goes, in several statements.
        assert await inbox.forget_old(pool, 30, batch=1) == 2
        left = {r["message_id"] for r in await pool.fetch("SELECT message_id FROM inbox")}
        assert left == set(recent)
        assert not left & set(old)
        assert await inbox.forget_old(pool, 30) == 0
    finally:
        await pool.close()


def _duplicates() -> float:
    return REGISTRY.get_sample_value("milie_messages_duplicate_total", {"type": SUBMITTED}) or 0.0


async def test_the_clock_removes_old_ids_and_a_message_again_within_the_time_is_dropped(
    settings_for, amqp_url, namespace
):
    settings = settings_for(StatsSettings, retention_sweep_seconds=0.1)
    event = submitted_event()
    async with RunningApp(create_app(settings)) as running:
        pool = running.app[POOL]
        message_id = await publish_event(amqp_url, namespace, event)

        async def counted() -> bool:
            return await pool.fetchval(
                "SELECT count(*) FROM request_facts WHERE request_id = $1", event.request_id
            )

        await eventually(counted)
        # Applied 29 days ago, within the month the inbox keeps it; another one long ago.
        await pool.execute(
            "UPDATE inbox SET received_at = now() - interval '29 days' WHERE message_id = $1",
            uuid.UUID(message_id),
        )
        forgotten = await _received(pool, 31)

        async def swept() -> bool:
            return not await pool.fetchval(
                "SELECT count(*) FROM inbox WHERE message_id = $1", forgotten
            )

        await eventually(swept)  # the app's own clock (retention_sweep_seconds)
        before = _duplicates()
        await publish_event(amqp_url, namespace, event, message_id=message_id)

        async def dropped() -> bool:
            return _duplicates() >= before + 1

        await eventually(dropped)
        assert (
            await pool.fetchval(
                "SELECT count(*) FROM request_facts WHERE request_id = $1", event.request_id
            )
            == 1
        )
        assert await pool.fetchval("SELECT sum(count) FROM daily_counts") == 1
