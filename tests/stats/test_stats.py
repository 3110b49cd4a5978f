"""stats against real PostgreSQL and RabbitMQ: counts from request.submitted events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import aiohttp
from prometheus_client import REGISTRY

from services.stats import repository
from services.stats.app import create_app
from services.stats.settings import StatsSettings
from shared.identity import Identity, Role
from shared.messages import Nature, RequestSubmittedV1
from shared.service import POOL
from tests.support import (
    RunningApp,
    as_staff,
    eventually,
    publish_event,
    signed_session,
    submitted_event,
)

SUBMITTED = RequestSubmittedV1.type_name()


def _duplicates() -> float:
    value = REGISTRY.get_sample_value("milie_messages_duplicate_total", {"type": SUBMITTED})
    return value or 0.0


async def _get(http: aiohttp.ClientSession, url: str, headers=None) -> tuple[int, dict]:
    async with http.get(url, headers=headers) as response:
        return response.status, await response.json()


async def _bodies_once_total(http: aiohttp.ClientSession, base: str, total: int) -> dict:
    async def probe():
        _, body = await _get(http, f"{base}/stats/bodies")
        return body if sum(b["total"] for b in body["bodies"]) >= total else None

    return await eventually(probe)


async def test_counts_per_body_and_nature(settings_for, amqp_url, namespace):
    a, b = f"body-a-{uuid.uuid4().hex[:6]}", f"body-b-{uuid.uuid4().hex[:6]}"
    async with RunningApp(create_app(settings_for(StatsSettings))) as running:
        for event in (
            submitted_event(body_id=a, body_name="Organisme A", nature=Nature.RECLAMATION),
            submitted_event(body_id=a, body_name="Organisme A", nature=Nature.SUGGESTION),
            submitted_event(body_id=b, body_name="Organisme B", nature=Nature.RECLAMATION),
        ):
            await publish_event(amqp_url, namespace, event)
        async with signed_session() as http:
            body = await _bodies_once_total(http, running.url, 3)

    by_id = {entry["body_id"]: entry for entry in body["bodies"]}
    assert set(by_id) == {a, b}
    assert by_id[a]["body_name"] == "Organisme A"
    assert by_id[a]["total"] == 2
    assert by_id[a]["by_nature"]["reclamation"] == 1
    assert by_id[a]["by_nature"]["suggestion"] == 1
    assert by_id[a]["by_nature"]["observation"] == 0
    assert by_id[b]["total"] == 1
    assert by_id[b]["by_nature"]["reclamation"] == 1
    assert body["bodies"][0]["body_id"] == a  # busiest first


async def test_same_message_twice_is_counted_once(settings_for, amqp_url, namespace):
    event = submitted_event()
    before = _duplicates()
    async with RunningApp(create_app(settings_for(StatsSettings))) as running:
        message_id = await publish_event(amqp_url, namespace, event)
        await publish_event(amqp_url, namespace, event, message_id=message_id)

        async def duplicate_seen() -> bool:
            return _duplicates() >= before + 1

        await eventually(duplicate_seen)
        async with signed_session() as http:
            body = await _bodies_once_total(http, running.url, 1)
            _, summary = await _get(http, f"{running.url}/stats/summary")

    assert [entry["total"] for entry in body["bodies"]] == [1]
    assert summary["total"] == 1
    assert summary["by_status"] == {"submitted": 1}


async def test_summary_over_a_period_and_a_status_change(settings_for, amqp_url, namespace):
    march_1 = submitted_event(
        nature=Nature.RECLAMATION, submitted_at=datetime(2024, 3, 1, 23, 30, tzinfo=UTC)
    )
    march_10 = submitted_event(
        nature=Nature.OBSERVATION, submitted_at=datetime(2024, 3, 10, 8, 0, tzinfo=UTC)
    )
    async with RunningApp(create_app(settings_for(StatsSettings))) as running:
        await publish_event(amqp_url, namespace, march_1)
        await publish_event(amqp_url, namespace, march_10)
        async with signed_session() as http:
            await _bodies_once_total(http, running.url, 2)
            status, early = await _get(
                http, f"{running.url}/stats/summary?from=2024-03-01&to=2024-03-05"
            )
            assert status == 200
            assert early["total"] == 1
            assert early["by_nature"]["reclamation"] == 1
            assert early["by_nature"]["observation"] == 0

            # A later transition moves the request between statuses, in one transaction.
            async with running.app[POOL].acquire() as conn, conn.transaction():
                now = datetime.now(UTC)
                assert await repository.move_status(conn, march_1.request_id, "validated", now)
                assert not await repository.move_status(conn, march_1.request_id, "validated", now)
                assert not await repository.move_status(conn, uuid.uuid4(), "validated", now)
            _, whole = await _get(http, f"{running.url}/stats/summary?from=2024-03-01")

    assert whole["total"] == 2
    assert whole["by_status"] == {"validated": 1, "submitted": 1}
    assert whole["by_nature"]["observation"] == 1


async def test_bad_dates_answer_400(settings_for):
    """Every route that reads a period (public and staff) refuses the same bad dates alike."""
    admin = as_staff(Identity(staff_id="admin-1", role=Role.ADMINISTRATOR))
    routes = ("summary?", "opinions?", "general?", "body-dashboard?body_id=b&")
    async with RunningApp(create_app(settings_for(StatsSettings))) as running:
        async with signed_session() as http:
            for route in routes:
                for query in (
                    "from=2024-13-01",
                    "to=yesterday",
                    "from=20240301",
                    "from=2024-03-10&to=2024-03-01",
                ):
                    url = f"{running.url}/stats/{route}{query}"
                    status, body = await _get(http, url, admin)
                    assert status == 400, url
                    assert body["error"] == "invalid_period"
                    assert body["message"]
