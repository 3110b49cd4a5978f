"""The locks a consumer's transaction takes first (shared.lock_order), on a real PostgreSQL and
RabbitMQ: in one order whatever the messages' order, before the inbox and the handlers."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from shared import lock_order
from shared.broker import Broker
from shared.consumer import Consumer
from shared.lock_order import beside_others, in_turn, one_at_a_time, requests_in_order
from shared.messages import RequestSubmittedV1
from shared.topology import EVENTS, Topology
from tests.support import PROBE, eventually, publish_event, submitted_event


@pytest.fixture
async def pool(pool):
    await pool.execute("CREATE TABLE cases (request_id uuid PRIMARY KEY)")
    return pool


async def _waiting_on_a_lock(pool, conn: asyncpg.Connection) -> bool:
    pid = conn.get_server_pid()
    return await pool.fetchval(
        "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1", pid
    )


class _About:
    def __init__(self, request_id: uuid.UUID) -> None:
        self.request_id = request_id


async def test_requests_are_locked_in_the_order_of_their_ids_whatever_the_messages_order(pool):
    first, second = sorted(uuid.uuid4() for _ in range(2))
    await pool.execute("INSERT INTO cases VALUES ($1), ($2)", first, second)
    lock = requests_in_order("cases")
    async with pool.acquire() as holder, pool.acquire() as batch, pool.acquire() as probe:
        async with holder.transaction():
            await holder.execute("SELECT FROM cases WHERE request_id = $1 FOR UPDATE", second)

            async def apply() -> None:
                async with batch.transaction():
                    # The messages name the second request first.
                    await lock(batch, [_About(second), _About(first), object()])

            applying = asyncio.create_task(apply())
            await eventually(lambda: _waiting_on_a_lock(pool, batch))
            # Waiting for the second, the batch already holds the first: a copy that holds the
            # first waits for it instead of holding it against the batch (no cycle).
            with pytest.raises(asyncpg.LockNotAvailableError):
                async with probe.transaction():
                    await probe.execute(
                        "SELECT FROM cases WHERE request_id = $1 FOR UPDATE NOWAIT", first
                    )
        await applying


async def test_one_at_a_time_makes_the_second_transaction_wait_for_the_first(pool):
    lock = one_at_a_time("milie.probe.counters")
    async with pool.acquire() as one, pool.acquire() as other:
        async with one.transaction():
            await lock(one, [])

            async def second() -> str:
                async with other.transaction():
                    await lock(other, [])
                    return "done"

            waiting = asyncio.create_task(second())
            await eventually(lambda: _waiting_on_a_lock(pool, other))
            assert not waiting.done()
        assert await waiting == "done"


async def test_batches_side_by_side_and_a_change_alone_wait_for_each_other(pool):
    name = "milie.probe.policy"
    shared_first = in_turn(beside_others(name), requests_in_order("cases"))
    async with (
        pool.acquire() as one,
        pool.acquire() as other,
        pool.acquire() as change,
        pool.acquire() as late,
    ):
        async with one.transaction(), other.transaction():
            # Two batches at once: neither waits for the other.
            await shared_first(one, [])
            await shared_first(other, [])

            async def alone() -> str:
                async with change.transaction():
                    await lock_order.alone(change, name)
                    return "done"

            changing = asyncio.create_task(alone())
            await eventually(lambda: _waiting_on_a_lock(pool, change))

            async def after() -> str:
                async with late.transaction():
                    await shared_first(late, [])
                    return "done"

            # A batch that comes while the change waits waits behind it.
            batch = asyncio.create_task(after())
            await eventually(lambda: _waiting_on_a_lock(pool, late))
        assert await changing == "done"
        assert await batch == "done"


async def test_the_consumer_takes_them_first_before_the_inbox_and_the_handlers(
    pool, amqp_url, namespace
):
    seen: list[tuple[str, object]] = []

    async def lock_first(conn: asyncpg.Connection, messages) -> None:
        claimed = await conn.fetchval("SELECT count(*) FROM inbox")
        seen.append(("locks", (sorted(str(m.request_id) for m in messages), claimed)))

    async def handler(conn, event: RequestSubmittedV1, delivery) -> None:
        seen.append(("handler", str(event.request_id)))

    broker = Broker(amqp_url, Topology(namespace), PROBE)
    await broker.connect()
    consumer = Consumer(
        service=PROBE,
        pool=pool,
        broker=broker,
        handlers={RequestSubmittedV1.type_name(): handler},
        bindings=[(EVENTS, "request.submitted")],
        lock_first=lock_first,
    )
    await consumer.start()
    try:
        event = submitted_event()
        await publish_event(amqp_url, namespace, event)

        async def handled() -> bool:
            return any(kind == "handler" for kind, _ in seen)

        await eventually(handled)
    finally:
        await consumer.stop()
        await broker.close()
    assert seen[0] == ("locks", ([str(event.request_id)], 0))
    assert seen[-1] == ("handler", str(event.request_id))
