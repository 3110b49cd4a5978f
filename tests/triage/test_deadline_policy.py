"""Triage counts admissibility in working days with its copy of treatment's « Délais »
(deadlines.policy_changed over the broker): the administrators' value per nature and per body
wins over the settings, a day declared off moves the requests already waiting, and an older
revision arriving late changes nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime

from shared.messages import (
    DeadlineKind,
    DeadlineRule,
    DeadlinesPolicyChangedV1,
    DeclaredDayOff,
    Nature,
)
from shared.working_days import calendar, day_of
from tests.support import eventually, publish_event, submitted_event


def _policy(revision: int, days: int, days_off: list[date]) -> DeadlinesPolicyChangedV1:
    return DeadlinesPolicyChangedV1(
        revision=revision,
        rules=[
            DeadlineRule(kind=DeadlineKind.ADMISSIBILITY, nature=Nature.RECLAMATION, days=days),
            DeadlineRule(
                kind=DeadlineKind.ADMISSIBILITY,
                nature=Nature.RECLAMATION,
                body_id="ministere-justice",
                days=days + 5,
            ),
        ],
        days_off=[DeclaredDayOff(day=d, label="Deuil national") for d in days_off],
        changed_at=datetime.now(UTC),
    )


async def test_a_policy_change_moves_the_waiting_requests_deadlines(triage):
    event = submitted_event(nature=Nature.RECLAMATION)
    other_body = submitted_event(
        nature=Nature.RECLAMATION,
        body_id="ministere-justice",
        body_name="Garde des Sceaux, Ministère de la Justice",
    )
    start = day_of(event.submitted_at)
    item = await triage.queued(event)
    await triage.queued(other_body)
    assert day_of(datetime.fromisoformat(item["admissibility_deadline"])) == calendar().add(
        start, 15
    )

    due = calendar().add(start, 5)
    off = calendar().add(start, 3)  # a working day before the due date, declared off
    await publish_event(triage.amqp_url, triage.namespace, _policy(2, 5, [off]))
    expected = calendar([off]).add(start, 5)
    assert expected > due

    async def moved() -> dict | None:
        _, body = await triage.api.get(f"/queue/{event.code}")
        when = day_of(datetime.fromisoformat(body["admissibility_deadline"]))
        return body if when == expected else None

    item = await eventually(moved)
    assert item["days_left"] == calendar([off]).left(datetime.now(UTC).date(), expected)
    _, body = await triage.api.get(f"/queue/{other_body.code}")
    assert day_of(datetime.fromisoformat(body["admissibility_deadline"])) == calendar([off]).add(
        day_of(other_body.submitted_at), 10
    )

    # An older revision, late: nothing moves; a request arriving now follows the copy.
    await publish_event(triage.amqp_url, triage.namespace, _policy(1, 40, []))
    later = submitted_event(nature=Nature.RECLAMATION)
    fresh = await triage.queued(later)
    assert day_of(datetime.fromisoformat(fresh["admissibility_deadline"])) == calendar([off]).add(
        day_of(later.submitted_at), 5
    )
    _, body = await triage.api.get(f"/queue/{event.code}")
    assert day_of(datetime.fromisoformat(body["admissibility_deadline"])) == expected
    async with triage.pool.acquire() as conn:
        assert await conn.fetchval("SELECT revision FROM deadline_revision") == 2
