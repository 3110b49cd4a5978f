"""The answer's deadline at the body (issue 13): pure working-day arithmetic with hold and resume
across real 2026 holidays, then on a real database: set when the request arrives, paused while on
hold and moved by the working days of the hold, moved by a change of the policy or of the days
declared off; the policy's API refusing what makes no sense with nothing written."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime

import asyncpg
import pytest

from services.treatment import actions, deadlines, handlers
from services.treatment.actions import Who
from services.treatment.app import LOCK_FIRST
from shared.deadline_policy import Policy, parse_days, problems
from shared.messages import DeadlineKind, Nature
from shared.working_days import calendar
from tests.support import delivery_of, eventually
from tests.treatment.conftest import ADMIN, AGENT, ANALYST, OPERATOR, validated_event

CAL = calendar()


def at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


# -- pure -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("validated", "days", "held_days", "due"),
    [
        # Thursday 6 August + 1: Friday 7 is the Fête Nationale, then the weekend.
        ("2026-08-06", 1, 0, date(2026, 8, 10)),
        # Across Christmas (Friday 25 December) and the weekend.
        ("2026-12-23", 3, 0, date(2026, 12, 29)),
        # Tabaski (Wednesday 27 May) and Lundi de Pentecôte (25 May).
        ("2026-05-22", 2, 0, date(2026, 5, 28)),
        # 60 working days from 1 June 2026 step over 7, 15 (a Saturday) and 25 August.
        ("2026-06-01", 60, 0, date(2026, 8, 26)),
        # Two working days held add two.
        ("2026-08-06", 1, 2, date(2026, 8, 12)),
    ],
)
def test_answer_due_in_working_days(validated, days, held_days, due):
    assert deadlines.answer_due(CAL, at(validated), days, held_days) == due


def test_hold_and_resume_across_a_holiday_give_back_the_working_days_only():
    # On hold Thursday 6 August, resumed Tuesday 11: Friday 7 (Fête Nationale) and the weekend
    # are no working days; Monday 10 and Tuesday 11 are.
    held = deadlines.held(CAL, at("2026-08-06", 9), at("2026-08-11", 15))
    assert held == 2
    before = deadlines.answer_due(CAL, at("2026-08-03"), 5)
    assert before == date(2026, 8, 11)  # Tue 4, Wed 5, Thu 6, Mon 10, Tue 11
    assert deadlines.answer_due(CAL, at("2026-08-03"), 5, held) == date(2026, 8, 13)
    # A hold and a resumption on the same day take nothing.
    assert deadlines.held(CAL, at("2026-08-06", 9), at("2026-08-06", 17)) == 0
    # A day declared off inside the hold is not given back twice.
    off = calendar([date(2026, 8, 10)])
    assert deadlines.held(off, at("2026-08-06", 9), at("2026-08-11", 15)) == 1


def test_days_left_and_late():
    due = date(2026, 8, 10)
    assert deadlines.days_left(CAL, date(2026, 8, 6), due) == 1
    assert deadlines.days_left(CAL, due, due) == 0
    assert deadlines.days_left(CAL, date(2026, 8, 12), due) == -2
    assert not deadlines.is_late(due, due)
    assert deadlines.is_late(date(2026, 8, 11), due)
    assert not deadlines.is_late(date(2026, 8, 11), None)


def test_the_policy_rule_body_over_nature_over_default():
    policy = Policy(
        {
            (DeadlineKind.ANSWER, Nature.RECLAMATION, None): 40,
            (DeadlineKind.ANSWER, Nature.RECLAMATION, "ministere-budget"): 20,
        }
    )
    assert policy.days("answer", "reclamation", "ministere-budget") == 20
    assert policy.days("answer", "reclamation", "ministere-sante") == 40
    assert policy.days("answer", "demande_information", None) == 60
    assert policy.days("admissibility", "suggestion", "x") == 15
    assert problems(policy) == []
    short = policy.with_value((DeadlineKind.ADMISSIBILITY, Nature.RECLAMATION, "x"), 50)
    assert [e["code"] for e in problems(short)] == ["answer_shorter_than_admissibility"]
    assert parse_days("12") == (12, [])
    for raw, code in [
        (0, "too_small"),
        (-3, "negative"),
        ("1.5", "not_an_integer"),
        (2.5, "not_an_integer"),
        ("quinze", "not_an_integer"),
        (True, "not_an_integer"),
        (None, "not_an_integer"),
        (366, "too_large"),
        # Digits str.isdigit admits and int refuses (a 500) or reads as another script's.
        ("²", "not_an_integer"),
        ("١٢", "not_an_integer"),
        ("-²", "not_an_integer"),
        # More digits than int reads from a string (4,300): a number, far too large.
        ("9" * 5000, "too_large"),
        ("-" + "9" * 5000, "negative"),
    ]:
        assert parse_days(raw)[1][0]["code"] == code, raw


# -- on a real database ---------------------------------------------------------------------------


async def _state(treatment) -> tuple:
    async with treatment.pool.acquire() as conn:
        return (
            await conn.fetch("SELECT * FROM deadline_policy ORDER BY 1, 2, 3"),
            await conn.fetch("SELECT * FROM declared_days_off ORDER BY day"),
            await conn.fetchval("SELECT revision FROM deadline_policy_revision"),
            await conn.fetchval("SELECT count(*) FROM outbox"),
        )


async def test_answer_due_set_on_arrival_paused_on_hold_and_moved_on_resume(treatment):
    event = await treatment.validated(decided_at=at("2026-08-03"))
    row = await treatment.row(event.code)
    assert row["answer_due"] == deadlines.answer_due(CAL, at("2026-08-03"), 60)
    sent = await treatment.outbox("deadlines.answer_due_set.v1")
    assert [(s["code"], s["answer_due"]) for s in sent] == [
        (event.code, row["answer_due"].isoformat())
    ]
    # A suggestion has no answer to wait for.
    suggestion = await treatment.validated(nature=Nature.SUGGESTION)
    assert (await treatment.row(suggestion.code))["answer_due"] is None

    await actions.put_on_hold(treatment.pool, event.code, Who(AGENT), reason="Pièce", version=1)
    # Held since Thursday 6 August: resumed (as if) on Tuesday 11, two working days later.
    async with treatment.pool.acquire() as conn:
        await conn.execute(
            "UPDATE treatments SET on_hold_since = $2 WHERE code = $1", event.code, at("2026-08-06")
        )
    assert (await treatment.row(event.code))["answer_due"] == row["answer_due"]  # paused
    await actions.resume(treatment.pool, event.code, Who(AGENT), version=None)
    moved = await treatment.row(event.code)
    held = deadlines.held(CAL, at("2026-08-06"), datetime.now(UTC))
    assert held > 0
    assert moved["held_days"] == held
    assert moved["answer_due"] == deadlines.answer_due(CAL, at("2026-08-03"), 60, held)
    sent = await treatment.outbox("deadlines.answer_due_set.v1")
    assert sent[-1]["answer_due"] == moved["answer_due"].isoformat()


async def test_a_policy_change_and_a_day_off_move_the_open_requests(treatment):
    event = await treatment.validated(decided_at=at("2026-08-03"))
    status, body = await treatment.api.call(
        "PUT",
        "/deadlines/rules",
        identity=ADMIN,
        json={"kind": "answer", "nature": "reclamation", "days": 20},
    )
    assert status == 200, body
    assert body["moved"] == 1
    due = (await treatment.row(event.code))["answer_due"]
    assert due == deadlines.answer_due(CAL, at("2026-08-03"), 20)  # 1 September
    # A body's own value overrides the nature's.
    status, body = await treatment.api.call(
        "PUT",
        "/deadlines/rules",
        identity=ADMIN,
        json={"kind": "answer", "nature": "reclamation", "body_id": event.body_id, "days": 25},
    )
    assert status == 200, body
    due = (await treatment.row(event.code))["answer_due"]
    assert due == deadlines.answer_due(CAL, at("2026-08-03"), 25)
    # A day declared off before the due date moves it by one working day.
    status, body = await treatment.api.call(
        "POST",
        "/deadlines/days-off",
        identity=ADMIN,
        json={"day": "2026-08-20", "label": "Obsèques nationales"},
    )
    assert status == 201, body
    after = (await treatment.row(event.code))["answer_due"]
    assert after == calendar([date(2026, 8, 20)]).add(date(2026, 8, 3), 25)
    assert after > due
    status, state = await treatment.api.get("/deadlines", identity=ADMIN)
    assert status == 200
    assert state["days_off"][0]["label"] == "Obsèques nationales"
    assert {"kind": "answer", "nature": "reclamation", "body_id": None, "days": 20} in state[
        "rules"
    ]
    assert state["holidays"] and state["defaults"] == {
        "admissibility": 15,
        "answer": 60,
        "opinion": 30,
    }
    changes = await treatment.outbox("deadlines.policy_changed.v1")
    assert [c["revision"] for c in changes] == [1, 2, 3]
    assert changes[-1]["days_off"] == [{"day": "2026-08-20", "label": "Obsèques nationales"}]
    # Removed: back where it was.
    status, _ = await treatment.api.call("DELETE", "/deadlines/days-off/2026-08-20", identity=ADMIN)
    assert status == 200
    assert (await treatment.row(event.code))["answer_due"] == due
    status, _ = await treatment.api.call("DELETE", "/deadlines/days-off/2026-08-20", identity=ADMIN)
    assert status == 404
    async with treatment.pool.acquire() as conn:
        audited = await conn.fetch("SELECT action FROM audit_log WHERE outcome = 'done'")
    assert [a["action"] for a in audited] == [
        "deadline_set",
        "deadline_set",
        "day_off_declared",
        "day_off_removed",
    ]


@pytest.mark.parametrize(
    ("path", "method", "body", "field", "code"),
    [
        ("/deadlines/rules", "PUT", {"kind": "answer", "nature": "reclamation", "days": 0},
         "days", "too_small"),
        ("/deadlines/rules", "PUT", {"kind": "answer", "nature": "reclamation", "days": -5},
         "days", "negative"),
        ("/deadlines/rules", "PUT", {"kind": "answer", "nature": "reclamation", "days": "dix"},
         "days", "not_an_integer"),
        ("/deadlines/rules", "PUT", {"kind": "answer", "nature": "reclamation", "days": 7.5},
         "days", "not_an_integer"),
        ("/deadlines/rules", "PUT", {"kind": "answer", "nature": "reclamation", "days": 10},
         "days", "answer_shorter_than_admissibility"),
        ("/deadlines/rules", "PUT",
         {"kind": "admissibility", "nature": "demande_information", "body_id": "x", "days": 90},
         "days", "answer_shorter_than_admissibility"),
        ("/deadlines/rules", "PUT", {"kind": "answer", "nature": "suggestion", "days": 30},
         "kind", "not_applicable"),
        ("/deadlines/rules", "PUT", {"kind": "forever", "nature": "reclamation", "days": 30},
         "kind", None),
        ("/deadlines/days-off", "POST", {"day": "31/12/2026", "label": "Fin d'année"},
         "day", "invalid_date"),
        ("/deadlines/days-off", "POST", {"day": "2026-02-30", "label": "Fin d'année"},
         "day", "invalid_date"),
        ("/deadlines/days-off", "POST", {"day": "2026-09-01", "label": "  "}, "label", "missing"),
    ],
)  # fmt: skip
async def test_bad_input_is_refused_with_nothing_written(
    treatment, path, method, body, field, code
):
    await treatment.validated()
    before = await _state(treatment)
    status, answer = await treatment.api.call(method, path, identity=ADMIN, json=body)
    assert status == 422, answer
    assert answer["error"] == "validation_failed"
    assert field in {e["field"] for e in answer["errors"]}, answer
    if code:
        assert code in {e["code"] for e in answer["errors"]}, answer
    assert await _state(treatment) == before


async def test_a_day_declared_twice_and_a_bad_day_in_the_path_are_refused(treatment):
    day = {"day": "2026-09-01", "label": "Deuil national"}
    assert (await treatment.api.call("POST", "/deadlines/days-off", identity=ADMIN, json=day))[
        0
    ] == 201
    before = await _state(treatment)
    status, answer = await treatment.api.call(
        "POST", "/deadlines/days-off", identity=ADMIN, json=day
    )
    assert (status, answer["errors"][0]["code"]) == (422, "already_declared")
    status, answer = await treatment.api.call("DELETE", "/deadlines/days-off/hier", identity=ADMIN)
    assert (status, answer["errors"][0]["code"]) == (422, "invalid_date")
    assert await _state(treatment) == before


async def test_only_administrators_reach_the_policy(treatment):
    for identity in (AGENT, ANALYST, OPERATOR):
        assert (await treatment.api.get("/deadlines", identity=identity))[0] == 403
    assert (await treatment.api.get("/deadlines", identity=None))[0] == 401


async def test_the_lists_show_the_days_left_filter_the_late_and_sort_by_due_date(treatment):
    today = datetime.now(UTC).date()
    late = await treatment.validated(decided_at=at("2026-01-05"))  # 60 working days: long past
    soon = await treatment.validated(decided_at=datetime.now(UTC))
    later = await treatment.validated(decided_at=datetime.now(UTC))
    status, body = await treatment.api.call(
        "PUT",
        "/deadlines/rules",
        identity=ADMIN,
        json={"kind": "answer", "nature": "reclamation", "body_id": later.body_id, "days": 30},
    )  # 30 working days at this body; ``later`` then given a later day by hand
    assert status == 200, body
    async with treatment.pool.acquire() as conn:
        await conn.execute(
            "UPDATE treatments SET answer_due = $2 WHERE code = $1",
            later.code,
            CAL.add(today, 40),
        )
    status, listing = await treatment.api.get("/requests?view=en_cours&sort=answer_due")
    assert status == 200, listing
    items = {i["code"]: i for i in listing["items"]}
    assert [i["code"] for i in listing["items"]] == [late.code, soon.code, later.code]
    assert items[late.code]["late"] is True and items[late.code]["days_left"] < 0
    assert items[soon.code]["late"] is False
    assert items[soon.code]["days_left"] == 30
    assert items[later.code]["days_left"] == 40
    status, listing = await treatment.api.get("/requests?view=en_cours&late=true")
    assert [i["code"] for i in listing["items"]] == [late.code]
    status, listing = await treatment.api.get("/requests?view=en_cours&sort=answer_due&order=desc")
    assert [i["code"] for i in listing["items"]] == [later.code, soon.code, late.code]
    status, bad = await treatment.api.get("/requests?late=peut-etre")
    assert status == 400 and bad["errors"][0]["field"] == "late"
    # Answered: nothing awaited, no longer late.
    await actions.answer(treatment.pool, late.code, Who(AGENT), message="Réglé.", version=None)
    status, listing = await treatment.api.get("/requests?view=en_cours&late=true")
    assert listing["items"] == []


async def test_the_opinion_window_set_by_an_administrator_closes_in_working_days(treatment):
    from services.treatment import clock
    from services.treatment.settings import TreatmentSettings

    settings = TreatmentSettings(no_opinion_days=30, unused_document_hours=24)
    untouched = await treatment.validated(nature=Nature.DEMANDE_INFORMATION)
    event = await treatment.validated()
    for e in (event, untouched):
        await actions.answer(treatment.pool, e.code, Who(AGENT), message="Réglé.", version=None)
    assert (await treatment.row(event.code))["opinion_due"] is None  # no value: the setting's
    status, body = await treatment.api.call(
        "PUT",
        "/deadlines/rules",
        identity=ADMIN,
        json={"kind": "opinion", "nature": "reclamation", "days": 2},
    )
    assert status == 200, body
    row = await treatment.row(event.code)
    answered = row["treated_at"].date()
    assert row["opinion_due"] == CAL.add(answered, 2)
    assert (await treatment.row(untouched.code))["opinion_due"] is None
    last_day = datetime.combine(CAL.add(answered, 2), datetime.min.time(), UTC).replace(hour=18)
    assert (await clock.sweep(treatment.pool, settings, last_day)).closed == []
    after = datetime.combine(CAL.add(answered, 3), datetime.min.time(), UTC).replace(hour=8)
    assert (await clock.sweep(treatment.pool, settings, after)).closed == [event.code]


async def test_the_clock_sets_the_deadline_of_requests_validated_before_deadlines_existed(
    treatment,
):
    from services.treatment import clock
    from services.treatment.settings import TreatmentSettings

    event = await treatment.validated(decided_at=at("2026-08-03"))
    async with treatment.pool.acquire() as conn:
        await conn.execute("UPDATE treatments SET answer_due = NULL WHERE code = $1", event.code)
    settings = TreatmentSettings(no_opinion_days=30, unused_document_hours=24)
    swept = await clock.sweep(treatment.pool, settings, datetime.now(UTC))
    assert swept.deadlines_set == 1
    assert (await treatment.row(event.code))["answer_due"] == CAL.add(date(2026, 8, 3), 60)
    assert (await clock.sweep(treatment.pool, settings, datetime.now(UTC))).deadlines_set == 0


async def test_a_request_moved_to_a_body_with_its_own_deadline_takes_it(treatment):
    from shared.messages import Actor, RequestReindexedV1
    from tests.treatment.conftest import OTHER_BODY, deliver

    event = await treatment.validated(decided_at=at("2026-08-03"))
    status, body = await treatment.api.call(
        "PUT",
        "/deadlines/rules",
        identity=ADMIN,
        json={"kind": "answer", "nature": "reclamation", "body_id": OTHER_BODY, "days": 20},
    )
    assert status == 200, body
    assert (await treatment.row(event.code))["answer_due"] == CAL.add(date(2026, 8, 3), 60)
    moved = RequestReindexedV1(
        request_id=event.request_id,
        code=event.code,
        body_id=OTHER_BODY,
        body_name="Ministère de la santé",
        previous_body_id=event.body_id,
        actor=Actor(staff_id=ANALYST.staff_id, role=ANALYST.role.value),
        decided_at=datetime.now(UTC),
    )
    assert await deliver(treatment.pool, moved)
    assert (await treatment.row(event.code))["answer_due"] == CAL.add(date(2026, 8, 3), 20)


async def test_a_policy_change_locks_its_requests_in_the_order_a_consumer_batch_does(
    treatment, database_url
):
    """A change of « Délais » writes the open requests' deadlines and the treated ones' opinion
    windows. It locks them in the order of their request_id, as a batch of treatment's consumer
    does (shared.lock_order), so that the two wait for each other, never in a cycle that
    PostgreSQL breaks by failing one. Before, it locked the open requests, then the treated
    ones: a batch holding a treated request (an opinion) and then taking an open one (a
    re-indexing) made that cycle with it."""
    treated = await treatment.validated(request_id=uuid.UUID(int=1))
    await actions.answer(treatment.pool, treated.code, Who(AGENT), message="Réglé.", version=None)
    waiting = await treatment.validated(request_id=uuid.UUID(int=2))
    lock = "SELECT FROM treatment.treatments WHERE request_id = $1 FOR UPDATE"
    batch = await asyncpg.connect(database_url)
    try:
        # This connection's deadlock check comes first: a cycle fails the batch (the change
        # would be retried whole, unseen).
        await batch.execute("SET deadlock_timeout = '50ms'")
        async with batch.transaction():
            await batch.execute(lock, treated.request_id)
            change = _changing(treatment, "opinion", 2)
            await eventually(lambda: _waits_for_a_lock(batch))
            await batch.execute(lock, waiting.request_id)
        status, body = await change
        assert status == 200, body
    finally:
        await batch.close()
    assert (await treatment.row(treated.code))["opinion_due"] is not None


async def test_a_request_validated_while_the_policy_changes_gets_the_new_deadline(
    treatment, database_url
):
    """A change of « Délais » computes again the deadline of every request awaiting its answer,
    those validated at that very moment too: a batch of the consumer applying a validation
    (its locks first, LOCK_FIRST, then the handler) and the change wait for each other. Before,
    the change did not see the row the batch was inserting, and the batch had read the policy
    before the change: once both committed, the request kept the old deadline."""
    event = validated_event(decided_at=at("2026-08-03"))
    batch = await asyncpg.connect(database_url, server_settings={"search_path": "treatment,public"})
    try:
        async with batch.transaction():
            await LOCK_FIRST(batch, [event])
            await handlers.on_validated(batch, event, delivery_of(event))
            change = _changing(treatment, "answer", 20)

            async def waits_or_done():
                return change.done() or await _waits_for_a_lock(batch)

            await eventually(waits_or_done)
        status, body = await change
        assert status == 200, body
    finally:
        await batch.close()
    assert (await treatment.row(event.code))["answer_due"] == CAL.add(date(2026, 8, 3), 20)


def _changing(treatment, kind: str, days: int) -> asyncio.Task:
    """An administrator's change of the réclamations' ``kind`` deadline, under way."""
    rule = {"kind": kind, "nature": "reclamation", "days": days}
    return asyncio.create_task(
        treatment.api.call("PUT", "/deadlines/rules", identity=ADMIN, json=rule)
    )


async def _waits_for_a_lock(conn: asyncpg.Connection) -> int:
    """How many other sessions of the database wait for a lock."""
    return await conn.fetchval(
        """SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
           AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"""
    )
