"""``milie dead-letters``: an operator sees why a message was dead-lettered and replays it once the
cause is fixed; the effect happens once, a replayed letter is not replayed twice, a command is
left to its channel, a letter older than the inboxes' memory is replayed only when forced, and
none outlives the purge delay of personal data; ``collect``, run on a schedule without an
operator, takes in what waits and removes what is too old."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from deploy.local import dead_letters
from deploy.local.dead_letters import Place, Refused
from shared.broker import Broker
from shared.consumer import Consumer, Poison
from shared.messages import IntakeSubmitV1, RequestSubmittedV1
from shared.topology import DEAD_LETTER, EVENTS, Topology
from tests.support import PROBE, eventually, free_port, publish_event, submitted_event
from tests.support import dead_letters as read_queue

SERVICE = PROBE


class Cause:
    fixed = False


@pytest.fixture
async def consumer(pool, amqp_url, namespace):
    cause = Cause()

    async def record(conn, event: RequestSubmittedV1, delivery) -> None:
        if not cause.fixed:
            raise Poison("the body's catalogue entry is missing")
        await conn.execute("INSERT INTO effects VALUES ($1, $2)", event.request_id, event.code)

    broker = Broker(amqp_url, Topology(namespace), SERVICE)
    await broker.connect()
    consumer = Consumer(
        service=SERVICE,
        pool=pool,
        broker=broker,
        handlers={RequestSubmittedV1.type_name(): record},
        bindings=[(EVENTS, "request.submitted")],
        handler_attempts=3,
    )
    await consumer.start()
    yield cause
    await consumer.stop()
    await broker.close()


async def dead_lettered_at(
    amqp_url, namespace, event, when: datetime, service: str = SERVICE
) -> str:
    """Put ``event`` in ``service``'s dead-letter queue as its consumer does, dead-lettered at
    ``when`` (the timestamp of the dead-letter copy); its message id."""
    broker = Broker(amqp_url, Topology(namespace), "tests")
    await broker.connect()
    message_id = str(uuid.uuid4())
    try:
        await broker.publish(
            DEAD_LETTER,
            service,
            event.model_dump_json().encode(),
            message_id=message_id,
            message_type=event.type_name(),
            headers={"x-milie-reason": "the body's catalogue entry is missing"},
            timestamp=when,
        )
    finally:
        await broker.close()
    return message_id


async def test_a_dead_letter_is_listed_with_its_reason_and_replayed_once_fixed(
    pool, consumer, database_url, amqp_url, namespace
):
    place = Place(database_url, amqp_url, Topology(namespace))
    event = submitted_event()
    message_id = str(uuid.uuid4())
    await publish_event(amqp_url, namespace, event, message_id=message_id)

    async def collected():
        await dead_letters.collect(place, (SERVICE,))
        return await dead_letters.waiting(place, SERVICE) or None

    [letter] = await eventually(collected)
    assert letter["message_id"] == message_id
    assert letter["type"] == RequestSubmittedV1.type_name()
    assert letter["reason"] == "the body's catalogue entry is missing"
    shown = await dead_letters.one(place, letter["id"])
    assert event.code in bytes(shown["body"]).decode()
    # Collecting again finds nothing new: the letter is kept once.
    assert (await dead_letters.collect(place, (SERVICE,))).moved == 0

    consumer.fixed = True
    assert await dead_letters.replay(place, [letter["id"]]) == [letter["id"]]

    async def applied():
        return await pool.fetchval("SELECT count(*) FROM effects WHERE code = $1", event.code)

    assert await eventually(applied) == 1
    assert await dead_letters.waiting(place, SERVICE) == []
    with pytest.raises(Refused, match="already replayed"):
        await dead_letters.replay(place, [letter["id"]])
    assert await applied() == 1


async def test_a_letter_that_fails_again_waits_again_with_its_count(
    pool, consumer, database_url, amqp_url, namespace
):
    place = Place(database_url, amqp_url, Topology(namespace))
    await publish_event(amqp_url, namespace, submitted_event())

    async def collected():
        await dead_letters.collect(place, (SERVICE,))
        return await dead_letters.waiting(place, SERVICE) or None

    [letter] = await eventually(collected)
    await dead_letters.replay(place, [letter["id"]])  # the cause is not fixed
    [again] = await eventually(collected)
    assert again["id"] == letter["id"]
    assert again["times"] == 2
    # Its age still counts from its first failure.
    assert again["first_dead_lettered_at"] == letter["first_dead_lettered_at"]


async def test_a_command_is_not_replayed_by_the_operator(database_url, amqp_url, namespace):
    place = Place(database_url, amqp_url, Topology(namespace))
    conn = await dead_letters._connect_db(place)
    try:
        letter_id = await conn.fetchval(
            """INSERT INTO dead_letters (service, message_id, type, body, reason)
               VALUES ('intake', $1, $2, '{}', 'user not allowed') RETURNING id""",
            str(uuid.uuid4()),
            IntakeSubmitV1.type_name(),
        )
    finally:
        await conn.close()
    with pytest.raises(Refused, match="command"):
        await dead_letters.replay(place, [letter_id])


async def test_a_letter_replayed_longer_ago_than_the_inbox_keeps_ids_is_removed(
    database_url, amqp_url, namespace
):
    place = Place(database_url, amqp_url, Topology(namespace), inbox_kept_days=30)
    conn = await dead_letters._connect_db(place)
    try:
        ids = {
            name: await conn.fetchval(
                """INSERT INTO dead_letters (service, message_id, type, body, reason, replayed_at)
                   VALUES ('notify', $1, $2, '{"contact": {"email": "awa@example.ci"}}',
                           'no recipient', now() - make_interval(days => $3)) RETURNING id""",
                str(uuid.uuid4()),
                RequestSubmittedV1.type_name(),
                days,
            )
            for name, days in (("old", 31), ("recent", 29))
        }
        waiting_id = await conn.fetchval(
            """INSERT INTO dead_letters (service, message_id, type, body, reason, collected_at)
               VALUES ('notify', $1, $2, '{}', 'no recipient', now() - interval '200 days')
               RETURNING id""",
            str(uuid.uuid4()),
            RequestSubmittedV1.type_name(),
        )
        await dead_letters.collect(place, ("notify",))
        left = {r["id"] for r in await conn.fetch("SELECT id FROM dead_letters")}
    finally:
        await conn.close()
    # The one still waiting stays, within the purge delay: an operator has to decide.
    assert left == {ids["recent"], waiting_id}


async def test_no_letter_outlives_the_purge_delay_of_personal_data(
    consumer, database_url, amqp_url, namespace
):
    """A request's personal data is purged MILIE_PURGE_AFTER_DAYS after its closure; a dead
    letter about it (a request.submitted carries the contact) goes once it waited that long,
    whether it waits in the queue or in ``ops``, replayed or not."""
    place = Place(database_url, amqp_url, Topology(namespace), purge_after_days=365)
    now = datetime.now(UTC)
    old, recent = submitted_event(), submitted_event()
    await dead_lettered_at(amqp_url, namespace, old, now - timedelta(days=366))
    await dead_lettered_at(amqp_url, namespace, recent, now - timedelta(days=364))
    conn = await dead_letters._connect_db(place)
    try:
        in_ops = await conn.fetchval(
            """INSERT INTO dead_letters (service, message_id, type, body, reason,
                   first_dead_lettered_at, collected_at, replayed_at)
               VALUES ($1, $2, $3, $4, 'no recipient', now() - interval '366 days',
                       now() - interval '2 days', now() - interval '1 day') RETURNING id""",
            SERVICE,
            str(uuid.uuid4()),
            RequestSubmittedV1.type_name(),
            submitted_event().model_dump_json().encode(),
        )

        async def collected():
            await dead_letters.collect(place, (SERVICE,))
            return await dead_letters.waiting(place, SERVICE, every=True) or None

        [left] = await eventually(collected)
        assert (
            recent.contact.email
            in bytes((await dead_letters.one(place, left["id"]))["body"]).decode()
        )
        assert await conn.fetchval("SELECT count(*) FROM dead_letters") == 1
        assert await conn.fetchval("SELECT id FROM dead_letters WHERE id = $1", in_ops) is None
        assert old.contact.email not in str(await conn.fetch("SELECT body FROM dead_letters"))
    finally:
        await conn.close()


async def test_a_letter_older_than_the_inboxes_memory_is_replayed_only_when_forced(
    pool, consumer, database_url, amqp_url, namespace
):
    """The service's inbox keeps a message's id MILIE_INBOX_KEPT_DAYS: past that, a copy it
    had applied after all would be applied again. The operator must say they checked."""
    place = Place(database_url, amqp_url, Topology(namespace), inbox_kept_days=30)
    now = datetime.now(UTC)
    old, recent = submitted_event(), submitted_event()
    old_message = await dead_lettered_at(amqp_url, namespace, old, now - timedelta(days=31))
    await dead_lettered_at(amqp_url, namespace, recent, now - timedelta(days=29))

    async def collected():
        await dead_letters.collect(place, (SERVICE,))
        rows = await dead_letters.waiting(place, SERVICE)
        return rows if len(rows) == 2 else None

    rows = await eventually(collected)
    [old_id] = [r["id"] for r in rows if r["message_id"] == old_message]
    [recent_id] = [r["id"] for r in rows if r["message_id"] != old_message]
    consumer.fixed = True
    # Refused before anything is published: the recent one given with it waits too.
    with pytest.raises(Refused, match=rf"{old_id}.*30 days.*twice.*--force"):
        await dead_letters.replay(place, [recent_id, old_id])
    assert {r["id"] for r in await dead_letters.waiting(place, SERVICE)} == {old_id, recent_id}
    assert await dead_letters.replay(place, [recent_id, old_id], force=True) == [recent_id, old_id]

    async def applied():
        return await pool.fetchval(
            "SELECT count(*) FROM effects WHERE code = ANY($1::text[])", [old.code, recent.code]
        )

    assert await eventually(lambda: _equal(applied, 2)) == 2


async def _equal(probe, wanted):
    value = await probe()
    return value if value == wanted else None


def milie(
    database_url, amqp_url, namespace, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """``milie ARGS…`` as an operator runs it, on the test's database and broker namespace."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "AMQP_URL": amqp_url,
        "MILIE_BROKER_NAMESPACE": namespace,
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "deploy.local.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_command_line_lists_and_refuses_clearly(database_url, amqp_url, namespace):
    listed = milie(database_url, amqp_url, namespace, "dead-letters", "list")
    assert listed.returncode == 0, listed.stderr
    assert "No dead letters waiting." in listed.stdout
    shown = milie(database_url, amqp_url, namespace, "dead-letters", "show", "999999")
    assert shown.returncode == 1
    assert "No dead letter 999999" in shown.stderr


async def test_the_command_line_refuses_a_letter_older_than_the_inboxes_memory(
    database_url, amqp_url, namespace
):
    place = Place(database_url, amqp_url, Topology(namespace))
    conn = await dead_letters._connect_db(place)
    try:
        old = await conn.fetchval(
            """INSERT INTO dead_letters (service, message_id, type, body, reason,
                   first_dead_lettered_at)
               VALUES ('notify', $1, $2, '{}', 'no recipient', now() - interval '31 days')
               RETURNING id""",
            str(uuid.uuid4()),
            RequestSubmittedV1.type_name(),
        )
    finally:
        await conn.close()
    replayed = await asyncio.to_thread(
        milie, database_url, amqp_url, namespace, "dead-letters", "replay", str(old)
    )
    assert replayed.returncode == 1, replayed.stderr
    assert "more than 30 days ago (MILIE_INBOX_KEPT_DAYS)" in replayed.stderr
    assert "--force" in replayed.stderr


async def test_collect_takes_in_what_waits_and_removes_what_outlived_the_purge(
    database_url, amqp_url, namespace
):
    """``milie dead-letters collect``, as the CronJob runs it every day with nobody at the
    keyboard: a letter waiting in a service's dead-letter queue is taken into ``ops`` (and off
    the queue), one first dead-lettered longer ago than the purge delay is removed, and one
    line says so."""
    broker = Broker(amqp_url, Topology(namespace), "tests")
    await broker.connect()
    try:
        # notify's dead-letter queue as notify declares it (collect reads every service's).
        channel = await broker.connection.channel()
        await broker.declare_service_queue(channel, "notify", [], delivery_limit=20)
    finally:
        await broker.close()
    now = datetime.now(UTC)
    old, recent = submitted_event(), submitted_event()
    await dead_lettered_at(amqp_url, namespace, old, now - timedelta(days=366), "notify")
    recent_id = await dead_lettered_at(
        amqp_url, namespace, recent, now - timedelta(days=1), "notify"
    )

    collected = await asyncio.to_thread(
        milie,
        database_url,
        amqp_url,
        namespace,
        "dead-letters",
        "collect",
        env={"MILIE_PURGE_AFTER_DAYS": "365"},
    )

    assert collected.returncode == 0, collected.stderr
    [line] = collected.stdout.splitlines()
    assert "2 collected" in line and "1 removed" in line and "1 waiting" in line, line
    place = Place(database_url, amqp_url, Topology(namespace))
    [letter] = await dead_letters.waiting(place, every=True)
    assert (letter["service"], letter["message_id"]) == ("notify", recent_id)
    body = bytes((await dead_letters.one(place, letter["id"]))["body"]).decode()
    assert recent.contact.email in body
    assert await read_queue(amqp_url, Topology(namespace).dead_letter_queue("notify")) == []


def test_collect_fails_when_the_database_or_the_broker_does_not_answer(
    database_url, amqp_url, namespace
):
    """A scheduled run that could not collect must count as failed (the CronJob's last success
    is what the alert MilieDeadLetterCollectorLate reads): a non-zero status and why."""
    closed = free_port()  # nobody listens there
    no_database = milie(
        f"postgresql://postgres@127.0.0.1:{closed}/milie",
        amqp_url,
        namespace,
        "dead-letters",
        "collect",
    )
    assert no_database.returncode == 2, no_database.stderr
    assert "DATABASE_URL" in no_database.stderr
    no_broker = milie(
        database_url,
        f"amqp://guest:guest@127.0.0.1:{closed}/",
        namespace,
        "dead-letters",
        "collect",
    )
    assert no_broker.returncode == 2, no_broker.stderr
    assert "AMQP_URL" in no_broker.stderr
