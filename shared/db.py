"""PostgreSQL: one pool per process, bound to the service's own schema, and a retried unit of work.

Every service keeps its tables in its own schema (``search_path`` is set on each connection), so
no service reads another's tables by accident.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import asyncpg

log = logging.getLogger(__name__)
T = TypeVar("T")

# Errors that say "the database is not there right now", not "this work is wrong".
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.ConnectionFailureError,
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.InterfaceError,
    # asyncpg #1069: after a server restart a pooled connection can fail once like this.
    asyncpg.exceptions.InternalClientError,
)


def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, TRANSIENT_ERRORS)


def stop_if_cancelled() -> None:
    """Raise ``CancelledError`` when the current task was asked to stop. For the loops that
    retry after any error: asyncpg, connecting to a server that is gone, can let the
    cancellation out as another error (MagicStack/asyncpg#1309), the loop caught it and slept,
    and the service never stopped while its database was down (its shutdown waited forever)."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Pool reset that sends nothing: asyncpg still rolls back an open transaction and drops the
    client-side listeners; our code sets no session state beyond the pool's own search_path, so
    the default reset query (one more round trip per unit of work) buys nothing here."""


async def create_pool(
    dsn: str,
    schema: str,
    *,
    min_size: int = 2,
    max_size: int = 10,
    command_timeout: float = 30.0,
) -> asyncpg.Pool:
    """A pool whose connections see ``schema`` first; waits for the server to answer."""
    delay = 0.2
    while True:
        try:
            return await asyncpg.create_pool(
                dsn,
                min_size=min_size,
                max_size=max_size,
                command_timeout=command_timeout,
                max_inactive_connection_lifetime=300,
                reset=_keep_session,
                server_settings={"search_path": f"{schema},public", "application_name": schema},
            )
        except TRANSIENT_ERRORS as exc:
            stop_if_cancelled()  # a process stopped while it starts
            log.warning("database not ready (%s), retrying in %.1fs", exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


async def run_in_transaction(
    pool: asyncpg.Pool,
    work: Callable[[asyncpg.Connection], Awaitable[T]],
    *,
    attempts: int = 3,
    acquire_timeout: float = 10.0,
) -> T:
    """Run ``work(conn)`` in one transaction; retry the whole unit when the failure is transient."""
    return await _retried(pool, work, True, attempts, acquire_timeout)


async def run_without_transaction(
    pool: asyncpg.Pool,
    work: Callable[[asyncpg.Connection], Awaitable[T]],
    *,
    attempts: int = 3,
    acquire_timeout: float = 10.0,
) -> T:
    """:func:`run_in_transaction` for work whose writes are one statement (atomic by itself):
    BEGIN and COMMIT would cost two more round trips and add nothing."""
    return await _retried(pool, work, False, attempts, acquire_timeout)


async def _retried(
    pool: asyncpg.Pool,
    work: Callable[[asyncpg.Connection], Awaitable[T]],
    transaction: bool,
    attempts: int,
    acquire_timeout: float,
) -> T:
    for attempt in range(1, attempts + 1):
        try:
            async with pool.acquire(timeout=acquire_timeout) as conn:
                if not transaction:
                    return await work(conn)
                async with conn.transaction():
                    return await work(conn)
        except TRANSIENT_ERRORS:
            stop_if_cancelled()
            if attempt == attempts:
                raise
            await asyncio.sleep(0.1 * attempt)
    raise AssertionError("unreachable")


def columns(rows: Sequence[Sequence[Any]], width: int) -> list[list[Any]]:
    """Rows of parameters turned into one list per column, for ``unnest($1::…[], $2::…[])``:
    a whole batch written in one statement."""
    return (
        [list(column) for column in zip(*rows, strict=True)] if rows else [[] for _ in range(width)]
    )


def json_records(rows: Iterable[Mapping[str, Any]]) -> str:
    """``rows`` as one JSON array for ``jsonb_to_recordset``, each with its position ``ord``
    (the statement keeps the first of two rows for the same key)."""
    return json.dumps([{**row, "ord": i} for i, row in enumerate(rows)])


async def ping(pool: asyncpg.Pool, timeout: float = 2.0) -> bool:
    try:
        async with pool.acquire(timeout=timeout) as conn:
            await conn.fetchval("SELECT 1", timeout=timeout)
        return True
    except Exception:  # any failure means "not ready"
        return False
