"""Rows past their keeping time, removed in bounded batches.

Miliê runs for years: every table is either bounded by design or cleaned. A cleaning deletes at
most ``batch`` rows a statement, each statement its own transaction, so a year's backlog (the
first sweep after an upgrade) goes without one long lock or one huge transaction. Rows are taken
``FOR UPDATE SKIP LOCKED``: several copies of a service may sweep at once, each skipping what
another is deleting.
"""

from __future__ import annotations

import asyncpg

# Rows a statement: a few hundred milliseconds of work, far from any lock timeout.
BATCH = 10_000
ACQUIRE_TIMEOUT = 10.0


async def delete_in_batches(
    pool: asyncpg.Pool, table: str, where: str, *args: object, batch: int = BATCH
) -> int:
    """Delete the rows of ``table`` that ``where`` selects (its parameters ``$1``… are
    ``args``), ``batch`` rows a statement, until none is left; how many went.

    ``table`` and ``where`` are the caller's constants, never a user's text; ``where`` should
    be served by an index (a batch would otherwise read the whole table)."""
    limit = f"${len(args) + 1}"
    # By ctid: one statement for any table, whatever its key (one column or several).
    sql = f"""DELETE FROM {table} WHERE ctid = ANY(ARRAY(
                  SELECT ctid FROM {table} WHERE {where}
                  LIMIT {limit} FOR UPDATE SKIP LOCKED))"""  # noqa: S608 - constants
    gone = 0
    while True:
        # A connection per batch, waited for a while only: the sweep gives way to the requests
        # and the consumer, and a pool exhausted fails this sweep rather than hanging it.
        async with pool.acquire(timeout=ACQUIRE_TIMEOUT) as conn:
            status = await conn.execute(sql, *args, batch)
        count = int(status.rpartition(" ")[2] or 0)
        gone += count
        if count < batch:
            return gone
