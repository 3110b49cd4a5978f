"""stats applies a request's events in their order, whatever the order they arrive in
(shared.early): one that comes before its request.submitted is parked and applied with
it, a late one does not undo a later one, and the sweep applies what a copy parked while another
applied the submission."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import aiohttp
import asyncpg
from prometheus_client import REGISTRY

from services.stats.app import create_app
from services.stats.handlers import PARKING
from services.stats.settings import StatsSettings
from shared.messages import (
    Actor,
    Opinion,
    RequestOpinionGivenV1,
    RequestPutOnHoldV1,
    RequestTreatedV1,
    RequestValidatedV1,
)
from shared.service import POOL
from tests.support import (
    RunningApp,
    delivery_of,
    eventually,
    publish_event,
    publish_events,
    signed_session,
    submitted_event,
    validated_event,
)

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ANALYST = Actor(staff_id="an-1", role="analyst")
FOCAL = Actor(staff_id="pf-1", role="focal_point", body_id="ministere-budget")


def _validated(submitted, at: datetime) -> RequestValidatedV1:
    return validated_event(submitted, actor=ANALYST, decided_at=at)


def _common(submitted) -> dict:
    return {"request_id": submitted.request_id, "code": submitted.code, "body_id": FOCAL.body_id}


def _treated(submitted, at: datetime) -> RequestTreatedV1:
    return RequestTreatedV1(**_common(submitted), message="Réponse.", actor=FOCAL, treated_at=at)


def _held(submitted, at: datetime) -> RequestPutOnHoldV1:
    return RequestPutOnHoldV1(**_common(submitted), reason="Pièce.", actor=FOCAL, held_at=at)


async def _summary(http: aiohttp.ClientSession, url: str) -> dict:
    async with http.get(f"{url}/stats/summary") as response:
        assert response.status == 200
        return await response.json()


async def _applied(conn: asyncpg.Connection, count: int) -> bool:
    """Every message published so far has gone through the consumer (the inbox holds it)."""
    return await conn.fetchval("SELECT count(*) FROM inbox") >= count


async def test_events_before_their_submission_are_parked_then_applied_in_order(
    settings_for, amqp_url, namespace
):
    submitted = submitted_event(submitted_at=T0)
    # Arriving backwards: the opinion, the answer, the validation; then the submission.
    early_ones = [
        RequestOpinionGivenV1(
            **_common(submitted), opinion=Opinion.NOT_SATISFIED, given_at=T0 + timedelta(days=3)
        ),
        _treated(submitted, T0 + timedelta(days=2)),
        _validated(submitted, T0 + timedelta(days=1)),
    ]
    async with RunningApp(create_app(settings_for(StatsSettings))) as running:
        pool = running.app[POOL]
        for event in early_ones:
            await publish_event(amqp_url, namespace, event)
        async with pool.acquire() as conn:
            await eventually(lambda: _applied(conn, len(early_ones)))
            assert await conn.fetchval("SELECT count(*) FROM early_events") == len(early_ones)
            assert await conn.fetchval("SELECT count(*) FROM request_facts") == 0

        await publish_event(amqp_url, namespace, submitted)
        async with signed_session() as http:

            async def counted() -> dict | None:
                summary = await _summary(http, running.url)
                return summary if summary["total"] == 1 else None

            summary = await eventually(counted)
        async with pool.acquire() as conn:
            left = await conn.fetchval("SELECT count(*) FROM early_events")
            fact = await conn.fetchrow("SELECT status, status_at, outcome FROM request_facts")
            opinions = await conn.fetchval("SELECT sum(count) FROM opinion_counts")

    # The latest event stands (the closure with its opinion), counted once, nothing left parked.
    assert summary["by_status"] == {"closed": 1}
    assert (fact["status"], fact["status_at"]) == ("closed", T0 + timedelta(days=3))
    assert fact["outcome"] == Opinion.NOT_SATISFIED.value
    assert opinions == 1
    assert left == 0


async def test_a_late_event_does_not_undo_a_later_one(settings_for, amqp_url, namespace):
    submitted = submitted_event(submitted_at=T0)
    async with RunningApp(create_app(settings_for(StatsSettings))) as running:
        for event in (
            submitted,
            _validated(submitted, T0 + timedelta(days=1)),
            _treated(submitted, T0 + timedelta(days=3)),
            # Put on hold before the answer, delivered after it (another copy, a redelivery).
            _held(submitted, T0 + timedelta(days=2)),
        ):
            await publish_event(amqp_url, namespace, event)
        async with running.app[POOL].acquire() as conn:
            await eventually(lambda: _applied(conn, 4))
            fact = await conn.fetchrow("SELECT status, status_at FROM request_facts")
            counts = await conn.fetch("SELECT status, count FROM daily_counts WHERE count <> 0")

    assert (fact["status"], fact["status_at"]) == ("treated", T0 + timedelta(days=3))
    assert {r["status"]: r["count"] for r in counts} == {"treated": 1}


async def test_the_sweep_applies_what_a_copy_parked_during_the_submission_and_drops_the_stale(
    settings_for, amqp_url, namespace
):
    submitted = submitted_event(submitted_at=T0)
    never = submitted_event(submitted_at=T0)  # its request.submitted never comes
    settings = settings_for(StatsSettings, parked_sweep_seconds=0.2, parked_days=7)
    dropped = {"type": RequestValidatedV1.type_name()}
    before = REGISTRY.get_sample_value("milie_parked_events_dropped_total", dropped) or 0.0
    async with RunningApp(create_app(settings)) as running:
        pool = running.app[POOL]
        await publish_event(amqp_url, namespace, submitted)
        async with pool.acquire() as conn:
            await eventually(lambda: _applied(conn, 1))
            # What a second copy leaves when it parked the validation in a transaction that
            # could not see the submission another copy was committing: a parked event whose
            # request is known.
            validation = _validated(submitted, T0 + timedelta(days=1))
            stale = _validated(never, T0)
            for event, parked_at in ((validation, "now()"), (stale, "now() - interval '8 days'")):
                await conn.execute(
                    f"""INSERT INTO early_events (request_id, message_id, message_type, body,
                                                  parked_at)
                        VALUES ($1, $2, $3, $4, {parked_at})""",
                    event.request_id,
                    uuid.uuid4(),
                    event.type_name(),
                    event.model_dump_json(),
                )

            async def swept() -> bool:
                return not await conn.fetchval("SELECT count(*) FROM early_events")

            await eventually(swept)
            status = await conn.fetchval("SELECT status FROM request_facts")

    assert status == "in_treatment"
    # The stale one is counted for the alert (deploy/prometheus/rules.yml).
    assert REGISTRY.get_sample_value("milie_parked_events_dropped_total", dropped) == before + 1


async def test_applying_parked_events_of_unknown_requests_changes_nothing(settings_for):
    """The sweep takes only what it can apply: an event whose request is unknown stays parked."""
    async with RunningApp(create_app(settings_for(StatsSettings))) as running:
        async with running.app[POOL].acquire() as conn, conn.transaction():
            event = _validated(submitted_event(), T0)
            await PARKING.until_known(event.type_name())(conn, event, delivery_of(event))
            assert await PARKING.apply(conn, None) == 0
            assert await conn.fetchval("SELECT count(*) FROM early_events") == 1


async def test_two_copies_end_with_every_request_in_its_last_status(
    settings_for, amqp_url, namespace
):
    """Two copies of stats, as the design runs N of each, take one queue's messages at once:
    a request's submission, validation and answer, published back to back, reach them in any
    order; each request ends counted once, in its last status, nothing left parked."""
    settings = settings_for(StatsSettings, parked_sweep_seconds=0.2)
    requests = [submitted_event(submitted_at=T0) for _ in range(120)]
    async with (
        RunningApp(create_app(settings)) as first,
        RunningApp(create_app(settings)),
    ):
        await publish_events(
            amqp_url,
            namespace,
            [
                event
                for submitted in requests
                for event in (
                    submitted,
                    _validated(submitted, T0 + timedelta(days=1)),
                    _treated(submitted, T0 + timedelta(days=2)),
                )
            ],
        )
        async with first.app[POOL].acquire() as conn:

            async def settled() -> bool:
                statuses = await conn.fetch(
                    "SELECT status, count(*) AS n FROM request_facts GROUP BY status"
                )
                parked = await conn.fetchval("SELECT count(*) FROM early_events")
                # Every message applied, a late validation too (it changes no status).
                applied = await conn.fetchval("SELECT count(*) FROM inbox")
                last = {r["status"]: r["n"] for r in statuses} == {"treated": 120}
                return last and not parked and applied == 3 * 120

            await eventually(settled)
            counts = await conn.fetch("SELECT status, count FROM daily_counts WHERE count <> 0")

    assert {r["status"]: r["count"] for r in counts} == {"treated": 120}
