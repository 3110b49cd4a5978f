"""The messaging backbone on real PostgreSQL and RabbitMQ: outbox, inbox, dead letters, queues."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import shutil
import subprocess
import uuid
from urllib.parse import urlsplit

import aio_pika
import aiormq
import asyncpg
import pytest

from shared.broker import Broker, Refused, Unroutable
from shared.consumer import Consumer
from shared.messages import RequestSubmittedV1
from shared.migrations import SHARED_SQL, migrate, migration_files
from shared.outbox import OutboxRelay, add
from shared.service import CONSUMER
from shared.topology import DEAD_LETTER, EVENTS, Topology
from tests.support import (
    PROBE,
    RunningApp,
    dead_letters,
    eventually,
    publish_event,
    submitted_event,
)

SERVICE = PROBE


@pytest.fixture
async def broker(amqp_url, namespace):
    broker = Broker(amqp_url, Topology(namespace), SERVICE)
    await broker.connect()
    yield broker
    await broker.close()


async def record_effect(conn, event: RequestSubmittedV1, delivery) -> None:
    await conn.execute("INSERT INTO effects VALUES ($1, $2)", event.request_id, event.code)


async def effects(pool) -> int:
    return await pool.fetchval("SELECT count(*) FROM effects")


@pytest.fixture
async def consumer(pool, broker):
    handlers = {RequestSubmittedV1.type_name(): record_effect}
    consumer = Consumer(
        service=SERVICE,
        pool=pool,
        broker=broker,
        handlers=handlers,
        bindings=[(EVENTS, "request.submitted")],
        handler_attempts=3,
    )
    await consumer.start()
    yield consumer
    await consumer.stop()


async def test_same_message_delivered_twice_has_one_effect(pool, consumer, amqp_url, namespace):
    event = submitted_event()
    message_id = str(uuid.uuid4())
    await publish_event(amqp_url, namespace, event, message_id=message_id)
    await publish_event(amqp_url, namespace, event, message_id=message_id)
    await eventually(lambda: _inbox_has(pool, message_id))
    # A third, different message proves both copies of the first were consumed before it.
    await publish_event(amqp_url, namespace, submitted_event())
    await eventually(lambda: _count_is(pool, 2))
    assert await pool.fetchval("SELECT count(*) FROM effects WHERE code = $1", event.code) == 1


async def _inbox_has(pool, message_id):
    return await pool.fetchval(
        "SELECT count(*) FROM inbox WHERE message_id = $1", uuid.UUID(message_id)
    )


async def _count_is(pool, n):
    return await effects(pool) == n


async def test_poison_message_is_dead_lettered_once_with_its_reason_and_the_queue_flows(
    pool, consumer, amqp_url, namespace
):
    broken = json.loads(submitted_event().model_dump_json())
    del broken["code"]
    await publish_event(amqp_url, namespace, submitted_event(), body=json.dumps(broken).encode())
    await publish_event(amqp_url, namespace, submitted_event(), body=b"{not json")
    await publish_event(
        amqp_url,
        namespace,
        submitted_event(),
        message_type="request.submitted.v9",
        routing_key="request.submitted",
    )
    good = submitted_event()
    await publish_event(amqp_url, namespace, good)
    await eventually(lambda: _count_is(pool, 1))

    dlq = f"{namespace}.milie.{SERVICE}.dead-letter"
    letters = await eventually(lambda: _letters(amqp_url, dlq, 3))
    reasons = sorted(m.headers["x-milie-reason"] for m in letters)
    assert len(letters) == 3
    assert any("code" in r and "Field required" in r for r in reasons)
    assert any("Invalid JSON" in r for r in reasons)
    assert any("unknown message type 'request.submitted.v9'" in r for r in reasons)
    assert await effects(pool) == 1


_seen: dict[str, list] = {}


async def _letters(amqp_url, queue, n):
    _seen.setdefault(queue, []).extend(await dead_letters(amqp_url, queue))
    return _seen[queue] if len(_seen[queue]) >= n else None


async def test_temporary_failure_is_retried_not_dead_lettered(pool, broker, amqp_url, namespace):
    failures = {"left": 3}

    async def flaky(conn, event, delivery):
        if failures["left"]:
            failures["left"] -= 1
            raise asyncpg.exceptions.ConnectionDoesNotExistError("database went away")
        await record_effect(conn, event, delivery)

    consumer = Consumer(
        service=SERVICE,
        pool=pool,
        broker=broker,
        handlers={RequestSubmittedV1.type_name(): flaky},
        bindings=[(EVENTS, "request.submitted")],
        handler_attempts=2,
    )
    await consumer.start()
    try:
        await publish_event(amqp_url, namespace, submitted_event())
        await eventually(lambda: _count_is(pool, 1))
    finally:
        await consumer.stop()
    assert failures["left"] == 0
    assert await dead_letters(amqp_url, f"{namespace}.milie.{SERVICE}.dead-letter") == []


async def test_a_consumer_stopped_while_its_database_is_down_leaves_the_message_for_later(
    pool, broker, amqp_url, namespace
):
    """Stopped while it retries a temporary failure, the consumer took the failure for the
    handler's: the message was requeued as one of its attempts, and dead-lettered at the last
    one. It is left unsettled instead, for the broker to deliver again (nothing lost)."""
    tried = []

    async def database_down(conn, event, delivery):
        tried.append(delivery.message_id)
        raise asyncpg.exceptions.ConnectionDoesNotExistError("database went away")

    consumer = Consumer(
        service=SERVICE,
        pool=pool,
        broker=broker,
        handlers={RequestSubmittedV1.type_name(): database_down},
        bindings=[(EVENTS, "request.submitted")],
        handler_attempts=1,  # a failure taken for the handler's is dead-lettered at once
    )
    await consumer.start()
    try:
        await publish_event(amqp_url, namespace, submitted_event())

        async def retrying() -> bool:
            return len(tried) >= 2

        await eventually(retrying)
    finally:
        await consumer.stop()
    assert await dead_letters(amqp_url, f"{namespace}.milie.{SERVICE}.dead-letter") == []
    assert len(await dead_letters(amqp_url, f"{namespace}.milie.{SERVICE}")) == 1


async def test_a_handler_bug_is_retried_then_dead_lettered_with_the_error(
    pool, broker, amqp_url, namespace
):
    calls = []

    async def buggy(conn, event, delivery):
        calls.append(delivery.message_id)
        raise KeyError("a bug")

    consumer = Consumer(
        service=SERVICE,
        pool=pool,
        broker=broker,
        handlers={RequestSubmittedV1.type_name(): buggy},
        bindings=[(EVENTS, "request.submitted")],
        handler_attempts=3,
    )
    await consumer.start()
    try:
        await publish_event(amqp_url, namespace, submitted_event())
        dlq = f"{namespace}.milie.{SERVICE}.dead-letter"
        letters = await eventually(lambda: _letters(amqp_url, dlq, 1))
    finally:
        await consumer.stop()
    assert len(calls) == 3
    assert "handler error: KeyError('a bug')" in letters[0].headers["x-milie-reason"]


@pytest.mark.parametrize("registered", ["per message", "Batched"])
async def test_a_batch_applies_each_message_once_and_a_bad_one_alone(
    pool, broker, amqp_url, namespace, monkeypatch, registered
):
    """Messages waiting together are applied in one transaction; a poison one among them is
    dead-lettered with its reason, a copy in the same batch is ignored, the others apply. A
    ``Batched`` handler gets them as runs (more than one at a time), and alone once one fails."""
    from shared import inbox
    from shared.consumer import Batched, Poison

    bad = submitted_event()
    runs = []

    async def picky(conn, event, delivery):
        await record_effect(conn, event, delivery)
        if event.code == bad.code:
            raise Poison("this one can never succeed")

    async def picky_run(conn, run):
        runs.append(len(run))
        for event, delivery in run:
            await picky(conn, event, delivery)

    handler = picky if registered == "per message" else Batched(picky_run)

    batches = []
    claim_many = inbox.claim_many

    async def counting(conn, messages):
        messages = list(messages)
        batches.append(len(messages))
        return await claim_many(conn, messages)

    monkeypatch.setattr(inbox, "claim_many", counting)

    def consumer():
        return Consumer(
            service=SERVICE,
            pool=pool,
            broker=broker,
            handlers={RequestSubmittedV1.type_name(): handler},
            bindings=[(EVENTS, "request.submitted")],
            batch_size=16,
        )

    # Declare the queue, then let the messages wait in it so that they arrive together.
    first = consumer()
    await first.start()
    await first.stop()
    twice = str(uuid.uuid4())
    good = [submitted_event() for _ in range(8)]
    for event in good[:4]:
        await publish_event(amqp_url, namespace, event)
    await publish_event(amqp_url, namespace, bad)
    await publish_event(amqp_url, namespace, good[4], message_id=twice)
    await publish_event(amqp_url, namespace, good[4], message_id=twice)
    for event in good[5:]:
        await publish_event(amqp_url, namespace, event)

    second = consumer()
    await second.start()
    try:
        dlq = f"{namespace}.milie.{SERVICE}.dead-letter"
        letters = await eventually(lambda: _letters(amqp_url, dlq, 1))
        await eventually(lambda: _count_is(pool, 8))
    finally:
        await second.stop()
    assert max(batches) > 1
    if registered == "Batched":
        assert max(runs) > 1 and 1 in runs
    assert len(letters) == 1
    assert letters[0].headers["x-milie-reason"] == "this one can never succeed"
    codes = {r["code"] for r in await pool.fetch("SELECT code FROM effects")}
    assert codes == {e.code for e in good}
    assert await pool.fetchval("SELECT count(*) FROM inbox") == 8
    # Every message was settled: nothing is left in the queue for a next consumer.
    assert await dead_letters(amqp_url, f"{namespace}.milie.{SERVICE}") == []


async def test_unroutable_publish_raises_and_the_outbox_row_stays_unsent(pool, broker):
    with pytest.raises(Unroutable):
        await broker.publish(
            EVENTS,
            "nobody.listens",
            b"{}",
            message_id=str(uuid.uuid4()),
            message_type="request.submitted.v1",
        )
    async with pool.acquire() as conn:
        await add(conn, submitted_event(), routing_key="nobody.listens")
    relay = OutboxRelay(pool, broker, SERVICE)
    assert await relay.publish_batch() == 1
    row = await pool.fetchrow("SELECT sent_at, attempts, last_error FROM outbox")
    assert row["sent_at"] is None
    assert row["attempts"] == 1
    assert "no queue" in row["last_error"]


async def test_outbox_rows_are_published_once_by_concurrent_relays(pool, broker, consumer):
    async with pool.acquire() as conn, conn.transaction():
        for _ in range(300):
            await add(conn, submitted_event())
    relays = [OutboxRelay(pool, broker, SERVICE, batch=25) for _ in range(3)]
    tasks = [asyncio.create_task(r.run()) for r in relays]
    try:
        await eventually(lambda: _count_is(pool, 300), timeout=60)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0
    # Every effect once: no row was published by two relays.
    assert await pool.fetchval("SELECT count(DISTINCT code) FROM effects") == 300
    assert await pool.fetchval("SELECT count(*) FROM inbox") == 300


class CountingRelay(OutboxRelay):
    """The relay as it runs, with the size of each claim it made."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.claims: list[int] = []

    async def publish_batch(self) -> int:
        claimed = await super().publish_batch()
        if claimed:
            self.claims.append(claimed)
        return claimed


async def _claimed(relay: CountingRelay, rows: int) -> bool:
    return sum(relay.claims) == rows


async def test_a_busy_relay_lets_rows_gather_and_a_quiet_one_publishes_at_once(
    pool, broker, consumer
):
    """After a quiet spell the first row goes out alone, at once; rows committed one by one
    moments after a publish are claimed together (one claim, one mark) instead of one each."""
    relay = CountingRelay(pool, broker, SERVICE, linger_seconds=3.0)
    task = asyncio.create_task(relay.run())
    try:
        async with pool.acquire() as conn:
            await add(conn, submitted_event())
        await eventually(lambda: _claimed(relay, 1))
        for _ in range(4):  # four commits, each waking the relay
            async with pool.acquire() as conn:
                await add(conn, submitted_event())
        await eventually(lambda: _claimed(relay, 5))
        await eventually(lambda: _count_is(pool, 5))
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert relay.claims == [1, 4]
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0


async def test_migrations_apply_once_when_copies_start_together(empty_database_url):
    async def one():
        conn = await asyncpg.connect(empty_database_url)
        try:
            return await migrate(conn, "racing", None)
        finally:
            await conn.close()

    results = await asyncio.gather(*(one() for _ in range(4)))
    shared = len(migration_files(SHARED_SQL))
    assert sorted(len(r) for r in results) == [0, 0, 0, shared]


def _service_apps():
    from services.intake.app import create_app as intake
    from services.intake.settings import IntakeSettings
    from services.notify.app import create_app as notify
    from services.notify.settings import NotifySettings
    from services.stats.app import create_app as stats
    from services.stats.settings import StatsSettings
    from services.treatment.app import create_app as treatment
    from services.treatment.settings import TreatmentSettings
    from services.triage.app import create_app as triage
    from services.triage.settings import TriageSettings

    return [
        (intake, IntakeSettings),
        (triage, TriageSettings),
        (treatment, TreatmentSettings),
        (notify, NotifySettings),
        (stats, StatsSettings),
    ]


async def test_every_declared_queue_is_a_quorum_queue_with_a_delivery_limit_and_a_dlx(
    settings_for, amqp_url, namespace
):
    # Start every service as it runs, so that the queues checked are the ones they declare.
    declared = []
    for create_app, settings_cls in _service_apps():
        async with RunningApp(create_app(settings_for(settings_cls, delivery_limit=17))) as app:
            consumer = app.app.get(CONSUMER)
            if consumer is not None:
                declared.append(consumer.service)
    assert {"intake", "triage", "notify", "stats"} <= set(declared)

    topology = Topology(namespace)
    # Every one of them is bounded by the topology's length-limit policy (tested below).
    bounded = re.compile(topology.limits_policy()["pattern"])
    for service in declared:
        assert bounded.match(topology.queue(service))
        assert bounded.match(topology.dead_letter_queue(service))
    connection = await aio_pika.connect(amqp_url)
    try:
        for service in declared:
            for name in (topology.queue(service), topology.dead_letter_queue(service)):
                # Redeclaring with other arguments is refused: the broker holds ours.
                channel = await connection.channel()
                with pytest.raises(aiormq.exceptions.ChannelPreconditionFailed):
                    await channel.declare_queue(
                        name, durable=True, arguments={"x-queue-type": "classic"}
                    )
    finally:
        await connection.close()

    # rabbitmqctl speaks to the machine's default node: only when that is the broker under test
    # (a private one, as `make test` starts on a machine without one, listens on 56720).
    broker_address = urlsplit(amqp_url)
    default_node = (
        broker_address.hostname in ("127.0.0.1", "localhost")
        and (broker_address.port or 5672) == 5672
    )
    if shutil.which("rabbitmqctl") and default_node:
        listed = subprocess.run(  # noqa: ASYNC221 - a one-off inspection in a test
            ["rabbitmqctl", "list_queues", "name", "type", "arguments", "--formatter", "json"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        queues = {q["name"]: q for q in json.loads(listed) if q["name"].startswith(namespace)}
        assert len(queues) == 2 * len(declared)
        for name, q in queues.items():
            assert q["type"] == "quorum", name
            args = q["arguments"]
            if isinstance(args, list):  # [[name, type, value], ...]
                args = {a[0]: a[-1] for a in args}
            if not name.endswith(".dead-letter"):
                assert args["x-delivery-limit"] == 17, name
                assert args["x-dead-letter-exchange"] == topology.exchange("dead-letter"), name


def _rabbitmqctl_reaches(amqp_url: str) -> bool:
    # rabbitmqctl speaks to the machine's default node: only when that is the broker under test
    # (a private one, as `make test` starts on a machine without one, listens on 56720).
    address = urlsplit(amqp_url)
    return (
        shutil.which("rabbitmqctl") is not None
        and address.hostname in ("127.0.0.1", "localhost")
        and (address.port or 5672) == 5672
    )


def _rabbitmqctl(*args: str) -> str:
    return subprocess.run(["rabbitmqctl", *args], capture_output=True, text=True, check=True).stdout


@contextlib.asynccontextmanager
async def _limits_policy(amqp_url: str, namespace: str, max_length: int):
    """The topology's length-limit policy for this test's namespace, with a tiny limit, applied
    to the probe service's queues (declared by then); cleared at the end."""
    if not _rabbitmqctl_reaches(amqp_url):
        pytest.skip("rabbitmqctl does not reach the broker under test")
    topology = Topology(namespace)
    policy = topology.limits_policy(max_length=max_length)
    _rabbitmqctl(
        "set_policy",
        *("--apply-to", policy["apply-to"], "--priority", str(policy["priority"])),
        *(policy["name"], policy["pattern"], json.dumps(policy["definition"])),
    )
    try:
        queues = {topology.queue(SERVICE), topology.dead_letter_queue(SERVICE)}

        async def applied():
            listed = _rabbitmqctl("list_queues", "name", "policy", "--formatter", "json")
            found = {q["name"]: q["policy"] for q in json.loads(listed) if q["name"] in queues}
            return found == dict.fromkeys(queues, policy["name"])

        await eventually(applied)
        yield
    finally:
        _rabbitmqctl("clear_policy", policy["name"])


async def _publish_until_refused(broker, exchange: str, routing_key: str) -> list[str]:
    outcomes = []
    for _ in range(8):
        try:
            await broker.publish(
                exchange,
                routing_key,
                submitted_event().model_dump_json().encode(),
                message_id=str(uuid.uuid4()),
                message_type="request.submitted.v1",
            )
            outcomes.append("sent")
        except Refused:
            outcomes.append("refused")
    return outcomes


async def test_every_queue_is_bounded_and_a_full_one_refuses_what_the_outbox_then_keeps(
    pool, broker, amqp_url, namespace
):
    """The topology's length-limit policy (tiny here) on the service's queue and its dead-letter
    queue: past the limit a publish is nacked, :class:`Refused` is raised, and the outbox relay
    keeps the row to retry it later instead of marking it sent."""
    channel = await broker.channel(prefetch=1)
    await broker.declare_service_queue(channel, SERVICE, [(EVENTS, "request.submitted")], 20)
    async with _limits_policy(amqp_url, namespace, max_length=2):
        for exchange, routing_key in ((EVENTS, "request.submitted"), (DEAD_LETTER, SERVICE)):
            outcomes = await _publish_until_refused(broker, exchange, routing_key)
            # A quorum queue applies its limit a message late (measured: the third of two is
            # still taken); from then on every publish is refused.
            assert outcomes.count("sent") in (2, 3), (exchange, outcomes)
            assert set(outcomes[3:]) == {"refused"}, (exchange, outcomes)

        async with pool.acquire() as conn:
            await add(conn, submitted_event())
        relay = OutboxRelay(pool, broker, SERVICE)
        assert await relay.publish_batch() == 1
        row = await pool.fetchrow("SELECT sent_at, abandoned_at, attempts, last_error FROM outbox")
        assert row["sent_at"] is None and row["abandoned_at"] is None
        assert row["attempts"] == 1 and "Refused" in row["last_error"]


async def test_a_poison_message_with_the_dead_letter_queue_full_is_dropped_not_spun(
    pool, consumer, broker, amqp_url, namespace, caplog
):
    """A flood of bad messages filled the dead-letter queue: the next one is dropped (logged)
    rather than requeued over and over, and the good messages behind it flow."""
    async with _limits_policy(amqp_url, namespace, max_length=3):
        assert "refused" in await _publish_until_refused(broker, DEAD_LETTER, SERVICE)
        await publish_event(amqp_url, namespace, submitted_event(), body=b"{not json")
        await publish_event(amqp_url, namespace, submitted_event())
        await eventually(lambda: _count_is(pool, 1))
        listed = _rabbitmqctl("list_queues", "name", "messages", "--formatter", "json")
        counts = {q["name"]: q["messages"] for q in json.loads(listed)}
        assert counts[f"{namespace}.milie.{SERVICE}"] == 0
        # Only the messages that filled it: the poison one did not get in.
        assert counts[f"{namespace}.milie.{SERVICE}.dead-letter"] <= 4
    # Dropped at its first delivery, not requeued until the broker's delivery limit.
    dropped = [
        r for r in caplog.records if r.getMessage() == "dead-letter queue full: message dropped"
    ]
    assert len(dropped) == 1
    assert not [r for r in caplog.records if "batch's messages are requeued" in r.getMessage()]


async def test_a_binding_the_service_no_longer_wants_is_removed_at_start(broker):
    async def publish(routing_key: str) -> None:
        await broker.publish(
            EVENTS,
            routing_key,
            b"{}",
            message_id=str(uuid.uuid4()),
            message_type=f"{routing_key}.v1",
        )

    channel = await broker.channel(prefetch=1)
    # As an older release declared it: every request.* event.
    await broker.declare_service_queue(channel, SERVICE, [(EVENTS, "request.#")], 20)
    await publish("request.validated")

    await broker.declare_service_queue(
        channel,
        SERVICE,
        [(EVENTS, "request.submitted")],
        20,
        obsolete_bindings=[(EVENTS, "request.#"), (EVENTS, "request.never_bound")],
    )
    await publish("request.submitted")
    with pytest.raises(Unroutable):
        await publish("request.validated")

    # Listing an obsolete binding that is also wanted keeps it.
    await broker.declare_service_queue(
        channel,
        SERVICE,
        [(EVENTS, "request.submitted")],
        20,
        obsolete_bindings=[(EVENTS, "request.submitted")],
    )
    await publish("request.submitted")
    await channel.close()


async def test_a_type_that_is_not_its_routing_key_is_dead_lettered_not_ignored(
    pool, consumer, amqp_url, namespace
):
    """On milie.events the routing key is the event's name: a message routed as
    request.submitted but typed as another event is neither applied nor silently dropped."""
    await publish_event(
        amqp_url,
        namespace,
        submitted_event(),
        message_type="request.teleported.v1",
        routing_key="request.submitted",
    )
    dlq = f"{namespace}.milie.{SERVICE}.dead-letter"
    [letter] = await eventually(lambda: _letters(amqp_url, dlq, 1))
    assert letter.headers["x-milie-reason"] == (
        "type 'request.teleported.v1' does not match routing key 'request.submitted'"
    )
    assert await effects(pool) == 0
