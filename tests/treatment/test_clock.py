"""Treatment's clock with a time the test chooses (``clock.sweep(pool, settings, now)``): a request
treated and left without an opinion for ``no_opinion_days`` is closed « sans retour » once, by
one of several sweeps; the documents uploaded for no answer are deleted after a day."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest

from services.treatment import actions, clock
from services.treatment.app import create_app
from services.treatment.settings import TreatmentSettings
from shared.messages import Opinion, RequestClosedV1
from shared.service import POOL
from shared.web import FieldErrors
from tests.front.conftest import PDF
from tests.support import RunningApp, eventually
from tests.treatment.conftest import AGENT, deliver, validated_event

SETTINGS = TreatmentSettings(no_opinion_days=30, unused_document_hours=24)


def who() -> actions.Who:
    return actions.Who(AGENT, "10.0.0.7")


async def answered(treatment) -> tuple[str, datetime]:
    """A réclamation answered now: its code and its answer's time (treated_at)."""
    event = await treatment.validated()
    await actions.answer(treatment.pool, event.code, who(), message="Réglé.", version=1)
    return event.code, (await treatment.row(event.code))["treated_at"]


async def closed_events(treatment) -> list[RequestClosedV1]:
    async with treatment.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT body FROM outbox WHERE message_type = 'request.closed.v1' ORDER BY id"
        )
    return [RequestClosedV1.model_validate(json.loads(r["body"])) for r in rows]


async def test_no_opinion_for_thirty_days_closes_the_request_without_return(treatment):
    old, answered_at = await answered(treatment)
    recent, _ = await answered(treatment)
    recent_at = (await treatment.row(recent))["treated_at"]
    judged, _ = await answered(treatment)
    async with treatment.pool.acquire() as conn, conn.transaction():
        row = await treatment.row(judged)
        await actions.apply_opinion(
            conn, row["request_id"], Opinion.PARTLY_SATISFIED, None, answered_at
        )
    # The old one answered 31 days before « now », the recent one 29: the recent one is made
    # two days younger than the old by moving its answer (the one thing the clock reads).
    now = answered_at + timedelta(days=31)
    async with treatment.pool.acquire() as conn:
        await conn.execute(
            "UPDATE treatments SET treated_at = $2 WHERE code = $1",
            recent,
            now - timedelta(days=29),
        )
    assert recent_at <= now

    swept = await clock.sweep(treatment.pool, SETTINGS, now)

    assert swept.closed == [old]
    row = await treatment.row(old)
    assert (row["status"], row["opinion"], row["closed_at"]) == ("closed", None, now)
    assert (await treatment.row(recent))["status"] == "treated"
    kept = await treatment.row(judged)
    assert (kept["status"], kept["opinion"]) == ("closed", "partly_satisfied")
    [event] = await closed_events(treatment)
    assert (event.code, event.opinion, event.closed_at) == (old, None, now)
    async with treatment.pool.acquire() as conn:
        line = await conn.fetchrow(
            """SELECT h.kind, h.actor_role, h.message_id FROM history h
               JOIN treatments t USING (request_id) WHERE t.code = $1 ORDER BY h.id DESC""",
            old,
        )
        published = await conn.fetchval(
            "SELECT message_id FROM outbox WHERE message_type = 'request.closed.v1'"
        )
        audit = await conn.fetch(
            "SELECT action, outcome, actor_role, detail FROM audit_log WHERE request_code = $1",
            old,
        )
    assert tuple(line) == ("closed", "system", published)
    assert [tuple(a) for a in audit][-1] == ("closed", "done", "system", "Clôturée sans retour")

    # Idempotent: the next sweeps close nothing more.
    assert (await clock.sweep(treatment.pool, SETTINGS, now)).closed == []
    assert len(await closed_events(treatment)) == 1


async def test_two_sweeps_at_once_close_each_request_once(treatment):
    codes = [(await answered(treatment))[0] for _ in range(5)]
    now = datetime.now(UTC) + timedelta(days=31)

    results = await asyncio.gather(*(clock.sweep(treatment.pool, SETTINGS, now) for _ in range(3)))

    closed = [code for swept in results for code in swept.closed]
    assert sorted(closed) == sorted(codes)  # every one, each by one sweep
    assert sorted(e.code for e in await closed_events(treatment)) == sorted(codes)
    for code in codes:
        # validated, assigned (by the one answering), treated, closed
        assert await treatment.count("history", code) == 4


async def test_the_days_count_from_the_last_answer(treatment):
    """Reopened and answered again: 35 days after the first answer, 15 after the second, the
    request still waits for the opinion."""
    code, first = await answered(treatment)
    row = await treatment.row(code)
    async with treatment.pool.acquire() as conn:
        await conn.execute(
            "UPDATE treatments SET treated_at = $2 WHERE code = $1",
            code,
            first - timedelta(days=20),
        )
        async with conn.transaction():
            await actions.apply_reopening(conn, row["request_id"], "Rien n'a changé", first)
    await actions.answer(treatment.pool, code, who(), message="Réglé cette fois.", version=None)
    second = (await treatment.row(code))["treated_at"]

    assert (await clock.sweep(treatment.pool, SETTINGS, second + timedelta(days=15))).closed == []
    assert (await clock.sweep(treatment.pool, SETTINGS, second + timedelta(days=30))).closed == [
        code
    ]


async def test_a_reopened_request_is_not_closed_by_the_clock(treatment):
    code, answered_at = await answered(treatment)
    row = await treatment.row(code)
    async with treatment.pool.acquire() as conn, conn.transaction():
        await actions.apply_reopening(conn, row["request_id"], "Relance", answered_at)
    swept = await clock.sweep(treatment.pool, SETTINGS, answered_at + timedelta(days=90))
    assert swept.closed == []
    assert (await treatment.row(code))["status"] == "reopened"


async def test_documents_joined_to_no_answer_are_deleted_after_a_day(treatment):
    event = await treatment.validated()
    code = event.code
    used = await actions.add_document(treatment.pool, code, who(), filename="a.pdf", data=PDF)
    await actions.answer(
        treatment.pool,
        code,
        who(),
        message="Réglé.",
        document_ids=[used["document_id"]],
        version=1,
    )
    left = await actions.add_document(treatment.pool, code, who(), filename="b.pdf", data=PDF)
    async with treatment.pool.acquire() as conn:
        uploaded = await conn.fetchval(
            "SELECT uploaded_at FROM documents WHERE id = $1", left["document_id"]
        )

    swept = await clock.sweep(treatment.pool, SETTINGS, uploaded + timedelta(hours=23))
    assert swept.documents_deleted == 0
    swept = await clock.sweep(treatment.pool, SETTINGS, uploaded + timedelta(hours=25))
    assert swept.documents_deleted == 1

    async with treatment.pool.acquire() as conn:
        ids = {str(r["id"]) for r in await conn.fetch("SELECT id FROM documents")}
    assert ids == {used["document_id"]}  # the answer's document stays
    # An agent who comes back to the form and names the deleted one is told to join it again.
    other = await treatment.validated()
    with pytest.raises(FieldErrors) as refused:
        await actions.answer(
            treatment.pool,
            other.code,
            who(),
            message="Réglé.",
            document_ids=[left["document_id"]],
            version=1,
        )
    assert refused.value.errors[0]["code"] == "unknown_document"


async def test_the_running_service_sweeps_by_itself(settings_for):
    settings = settings_for(
        TreatmentSettings, db_pool_min=1, clock_interval_seconds=0.2, no_opinion_days=30
    )
    async with RunningApp(create_app(settings)) as running:
        pool = running.app[POOL]
        event = validated_event()
        assert await deliver(pool, event)
        await actions.answer(pool, event.code, who(), message="Réglé.", version=1)
        async with pool.acquire() as conn:
            await conn.execute(
                "UPDATE treatments SET treated_at = now() - interval '31 days' WHERE code = $1",
                event.code,
            )

        async def closed():
            async with pool.acquire() as conn:
                return await conn.fetchval(
                    "SELECT status = 'closed' FROM treatments WHERE code = $1", event.code
                )

        assert await eventually(closed)


def test_the_days_without_opinion_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("MILIE_NO_OPINION_DAYS", "45")
    assert TreatmentSettings().no_opinion_days == 45
    monkeypatch.delenv("MILIE_NO_OPINION_DAYS")
    assert TreatmentSettings().no_opinion_days == 30
    with pytest.raises(ValueError):
        TreatmentSettings(no_opinion_days=0)


async def test_a_request_held_by_the_citizens_opinion_is_skipped_not_waited_for(treatment):
    """The opinion's transaction holds the row when the clock comes: the sweep passes it by
    (SKIP LOCKED) instead of waiting, and the opinion closes it with the citizen's word."""
    code, answered_at = await answered(treatment)
    row = await treatment.row(code)
    now = answered_at + timedelta(days=31)
    async with treatment.pool.acquire() as conn, conn.transaction():
        await actions.apply_opinion(conn, row["request_id"], Opinion.SATISFIED, None, now)
        swept = await asyncio.wait_for(clock.sweep(treatment.pool, SETTINGS, now), timeout=30)
        assert swept.closed == []
    kept = await treatment.row(code)
    assert (kept["status"], kept["opinion"]) == ("closed", "satisfied")
    assert await closed_events(treatment) == []
    assert (await clock.sweep(treatment.pool, SETTINGS, now)).closed == []


async def test_opinion_until_is_when_the_clock_closes_the_request(treatment):
    """What the pages show (« Avis attendu jusqu'au », « Donnez votre avis jusqu'au ») is the
    clock's own rule: without the administrators' value, open until the moment ``no_opinion_days``
    after the answer and closed from it; with their day, open through that day and closed the
    next."""
    code, answered_at = await answered(treatment)
    row = await treatment.row(code)
    until = clock.opinion_until(row, SETTINGS.no_opinion_days)
    assert until == answered_at + timedelta(days=30)
    assert (await clock.sweep(treatment.pool, SETTINGS, until - timedelta(seconds=1))).closed == []
    assert (await clock.sweep(treatment.pool, SETTINGS, until)).closed == [code]
    assert clock.opinion_until(await treatment.row(code), SETTINGS.no_opinion_days) is None

    code, answered_at = await answered(treatment)
    day = answered_at.date() + timedelta(days=3)
    async with treatment.pool.acquire() as conn:
        await conn.execute("UPDATE treatments SET opinion_due = $2 WHERE code = $1", code, day)
    until = clock.opinion_until(await treatment.row(code), SETTINGS.no_opinion_days)
    assert until == day
    last = datetime.combine(day, datetime.max.time(), UTC)
    assert (await clock.sweep(treatment.pool, SETTINGS, last)).closed == []
    after = datetime.combine(day + timedelta(days=1), datetime.min.time(), UTC)
    assert (await clock.sweep(treatment.pool, SETTINGS, after)).closed == [code]
