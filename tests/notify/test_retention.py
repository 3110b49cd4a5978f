"""notify's rows past their keeping time go (services/notify/retention.py); the recent ones, the
late requests not answered and the deliveries of a request stay."""

from __future__ import annotations

import uuid

import pytest
from pydantic import ValidationError

from services.notify import retention
from services.notify.app import create_app
from services.notify.settings import NotifySettings
from shared.db import create_pool
from shared.service import POOL
from tests.support import RunningApp, eventually


async def _new_request(conn, days_ago: int) -> uuid.UUID:
    request_id = uuid.uuid4()
    await conn.execute(
        """INSERT INTO staff_new_requests (request_id, code, nature, body_id, body_name, reached_at)
           VALUES ($1, '1234567890', 'reclamation', 'b', 'Organisme B',
                   now() - make_interval(days => $2))""",
        request_id,
        days_ago,
    )
    return request_id


async def _daily_mail(conn, days_ago: int) -> str:
    account = uuid.uuid4().hex
    await conn.execute(
        """INSERT INTO staff_daily_mails (account_id, kind, day, delivery_about, sent_at)
           VALUES ($1, 'late_requests', current_date - $2::integer, $3, now())""",
        account,
        days_ago,
        uuid.uuid4(),
    )
    return account


async def _late(conn, missed_days_ago: int, answered_days_ago: int | None) -> uuid.UUID:
    request_id = uuid.uuid4()
    await conn.execute(
        """INSERT INTO staff_late_requests (request_id, answer_due, code, nature, body_id,
                                            body_name, missed_at, answered_at)
           VALUES ($1, current_date - $2::integer, '1234567890', 'reclamation', 'b',
                   'Organisme B', now() - make_interval(days => $2),
                   now() - make_interval(days => $3))""",
        request_id,
        missed_days_ago,
        answered_days_ago,
    )
    return request_id


async def _answer(conn, days_ago: int) -> uuid.UUID:
    request_id = uuid.uuid4()
    await conn.execute(
        """INSERT INTO staff_answers (request_id, answered_at)
           VALUES ($1, now() - make_interval(days => $2))""",
        request_id,
        days_ago,
    )
    return request_id


async def _delivery(conn, days_ago: int, status: str, request_id: uuid.UUID | None) -> uuid.UUID:
    delivery_id = uuid.uuid4()
    await conn.execute(
        """INSERT INTO deliveries (id, request_id, about_message_id, about_message_type, medium,
                                   recipient, body_text, status, created_at)
           VALUES ($1, $2, $3, 'codes.reminder_requested.v2', 'email', 'awa@example.ci',
                   'Vos codes : 1234567890', $4, now() - make_interval(days => $5))""",
        delivery_id,
        request_id,
        uuid.uuid4(),
        status,
        days_ago,
    )
    return delivery_id


async def _ids(conn, table: str, column: str) -> set:
    return {r[0] for r in await conn.fetch(f"SELECT {column} FROM {table}")}


async def test_rows_past_their_keeping_time_go_and_the_others_stay(database_url, settings_for):
    settings = settings_for(NotifySettings)  # staff mails 30 days, unattached deliveries 90
    pool = await create_pool(database_url, "notify", min_size=1, max_size=2)
    try:
        async with pool.acquire() as conn:
            await _new_request(conn, 31)
            new_recent = await _new_request(conn, 1)
            await _daily_mail(conn, 31)
            mail_today = await _daily_mail(conn, 0)
            await _late(conn, 60, answered_days_ago=31)
            late_recent = await _late(conn, 60, answered_days_ago=29)
            late_open = await _late(conn, 400, answered_days_ago=None)  # still late: listed
            await _answer(conn, 31)
            answer_recent = await _answer(conn, 29)
            await _delivery(conn, 91, "sent", None)
            await _delivery(conn, 200, "failed", None)
            waiting = await _delivery(conn, 200, "pending", None)  # still to send
            reminder_recent = await _delivery(conn, 89, "sent", None)
            of_a_request = await _delivery(conn, 400, "sent", uuid.uuid4())  # its record

        # Batches smaller than the backlog: every old row goes, in several statements.
        gone = await retention.sweep(pool, settings, batch=1)

        assert gone == {
            "staff_new_requests": 1,
            "staff_daily_mails": 1,
            "staff_late_requests": 1,
            "staff_answers": 1,
            "deliveries": 2,
        }
        async with pool.acquire() as conn:
            assert await _ids(conn, "staff_new_requests", "request_id") == {new_recent}
            assert await _ids(conn, "staff_daily_mails", "account_id") == {mail_today}
            assert await _ids(conn, "staff_late_requests", "request_id") == {
                late_recent,
                late_open,
            }
            assert await _ids(conn, "staff_answers", "request_id") == {answer_recent}
            assert await _ids(conn, "deliveries", "id") == {
                waiting,
                reminder_recent,
                of_a_request,
            }
        assert set((await retention.sweep(pool, settings)).values()) == {0}
    finally:
        await pool.close()


async def test_the_service_clock_sweeps(settings_for, smtp_server):
    settings = settings_for(NotifySettings, smtp_port=smtp_server.port, retention_sweep_seconds=0.1)
    async with RunningApp(create_app(settings)) as running:
        pool = running.app[POOL]
        async with pool.acquire() as conn:
            old = await _answer(conn, 31)
            recent = await _answer(conn, 1)

        async def swept() -> set:
            async with pool.acquire() as conn:
                left = await _ids(conn, "staff_answers", "request_id")
            return left if old not in left else set()

        assert await eventually(swept) == {recent}


def test_the_answers_are_kept_at_least_as_long_as_the_inbox(settings_for):
    with pytest.raises(ValidationError, match="staff_mail_kept_days"):
        settings_for(NotifySettings, inbox_kept_days=60, staff_mail_kept_days=30)
    assert settings_for(NotifySettings, inbox_kept_days=60, staff_mail_kept_days=60)
