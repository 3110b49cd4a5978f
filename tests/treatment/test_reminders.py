"""Reminders and escalation (services/treatment/reminders.py) with a clock the test controls and
two copies of treatment sweeping the same database at once: each reminder once, none for a
request on hold, a missed deadline escalated once; the administrator's « Rappels » policy."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime
from typing import Any

import pytest

from services.treatment import clock, reminders
from services.treatment.app import create_app
from services.treatment.settings import TreatmentSettings
from shared.lifecycle import Status
from shared.messages import ReminderKind, RequestDeadlineMissedV1, RequestDeadlineWarningV1
from shared.service import POOL
from shared.working_days import calendar
from tests.support import RunningApp, signed_session
from tests.treatment.conftest import ADMIN, AGENT, ANALYST, Api, deliver, validated_event

CAL = calendar()
NOW = datetime(2026, 6, 15, 9, tzinfo=UTC)  # a Monday, no holiday near
SETTINGS = TreatmentSettings(no_opinion_days=30, unused_document_hours=24)


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


@pytest.fixture
async def copies(settings_for):
    """Two copies of treatment on one database, their clocks stopped (the test sweeps)."""
    settings = settings_for(TreatmentSettings, db_pool_min=1, clock_interval_seconds=0)
    async with RunningApp(create_app(settings)) as one, RunningApp(create_app(settings)) as two:
        async with signed_session() as http:
            yield one.app[POOL], two.app[POOL], Api(http, one.url)


async def request(pool, validated: date, **row: Any) -> str:
    """A réclamation validated on ``validated``, its row then set as ``row`` says."""
    event = validated_event(decided_at=at(validated))
    assert await deliver(pool, event)
    if row:
        sets = ", ".join(f"{name} = ${i + 2}" for i, name in enumerate(row))
        await pool.execute(
            f"UPDATE treatments SET {sets} WHERE code = $1", event.code, *row.values()
        )
    return event.code


async def events(pool, contract) -> list:
    rows = await pool.fetch(
        "SELECT body FROM outbox WHERE message_type = $1 ORDER BY id", contract.type_name()
    )
    return [contract.model_validate(json.loads(r["body"])) for r in rows]


async def both(one, two, now: datetime) -> None:
    """The two copies sweep at the same moment."""
    await asyncio.gather(clock.sweep(one, SETTINGS, now), clock.sweep(two, SETTINGS, now))


async def test_two_copies_send_each_reminder_once_and_escalate_once(copies):
    one, two, api = copies
    taken = {"assignee_id": AGENT.staff_id, "assignee_login": AGENT.login}
    not_taken = await request(one, date(2026, 6, 5))
    held = await request(one, date(2026, 6, 5), status=Status.ON_HOLD.value)
    late = await request(one, date(2026, 5, 4), **taken, answer_due=date(2026, 6, 11))
    held_late = await request(
        one, date(2026, 5, 4), **taken, status=Status.ON_HOLD.value, answer_due=date(2026, 6, 11)
    )
    soon = await request(one, date(2026, 6, 12), **taken, answer_due=date(2026, 6, 17))
    fresh = await request(one, date(2026, 6, 15))

    await both(one, two, NOW)
    await both(one, two, NOW)  # again, the same day: nothing new

    warnings = await events(one, RequestDeadlineWarningV1)
    assert sorted((w.code, w.kind, w.due_date) for w in warnings) == sorted(
        [
            (not_taken, ReminderKind.NOT_TAKEN, CAL.add(date(2026, 6, 5), 3)),
            (late, ReminderKind.IN_PROGRESS, CAL.add(date(2026, 5, 4), 20)),
            (soon, ReminderKind.ANSWER_DUE, reminders.earliest_before(CAL, date(2026, 6, 17), 5)),
        ]
    )
    [about_soon] = [w for w in warnings if w.code == soon]
    assert about_soon.answer_due == date(2026, 6, 17)
    assert {held, held_late, fresh}.isdisjoint(w.code for w in warnings)
    [missed] = await events(one, RequestDeadlineMissedV1)
    assert (missed.code, missed.answer_due, missed.missed_at) == (late, date(2026, 6, 11), NOW)
    assert await one.fetchval("SELECT count(*) FROM reminders") == 3

    # A week later: the repeats (every 5 working days), the soon one now late, nothing twice.
    week = at(date(2026, 6, 22))
    await both(one, two, week)
    await both(one, two, week)
    warnings = await events(one, RequestDeadlineWarningV1)
    assert sorted((w.code, w.kind) for w in warnings[3:]) == sorted(
        [
            (not_taken, ReminderKind.NOT_TAKEN),
            (late, ReminderKind.IN_PROGRESS),
            (fresh, ReminderKind.NOT_TAKEN),  # validated on the 15th: 3 days on the 18th
        ]
    )
    assert warnings[3].due_date <= week.date()
    missed = await events(one, RequestDeadlineMissedV1)
    assert sorted(m.code for m in missed) == sorted([late, soon])

    # Taken back from hold (status only: its deadline as it was): now it counts, once.
    await one.execute(
        "UPDATE treatments SET status = $2 WHERE code = $1", held_late, Status.IN_TREATMENT.value
    )
    await both(one, two, week)
    await both(one, two, week)
    missed = await events(one, RequestDeadlineMissedV1)
    assert sorted(m.code for m in missed) == sorted([late, soon, held_late])

    # The analysts' « En retard »: every body's requests past the deadline the clock escalated.
    status, body = await api.get("/requests?view=en_retard&limit=100", identity=ANALYST)
    assert status == 200, body
    assert sorted(i["code"] for i in body["items"]) == sorted([late, soon, held_late])
    # Put on hold while late, it stays late; its deadline moved (resumed), it is no longer.
    await one.execute(
        "UPDATE treatments SET status = $2 WHERE code = $1", late, Status.ON_HOLD.value
    )
    await one.execute(
        "UPDATE treatments SET answer_due = $2 WHERE code = $1", soon, date(2026, 7, 20)
    )
    _, body = await api.get("/requests?view=en_retard&limit=100", identity=ANALYST)
    assert sorted(i["code"] for i in body["items"]) == sorted([late, held_late])


async def test_a_moved_deadline_missed_again_is_a_new_escalation(copies):
    one, two, _ = copies
    code = await request(one, date(2026, 5, 4), answer_due=date(2026, 6, 11))
    await both(one, two, NOW)
    await one.execute(
        "UPDATE treatments SET answer_due = $2 WHERE code = $1", code, date(2026, 6, 16)
    )
    await both(one, two, NOW)
    assert len(await events(one, RequestDeadlineMissedV1)) == 1
    await both(one, two, at(date(2026, 6, 17)))
    await both(one, two, at(date(2026, 6, 18)))
    missed = await events(one, RequestDeadlineMissedV1)
    assert [m.answer_due for m in missed] == [date(2026, 6, 11), date(2026, 6, 16)]


async def test_no_repeat_when_the_administrator_says_none(copies):
    one, two, api = copies
    status, body = await api.call(
        "PUT",
        "/reminders/settings",
        identity=ADMIN,
        json={"not_taken_days": 2, "in_progress_days": 10, "before_due_days": 0, "repeat_days": 0},
    )
    assert status == 200, body
    assert body["repeat_days"] == 0 and body["updated_by"] == ADMIN.login
    code = await request(one, date(2026, 6, 1))
    await both(one, two, NOW)
    await both(one, two, at(date(2026, 6, 29)))
    warnings = await events(one, RequestDeadlineWarningV1)
    assert [(w.code, w.due_date) for w in warnings] == [(code, CAL.add(date(2026, 6, 1), 2))]


@pytest.mark.parametrize(
    ("given", "field", "code"),
    [
        ({"not_taken_days": 0}, "not_taken_days", "out_of_range"),
        ({"in_progress_days": -3}, "in_progress_days", "out_of_range"),
        ({"repeat_days": "cinq"}, "repeat_days", "not_an_integer"),
        ({"before_due_days": 1.5}, "before_due_days", "not_an_integer"),
        ({"repeat_days": None}, "repeat_days", "missing"),
        ({"not_taken_days": 30, "in_progress_days": 10}, "in_progress_days", None),
        ({"every": 3}, "every", "unknown_field"),
    ],
)
async def test_a_policy_that_makes_no_sense_is_refused_and_nothing_changes(
    copies, given, field, code
):
    _, _, api = copies
    good = {"not_taken_days": 3, "in_progress_days": 20, "before_due_days": 5, "repeat_days": 5}
    status, body = await api.call(
        "PUT", "/reminders/settings", identity=ADMIN, json={**good, **given}
    )
    assert status == 422
    assert body["error"] == "validation_failed"
    [error] = [e for e in body["errors"] if e["field"] == field]
    assert error["code"] == (code or "in_progress_before_not_taken")
    _, kept = await api.get("/reminders/settings", identity=ADMIN)
    assert {k: kept[k] for k in good} == reminders.Policy().as_dict()


async def test_only_an_administrator_sets_the_reminders(copies):
    _, _, api = copies
    good = {"not_taken_days": 3, "in_progress_days": 20, "before_due_days": 5, "repeat_days": 5}
    for who in (AGENT, ANALYST):
        status, _ = await api.call("PUT", "/reminders/settings", identity=who, json=good)
        assert status == 403
        status, _ = await api.get("/reminders/settings", identity=who)
        assert status == 403
    status, _ = await api.call("PUT", "/reminders/settings", identity=None, json=good)
    assert status == 401


def test_the_rules_count_working_days():
    # Friday 5 June + 3 working days: Wednesday 10; the last start with 3 days by Monday 15 is
    # Wednesday 10 (Thursday 11 + 3 = Tuesday 16).
    assert CAL.add(date(2026, 6, 5), 3) == date(2026, 6, 10)
    assert reminders.latest_start(CAL, date(2026, 6, 15), 3) == date(2026, 6, 10)
    assert reminders.earliest_before(CAL, date(2026, 6, 17), 5) == date(2026, 6, 10)
    first, sent = date(2026, 6, 1), date(2026, 6, 10)  # due long before the clock sent it
    assert reminders.next_due(CAL, first, None, 5, date(2026, 5, 29)) is None
    assert reminders.next_due(CAL, first, None, 5, date(2026, 6, 10)) == first
    # Repeated 5 working days after it was sent, not after it was due.
    assert reminders.next_due(CAL, first, sent, 5, date(2026, 6, 16)) is None
    assert reminders.next_due(CAL, first, sent, 5, date(2026, 6, 17)) == date(2026, 6, 17)
    # Missed repeats are not sent one by one: the latest only.
    assert reminders.next_due(CAL, first, sent, 5, date(2026, 6, 30)) == date(2026, 6, 24)
    assert reminders.next_due(CAL, first, sent, 0, date(2026, 7, 1)) is None
