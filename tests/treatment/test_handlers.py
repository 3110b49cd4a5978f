"""request.validated and request.reindexed in treatment: applied once however often delivered,
through the broker as in production and through the handlers directly."""

import uuid
from datetime import UTC, datetime

from shared.messages import Actor, Nature, RequestReindexedV1
from tests.support import eventually, publish_event
from tests.treatment.conftest import AGENT, ANALYST, BODY, OTHER_BODY, deliver, validated_event


async def test_a_reclamation_validated_twice_is_put_in_treatment_once(treatment):
    event = validated_event()
    message_id = str(uuid.uuid4())
    for _ in range(2):  # a redelivery: the same message id
        await publish_event(treatment.amqp_url, treatment.namespace, event, message_id=message_id)
    row = await eventually(lambda: treatment.row(event.code))
    assert row["status"] == "in_treatment"
    assert row["body_id"] == BODY
    assert row["assignee_id"] is None and row["version"] == 1
    # The second copy reached the consumer too (the inbox holds its id once) and changed nothing.
    assert not await deliver(treatment.pool, event, uuid.UUID(message_id))
    assert await treatment.count("history", event.code) == 1


async def test_the_same_request_validated_under_another_message_adds_nothing(treatment):
    event = await treatment.validated()
    assert await deliver(treatment.pool, event)  # a new message id: claimed, but no new row
    assert await treatment.count("history", event.code) == 1


async def test_a_suggestion_is_acknowledged_and_kept_for_the_consultations(treatment):
    event = await treatment.validated(nature=Nature.SUGGESTION)
    row = await treatment.row(event.code)
    assert row["status"] == "acknowledged"
    status, body = await treatment.api.get("/requests?view=consultations")
    assert status == 200
    assert [item["code"] for item in body["items"]] == [event.code]


async def test_a_reindexed_request_moves_to_the_new_body_and_is_held_by_nobody(treatment):
    event = await treatment.validated()
    status, _ = await treatment.api.post(f"/requests/{event.code}/take", {})
    assert status == 200
    moved = RequestReindexedV1(
        request_id=event.request_id,
        code=event.code,
        body_id=OTHER_BODY,
        body_name="Ministère de la santé",
        previous_body_id=BODY,
        actor=Actor(staff_id=ANALYST.staff_id, role=ANALYST.role.value),
        decided_at=datetime.now(UTC),
    )
    message_id = uuid.uuid4()
    assert await deliver(treatment.pool, moved, message_id)
    assert not await deliver(treatment.pool, moved, message_id)
    row = await treatment.row(event.code)
    assert (row["body_id"], row["assignee_id"]) == (OTHER_BODY, None)
    assert await treatment.count("history", event.code) == 3  # validated, assigned, reindexed
    # The first body's focal point no longer sees it.
    status, _ = await treatment.api.get(f"/requests/{event.code}", identity=AGENT)
    assert status == 404


async def test_a_reindex_of_a_request_not_validated_yet_is_left_to_the_validation(treatment):
    moved = RequestReindexedV1(
        request_id=uuid.uuid4(),
        code="0000000000",
        body_id=OTHER_BODY,
        body_name="Ministère de la santé",
        previous_body_id=BODY,
        actor=Actor(staff_id=ANALYST.staff_id, role=ANALYST.role.value),
        decided_at=datetime.now(UTC),
    )
    assert await deliver(treatment.pool, moved)
    async with treatment.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM treatments") == 0
