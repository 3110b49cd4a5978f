"""What the tests of the messaging backbone share: a service of their own, « probe »."""

from __future__ import annotations

import pytest

from shared.db import create_pool
from shared.migrations import migrate
from tests.support import PROBE


@pytest.fixture
async def pool(database_url):
    """The probe service's pool on its migrated schema (inbox, outbox, …), with a table of
    ``effects`` for the tests' handlers to write."""
    pool = await create_pool(database_url, PROBE, min_size=1, max_size=6)
    async with pool.acquire() as conn:
        await migrate(conn, PROBE, None)
        await conn.execute("CREATE TABLE effects (request_id uuid, code text)")
    yield pool
    await pool.close()
