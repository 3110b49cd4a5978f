"""« Délais respectés » per body: stats counts the body's answers given on time from
request.treated and request.deadline_missed (in either order, once when delivered twice), on the
public /stats/bodies and the staff's /stats/general."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from services.stats import deadlines
from services.stats.app import create_app
from services.stats.settings import StatsSettings
from shared.codes import new_code
from shared.identity import Identity, Role
from shared.messages import Actor, Nature, RequestDeadlineMissedV1, RequestTreatedV1
from shared.service import POOL
from tests.support import (
    RunningApp,
    as_staff,
    delivery_of,
    eventually,
    publish_event,
    signed_session,
    submitted_event,
)

BODY = "ministere-budget"
AT = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
ANALYST = Identity(staff_id="a-1", role=Role.ANALYST, login="awa.kone")


def treated(request_id: uuid.UUID) -> RequestTreatedV1:
    return RequestTreatedV1(
        request_id=request_id,
        code=new_code(),
        body_id=BODY,
        message="Réponse du ministère.",
        actor=Actor(staff_id="pf-1", role="focal_point", body_id=BODY),
        treated_at=AT,
    )


def missed(request_id: uuid.UUID) -> RequestDeadlineMissedV1:
    return RequestDeadlineMissedV1(
        request_id=request_id,
        code=new_code(),
        nature=Nature.RECLAMATION,
        body_id=BODY,
        body_name="Ministère du Budget",
        answer_due=date(2026, 12, 1),
        validated_at=AT,
        missed_at=AT,
    )


async def test_the_share_of_answers_given_on_time_per_body(settings_for, amqp_url, namespace):
    submitted = [submitted_event(body_id=BODY) for _ in range(4)]
    on_time, late, late_told_after, waiting = (e.request_id for e in submitted)
    async with RunningApp(create_app(settings_for(StatsSettings))) as running:
        pool = running.app[POOL]
        for event in submitted:
            await publish_event(amqp_url, namespace, event)
        sequence = [
            treated(on_time),
            missed(late),
            treated(late),
            treated(late_told_after),
            missed(late_told_after),  # the escalation relayed after the answer
            missed(waiting),
        ]
        for event in sequence:
            message_id = await publish_event(amqp_url, namespace, event)
            await publish_event(amqp_url, namespace, event, message_id=message_id)

        async def applied() -> bool:
            done = await pool.fetchval(
                "SELECT count(*) FROM inbox WHERE message_type = ANY($1::text[])",
                [RequestTreatedV1.type_name(), RequestDeadlineMissedV1.type_name()],
            )
            return done == len(sequence)

        await eventually(applied)

        async def bodies() -> dict | None:
            async with signed_session() as http, http.get(f"{running.url}/stats/bodies") as resp:
                found = await resp.json()
            mine = [b for b in found["bodies"] if b["body_id"] == BODY]
            return mine[0] if mine and mine[0]["total"] == 4 else None

        public = await eventually(bodies)
        async with signed_session() as http:
            async with http.get(
                f"{running.url}/stats/general",
                params={"from": "2026-12-01", "to": "2026-12-31"},
                headers=as_staff(ANALYST),
            ) as resp:
                assert resp.status == 200
                general = await resp.json()
            async with http.get(
                f"{running.url}/stats/general",
                params={"from": "2026-11-01", "to": "2026-11-30"},
                headers=as_staff(ANALYST),
            ) as resp:
                before = await resp.json()

    expected = {"answered": 3, "on_time": 1, "late_waiting": 1, "met_percent": 25}
    assert public["deadlines"] == expected
    [staff] = [b for b in general["bodies"] if b["body_id"] == BODY]
    assert staff["deadlines"] == expected
    # Nothing answered nor missed in November.
    for body in before["bodies"]:
        assert body["deadlines"]["met_percent"] is None


async def test_a_deadline_of_a_later_round_leaves_an_on_time_first_answer_on_time(settings_for):
    """Answered on time, reopened, the new round's deadline missed: the first answer stays on
    time, whichever of the two events is applied first (two copies, a redelivery)."""
    first_answer = treated(uuid.uuid4())  # 3 December
    later_round = missed(first_answer.request_id).model_copy(
        update={"answer_due": date(2026, 12, 20), "missed_at": datetime(2026, 12, 21, tzinfo=UTC)}
    )
    before = first_answer.model_copy(update={"request_id": uuid.uuid4()})
    before_missed = missed(before.request_id)  # due 1 December: the answer came after it
    async with RunningApp(create_app(settings_for(StatsSettings))) as running:
        async with running.app[POOL].acquire() as conn, conn.transaction():
            await deadlines.on_treated(conn, first_answer, delivery_of(first_answer))
            await deadlines.on_missed(conn, later_round, delivery_of(later_round))
            await deadlines.on_missed(conn, before_missed, delivery_of(before_missed))
            await deadlines.on_treated(conn, before, delivery_of(before))
            late = dict(await conn.fetch("SELECT request_id, late FROM deadline_answers"))

    assert late == {first_answer.request_id: False, before.request_id: True}
