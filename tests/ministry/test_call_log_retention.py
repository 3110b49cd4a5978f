"""The ministry API's call log is kept a year (``api_calls_kept_days``), then removed."""

from __future__ import annotations

from gateway.staff import api_keys
from shared.db import create_pool


async def test_calls_older_than_the_keeping_time_go_and_the_others_stay(database_url):
    pool = await create_pool(database_url, "gateway", min_size=1, max_size=2)
    try:
        await pool.execute(
            """INSERT INTO api_calls (at, key_id, body_id, method, operation, status, address)
               SELECT now() - make_interval(days => d), 'k1', 'ministere-budget', 'GET',
                      'listRequests', 200, '192.0.2.1'
               FROM unnest(ARRAY[400, 366, 364, 10, 0]) AS d"""
        )
        # Batches smaller than the backlog: every old line goes, in several statements.
        assert await api_keys.forget_old_calls(pool, 365, batch=1) == 2
        left = await pool.fetch("SELECT at FROM api_calls ORDER BY at")
        assert len(left) == 3
        assert await pool.fetchval(
            "SELECT bool_and(at > now() - interval '365 days') FROM api_calls"
        )
        assert await api_keys.forget_old_calls(pool, 365) == 0
    finally:
        await pool.close()
