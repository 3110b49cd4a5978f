"""triage against real PostgreSQL and RabbitMQ: the analysts' queue from request.submitted."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta

import aiohttp
from prometheus_client import REGISTRY

from services.triage.app import create_app
from services.triage.settings import TriageSettings
from shared.messages import RequestSubmittedV1
from shared.service import POOL
from shared.working_days import Calendar, day_of
from tests.support import (
    RunningApp,
    dead_letters,
    eventually,
    publish_event,
    signed_session,
    submitted_event,
)
from tests.triage.helpers import headers

SUBMITTED = RequestSubmittedV1.type_name()
SECRET = TriageSettings().identity_secret.get_secret_value().encode()


async def _get(http: aiohttp.ClientSession, url: str) -> tuple[int, dict]:
    """As an analyst: every queue endpoint wants the signed identity."""
    async with http.get(url, headers=headers(SECRET)) as response:
        return response.status, await response.json()


async def _in_queue(http: aiohttp.ClientSession, base: str, code: str) -> dict:
    async def probe():
        status, body = await _get(http, f"{base}/queue/{code}")
        return body if status == 200 else None

    return await eventually(probe)


WORKING_DAYS = Calendar()


async def test_submitted_request_waits_with_its_deadline(settings_for, amqp_url, namespace):
    submitted_at = datetime.now(UTC).replace(microsecond=0)
    event = submitted_event(submitted_at=submitted_at)
    async with RunningApp(create_app(settings_for(TriageSettings))) as running:
        await publish_event(amqp_url, namespace, event)
        async with signed_session() as http:
            item = await _in_queue(http, running.url, event.code)
            status, listing = await _get(http, f"{running.url}/queue")

    assert item["request_id"] == str(event.request_id)
    assert item["status"] == "waiting"
    assert datetime.fromisoformat(item["submitted_at"]) == submitted_at
    deadline = datetime.fromisoformat(item["admissibility_deadline"])
    # 15 working days after the day it entered the queue, to that day's end.
    due = WORKING_DAYS.add(submitted_at.date(), 15)
    assert deadline == datetime.combine(due, time(23, 59, 59), tzinfo=UTC)
    assert item["days_left"] == 15
    assert item["overdue"] is False
    assert item["body_id"] == event.body_id
    assert item["theme_label"] == event.theme_label
    assert item["contact"]["email"] == event.contact.email
    assert item["attachments"] == []
    assert status == 200
    assert listing["total"] == 1
    assert [i["code"] for i in listing["items"]] == [event.code]


async def test_queue_is_oldest_first_and_the_deadline_is_a_setting(
    settings_for, amqp_url, namespace
):
    now = datetime.now(UTC)
    old = submitted_event(submitted_at=now - timedelta(days=20))
    older = submitted_event(submitted_at=now - timedelta(days=30))
    recent = submitted_event(submitted_at=now - timedelta(hours=1))
    settings = settings_for(TriageSettings, admissibility_days=10)
    async with RunningApp(create_app(settings)) as running:
        for event in (old, recent, older):
            await publish_event(amqp_url, namespace, event)
        async with signed_session() as http:

            async def all_three():
                _, body = await _get(http, f"{running.url}/queue")
                return body if body["total"] == 3 else None

            listing = await eventually(all_three)
            _, page = await _get(http, f"{running.url}/queue?limit=1&offset=1")
            bad = [
                await _get(http, f"{running.url}/queue?{q}")
                for q in ("limit=0", "limit=abc", "offset=-1")
            ]
            missing = await _get(http, f"{running.url}/queue/1234567890")

    items = listing["items"]
    assert [i["code"] for i in items] == [older.code, old.code, recent.code]
    assert [i["overdue"] for i in items] == [True, True, False]
    today = now.date()
    assert items[0]["days_left"] == WORKING_DAYS.left(
        today, WORKING_DAYS.add(day_of(older.submitted_at), 10)
    )
    assert items[2]["days_left"] == WORKING_DAYS.left(
        today, WORKING_DAYS.add(day_of(recent.submitted_at), 10)
    )  # 10 working days after a moment an hour ago
    assert [i["code"] for i in page["items"]] == [old.code]
    assert all(status == 400 and body["error"] == "invalid_query" for status, body in bad)
    assert missing[0] == 404
    assert missing[1]["error"] == "not_found"


async def test_same_message_twice_makes_one_row(settings_for, amqp_url, namespace):
    event = submitted_event()
    before = REGISTRY.get_sample_value("milie_messages_duplicate_total", {"type": SUBMITTED}) or 0
    async with RunningApp(create_app(settings_for(TriageSettings))) as running:
        message_id = await publish_event(amqp_url, namespace, event)
        await publish_event(amqp_url, namespace, event, message_id=message_id)
        # Another message about the same request (a relay's second row, say): still one row.
        await publish_event(amqp_url, namespace, event)

        async def two_duplicates_or_one_and_done() -> bool:
            seen = REGISTRY.get_sample_value("milie_messages_duplicate_total", {"type": SUBMITTED})
            async with running.app[POOL].acquire() as conn:
                inbox = await conn.fetchval("SELECT count(*) FROM inbox")
            return (seen or 0) >= before + 1 and inbox == 2

        await eventually(two_duplicates_or_one_and_done)
        async with running.app[POOL].acquire() as conn:
            rows = await conn.fetchval(
                "SELECT count(*) FROM queue_items WHERE request_id = $1", event.request_id
            )
    assert rows == 1


async def test_invalid_message_is_dead_lettered_and_the_queue_flows(
    settings_for, amqp_url, namespace
):
    broken = submitted_event()
    body = json.loads(broken.model_dump_json())
    del body["code"]
    valid = submitted_event()
    async with RunningApp(create_app(settings_for(TriageSettings))) as running:
        await publish_event(amqp_url, namespace, broken, body=json.dumps(body).encode())
        await publish_event(amqp_url, namespace, valid)
        async with signed_session() as http:
            await _in_queue(http, running.url, valid.code)

        dead = []

        async def dead_lettered():
            dead.extend(await dead_letters(amqp_url, f"{namespace}.milie.triage.dead-letter"))
            return dead

        await eventually(dead_lettered)
        async with running.app[POOL].acquire() as conn:
            broken_rows = await conn.fetchval(
                "SELECT count(*) FROM queue_items WHERE request_id = $1", broken.request_id
            )

    assert len(dead) == 1
    assert dead[0].type == SUBMITTED
    reason = dead[0].headers["x-milie-reason"]
    assert isinstance(reason, str)
    assert "code" in reason
    assert "request.submitted.v1" in reason
    assert json.loads(dead[0].body) == body
    assert broken_rows == 0
