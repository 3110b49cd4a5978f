"""The locks a consumer's transaction takes first, in one fixed order, so that copies of a
service applying batches side by side never deadlock.

Two copies of a service take messages from one queue at once. A batch applies its messages in
the order they came, and each handler locks its request's row: copy 1 may lock request A then
B while copy 2 locks B then A. PostgreSQL finds the cycle after ``deadlock_timeout`` (a second)
and fails one of the two batches, which is then retried: nothing is lost, but both copies stood
still meanwhile, and the more copies and the more load, the more often (the two-copies test saw
it in intake and in stats about one run in four).

A :data:`LockFirst` runs at the start of the transaction, before the inbox rows and the
handlers: whatever it locks is then taken in its order, and a handler locking the same rows
again waits for nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import asyncpg

LockFirst = Callable[[asyncpg.Connection, Sequence[Any]], Awaitable[None]]


def requests_in_order(table: str, key: str = "request_id") -> LockFirst:
    """Lock the rows of ``table`` whose ``key`` is the ``request_id`` of one of the messages, in
    the order of that id: for a service whose handlers lock their request's row."""
    # The sort is done before the rows are locked (the plan's LockRows sits above its Sort),
    # so the locks are taken in that order.
    statement = f"SELECT FROM {table} WHERE {key} = ANY($1::uuid[]) ORDER BY {key} FOR UPDATE"

    async def lock(conn: asyncpg.Connection, messages: Sequence[Any]) -> None:
        ids = {m.request_id for m in messages if getattr(m, "request_id", None) is not None}
        # One request too: its handlers may write its rows in other tables before locking it
        # (a deadline before an answer), another copy's after; locked first, it is never the
        # second lock of a cycle.
        if ids:
            await conn.execute(statement, sorted(ids))

    return lock


def _key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def one_at_a_time(name: str) -> LockFirst:
    """One transaction at a time across the copies (a transaction-level advisory lock named
    ``name``): for a service whose handlers all write the same few rows — counters — in an
    order the messages decide. Those rows already make the copies wait on each other; taking
    turns from the start costs that little more and never ends in a cycle."""
    key = _key(name)

    async def lock(conn: asyncpg.Connection, messages: Sequence[Any]) -> None:
        await conn.execute("SELECT pg_advisory_xact_lock($1)", key)

    return lock


def beside_others(name: str) -> LockFirst:
    """Any number of the consumer's transactions at once, but none while another transaction
    holds ``name`` alone (:func:`alone`): a transaction-level advisory lock named ``name``,
    shared. For a change that must see every row the consumer may be inserting, which a lock on
    rows cannot wait for (they are not there yet)."""
    key = _key(name)

    async def lock(conn: asyncpg.Connection, messages: Sequence[Any]) -> None:
        await conn.execute("SELECT pg_advisory_xact_lock_shared($1)", key)

    return lock


async def alone(conn: asyncpg.Connection, name: str) -> None:
    """Hold ``name`` alone until the transaction ends: wait for the consumer's transactions that
    hold it (:func:`beside_others`), and make the next ones wait. Take it before any row."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _key(name))


def in_turn(*locks: LockFirst) -> LockFirst:
    """``locks`` taken one after the other, in this order."""

    async def lock(conn: asyncpg.Connection, messages: Sequence[Any]) -> None:
        for each in locks:
            await each(conn, messages)

    return lock
