"""Restarting the broker or the database delays work and never loses or repeats it.

Each test runs the six real processes (as `make up` does) on a server of its own that it stops and
starts again: a private RabbitMQ node, or a private PostgreSQL cluster, from the installed server
programs (deploy/local/private_servers.py), never the shared ones. The other server is the
suite's usual one, isolated by this test's database or broker namespace.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import aiohttp
import asyncpg
import pytest

from deploy.local.private_servers import Missing, PrivatePostgres, PrivateRabbitMQ
from shared import db
from shared.broker import Broker
from shared.consumer import Consumer
from shared.messages import RequestSubmittedV1
from shared.migrations import migrate
from shared.topology import EVENTS, Topology
from tests.e2e.conftest import BODY, analyst_headers, running_platform, submission
from tests.support import eventually, publish_event, signed_session, submitted_event

# Every answer comes back well within this, or the test fails: an outage must not hang a client.
CLIENT_TIMEOUT = aiohttp.ClientTimeout(total=30)


@pytest.fixture(scope="module")
async def private_rabbitmq() -> AsyncIterator[PrivateRabbitMQ]:
    """One node for the module (a start costs seconds); each test restarts it and uses its own
    namespace."""
    try:
        server = PrivateRabbitMQ()
    except Missing as exc:
        pytest.skip(str(exc))
    try:
        await server.start()
        yield server
    finally:
        await server.destroy()


@pytest.fixture
async def private_postgres() -> AsyncIterator[PrivatePostgres]:
    try:
        server = PrivatePostgres()
    except Missing as exc:
        pytest.skip(str(exc))
    try:
        await server.init()
        await server.start()
        yield server
    finally:
        await server.destroy()


async def _post_submission(platform, email: str) -> tuple[int, dict]:
    async with (
        signed_session(timeout=CLIENT_TIMEOUT) as http,
        http.post(platform.url("gateway") + "/api/v1/requests", json=submission(email)) as resp,
    ):
        return resp.status, await resp.json(content_type=None)


async def _submit_wave(platform, label: str, count: int) -> dict[str, str]:
    """Submit ``count`` requests, each from its own address; every one must be accepted."""
    accepted = {}
    for i in range(count):
        email = f"{label}-{i}.{uuid.uuid4().hex[:6]}@example.ci"
        status, body = await _post_submission(platform, email)
        assert status == 201, (status, body)
        assert len(body["code"]) == 10
        accepted[email] = body["code"]
    return accepted


async def _get_json(url: str, headers: dict | None = None):
    async with (
        signed_session(timeout=CLIENT_TIMEOUT) as http,
        http.get(url, headers=headers) as resp,
    ):
        return resp.status, await resp.json(content_type=None)


async def _stats_total(platform) -> int:
    status, data = await _get_json(platform.url("stats") + "/stats/bodies")
    assert status == 200, data
    return next((b["total"] for b in data["bodies"] if b["body_id"] == BODY), 0)


async def _triage_codes(platform) -> list[str]:
    status, data = await _get_json(
        platform.url("triage") + "/queue?limit=200", headers=analyst_headers()
    )
    assert status == 200, data
    return [item["code"] for item in data["items"]]


def _text(mail) -> str:
    part = mail.get_body(preferencelist=("plain",))
    return part.get_content() if part is not None else str(mail)


async def _settled(database_url: str) -> bool:
    """Nothing left to do: every outbox row sent, every email delivery sent (none pending)."""
    conn = await asyncpg.connect(database_url)
    try:
        for schema in ("intake", "triage", "treatment", "notify", "stats"):
            unsent = await conn.fetchval(
                f"SELECT count(*) FROM {schema}.outbox WHERE sent_at IS NULL"
            )
            if unsent:
                return False
        pending = await conn.fetchval(
            "SELECT count(*) FROM notify.deliveries WHERE medium = 'email' AND status <> 'sent'"
        )
        return pending == 0
    finally:
        await conn.close()


async def _everything_arrived_once(platform, smtp_server, database_url, accepted) -> None:
    """Each accepted request: one acknowledgement email with its code, counted once in the
    statistics, once in the analysts' queue; and every process still up and ready."""
    for email in accepted:
        await smtp_server.wait_for(email, timeout=60)
    await eventually(lambda: _stats_settled(platform, len(accepted)), timeout=60)
    await eventually(lambda: _triage_settled(platform, accepted), timeout=60)
    # Once nothing is left to send, nothing more can arrive: the counts below are final.
    await eventually(lambda: _settled(database_url), timeout=60)
    for email, code in accepted.items():
        mails = smtp_server.to(email)
        assert len(mails) == 1, (email, len(mails))
        assert code in _text(mails[0])
    assert await _stats_total(platform) == len(accepted)
    codes = await _triage_codes(platform)
    assert sorted(codes) == sorted(accepted.values())
    for name, process in platform.processes.items():
        assert process.returncode is None, f"{name} exited ({process.returncode})"
    await platform.wait_ready()


async def _stats_settled(platform, expected: int) -> bool:
    return await _stats_total(platform) >= expected


async def _triage_settled(platform, accepted: dict[str, str]) -> bool:
    return set(await _triage_codes(platform)) >= set(accepted.values())


async def test_broker_restart_loses_and_repeats_nothing(
    private_rabbitmq, database_url, smtp_server, request
):
    namespace = f"t{uuid.uuid4().hex[:10]}"  # the node is thrown away afterwards
    async with running_platform(
        database_url, private_rabbitmq.url, namespace, smtp_server.port, request.node.name
    ) as platform:
        before = await _submit_wave(platform, "mq-before", 4)
        # Stopped at once, with the first wave likely still on its way through the queues.
        await private_rabbitmq.stop()

        # Intake writes the request and its outbox row in one transaction: no broker needed.
        during = await _submit_wave(platform, "mq-during", 4)
        conn = await asyncpg.connect(database_url)
        try:
            waiting = await conn.fetchval(
                "SELECT count(*) FROM intake.outbox WHERE sent_at IS NULL"
            )
        finally:
            await conn.close()
        assert waiting >= len(during)

        await private_rabbitmq.start()
        after = await _submit_wave(platform, "mq-after", 2)
        await _everything_arrived_once(
            platform, smtp_server, database_url, {**before, **during, **after}
        )


async def test_database_restart_answers_503_then_loses_and_repeats_nothing(
    private_postgres, amqp_url, namespace, smtp_server, request
):
    database_url = await private_postgres.create_database("milie")
    async with running_platform(
        database_url, amqp_url, namespace, smtp_server.port, request.node.name
    ) as platform:
        before = await _submit_wave(platform, "pg-before", 4)
        # An email sent just before the database stops cannot be marked sent and goes again
        # (at least once, same Message-ID): stop once the first wave is recorded, so that a
        # second copy can only mean a bug.
        for email in before:
            await smtp_server.wait_for(email)
        await eventually(lambda: _settled(database_url), timeout=60)

        await private_postgres.stop("fast")
        for i in range(3):
            status, body = await _post_submission(platform, f"pg-down-{i}@example.ci")
            assert status == 503, (status, body)
            assert body["error"] == "service_unavailable", body

        await private_postgres.start()
        # No waiting for the processes: their pools find the dead connections themselves.
        after = await _submit_wave(platform, "pg-after", 4)
        await _everything_arrived_once(platform, smtp_server, database_url, {**before, **after})
        for i in range(3):
            assert smtp_server.to(f"pg-down-{i}@example.ci") == []


async def test_a_consumer_holding_a_message_when_the_broker_stops_goes_on_consuming(
    private_rabbitmq, database_url
):
    """The broker stops while a handler holds a message: its commit stands, its ack cannot be
    sent. After the restart the message comes again and is ignored (inbox), and the next one is
    applied: the consumer's loop survived the closed channel."""
    namespace = f"t{uuid.uuid4().hex[:10]}"
    applied: list[str] = []
    entered, release = asyncio.Event(), asyncio.Event()

    async def handler(conn, event, delivery) -> None:
        if not applied:
            entered.set()
            await release.wait()
        applied.append(event.code)

    pool = await db.create_pool(database_url, "probe", min_size=1, max_size=4)
    broker = Broker(private_rabbitmq.url, Topology(namespace), "probe")
    consumer = None
    try:
        async with pool.acquire() as conn:
            await migrate(conn, "probe", None)
        await broker.connect()
        consumer = Consumer(
            service="probe",
            pool=pool,
            broker=broker,
            handlers={RequestSubmittedV1.type_name(): handler},
            bindings=[(EVENTS, RequestSubmittedV1.name)],
            batch_linger=0,
        )
        await consumer.start()
        first, second = submitted_event(), submitted_event()
        await publish_event(private_rabbitmq.url, namespace, first)
        await asyncio.wait_for(entered.wait(), 30)

        await private_rabbitmq.stop()
        release.set()  # commits; the ack has no channel left
        await eventually(lambda: _inbox_count(pool), timeout=30)
        await private_rabbitmq.start()

        await eventually(lambda: _is_true(broker.is_connected), timeout=60)
        await publish_event(private_rabbitmq.url, namespace, second)
        await eventually(lambda: _is_true(second.code in applied), timeout=60)
        assert applied == [first.code, second.code]
        assert not consumer._loop_task.done()
    finally:
        if consumer is not None:
            await consumer.stop()
        await broker.close()
        await pool.close()


async def _inbox_count(pool) -> int:
    async with pool.acquire() as conn:
        return await conn.fetchval("SELECT count(*) FROM probe.inbox")


async def _is_true(value: bool) -> bool:
    return value
