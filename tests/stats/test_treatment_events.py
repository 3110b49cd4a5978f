"""stats follows the bodies' treatment: each event moves the counts as the life cycle's table
says, once when delivered twice, and the citizens' opinions are counted per body and day."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import aiohttp
from prometheus_client import REGISTRY

from services.stats import repository
from services.stats.app import create_app
from services.stats.settings import StatsSettings
from shared import lifecycle
from shared.codes import new_code
from shared.identity import Identity, Role
from shared.messages import (
    Actor,
    Opinion,
    RequestAssignedV1,
    RequestCitizenAnsweredV1,
    RequestClosedV1,
    RequestOpinionGivenV1,
    RequestPutOnHoldV1,
    RequestReassignedV1,
    RequestReopenedV1,
    RequestResumedV1,
    RequestTreatedV1,
)
from shared.service import POOL
from tests.support import (
    RunningApp,
    as_staff,
    eventually,
    publish_event,
    signed_session,
    submitted_event,
)

S = lifecycle.Status
BODY = "ministere-budget"
AT = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
ACTOR = Actor(staff_id="pf-1", role="focal_point", body_id=BODY)


def _event(kind: type, request_id: uuid.UUID, **fields):
    common = {"request_id": request_id, "code": new_code(), "body_id": BODY}
    made = {
        RequestAssignedV1: {"assignee_id": "pf-1", "actor": ACTOR, "assigned_at": AT},
        RequestReassignedV1: {"assignee_id": "pf-2", "actor": ACTOR, "reassigned_at": AT},
        RequestPutOnHoldV1: {"reason": "Pièce attendue.", "actor": ACTOR, "held_at": AT},
        RequestResumedV1: {"actor": ACTOR, "resumed_at": AT},
        RequestTreatedV1: {"message": "Réponse du ministère.", "actor": ACTOR, "treated_at": AT},
        RequestCitizenAnsweredV1: {"message": "Précision.", "actor": ACTOR, "answered_at": AT},
        RequestOpinionGivenV1: {"opinion": Opinion.SATISFIED, "given_at": AT},
        RequestReopenedV1: {"message": "Toujours rien.", "reopened_at": AT},
        RequestClosedV1: {"closed_at": AT},
    }[kind]
    return kind(**{**common, **made, **fields})


# (status before, event kind, fields): every event treatment publishes, from a status the table
# allows it in.
CASES = [
    (S.IN_TREATMENT, RequestAssignedV1, {}),
    (S.ON_HOLD, RequestReassignedV1, {}),
    (S.IN_TREATMENT, RequestPutOnHoldV1, {}),
    (S.REOPENED, RequestPutOnHoldV1, {}),
    (S.ON_HOLD, RequestResumedV1, {}),
    (S.IN_TREATMENT, RequestTreatedV1, {}),
    (S.REOPENED, RequestTreatedV1, {}),
    (S.TREATED, RequestOpinionGivenV1, {"opinion": Opinion.NOT_SATISFIED}),
    (S.TREATED, RequestReopenedV1, {}),
    (S.TREATED, RequestClosedV1, {}),
    (S.CLOSED, RequestCitizenAnsweredV1, {}),
]


# The opinion a closed request answered again carries (the body writes to the unsatisfied).
CARRIED = Opinion.NOT_SATISFIED


def _duplicates(kind: type) -> float:
    labels = {"type": kind.type_name()}
    return REGISTRY.get_sample_value("milie_messages_duplicate_total", labels) or 0.0


async def _json(http: aiohttp.ClientSession, url: str) -> dict:
    async with http.get(url) as response:
        assert response.status == 200, url
        return await response.json()


async def _submitted_in(running: RunningApp, http, amqp_url, namespace, statuses) -> list:
    """Requests submitted (over the broker), then put in ``statuses`` as earlier events would."""
    events = [submitted_event(body_id=BODY) for _ in statuses]
    for event in events:
        await publish_event(amqp_url, namespace, event)

    async def all_counted():
        summary = await _json(http, f"{running.url}/stats/summary")
        return summary["total"] == len(events)

    await eventually(all_counted)
    async with running.app[POOL].acquire() as conn, conn.transaction():
        for event, status in zip(events, statuses, strict=True):
            # Before the events under test: a late event would change nothing.
            await repository.move_status(conn, event.request_id, status, AT - timedelta(hours=1))
    return [event.request_id for event in events]


async def test_each_event_moves_the_counts_as_the_table_says_once(
    settings_for, amqp_url, namespace
):
    expected = Counter(
        lifecycle.next_status(source, kind.name, opinion=fields.get("opinion", CARRIED)).value
        for source, kind, fields in CASES
    )
    # The table's moves, spelled out for the reader: what stats now shows.
    assert expected == {"in_treatment": 2, "on_hold": 3, "treated": 2, "closed": 3, "reopened": 1}
    before = Counter({kind: _duplicates(kind) for _, kind, _ in CASES})
    async with RunningApp(create_app(settings_for(StatsSettings))) as running:
        async with signed_session() as http:
            ids = await _submitted_in(
                running, http, amqp_url, namespace, [source for source, _, _ in CASES]
            )
            for request_id, (_, kind, fields) in zip(ids, CASES, strict=True):
                event = _event(kind, request_id, **fields)
                message_id = await publish_event(amqp_url, namespace, event)
                await publish_event(amqp_url, namespace, event, message_id=message_id)

            async def second_deliveries_seen() -> bool:
                return all(
                    _duplicates(kind) >= before[kind] + sum(k is kind for _, k, _ in CASES)
                    for _, kind, _ in CASES
                )

            await eventually(second_deliveries_seen)
            summary = await _json(http, f"{running.url}/stats/summary")
            async with running.app[POOL].acquire() as conn:
                rows = await conn.fetch(
                    "SELECT status, count FROM daily_counts WHERE count <> 0 ORDER BY status"
                )

    assert summary["by_status"] == dict(expected)
    assert summary["total"] == len(CASES)
    assert {r["status"]: r["count"] for r in rows} == dict(expected)


async def test_opinions_are_counted_per_body_and_day_once_per_request(
    settings_for, amqp_url, namespace
):
    opinions = [Opinion.SATISFIED, Opinion.SATISFIED, Opinion.PARTLY_SATISFIED]
    opinions.append(Opinion.NOT_SATISFIED)
    days = [AT, AT, AT, datetime(2026, 12, 4, 23, 59, tzinfo=UTC)]
    before = _duplicates(RequestOpinionGivenV1)
    async with RunningApp(create_app(settings_for(StatsSettings))) as running:
        async with signed_session() as http:
            ids = await _submitted_in(
                running, http, amqp_url, namespace, [S.TREATED] * len(opinions)
            )
            for request_id, opinion, day in zip(ids, opinions, days, strict=True):
                given = _event(RequestOpinionGivenV1, request_id, opinion=opinion, given_at=day)
                message_id = await publish_event(amqp_url, namespace, given)
                await publish_event(amqp_url, namespace, given, message_id=message_id)
            # A closure that names the opinion already given counts it no second time.
            closed = _event(RequestClosedV1, ids[0], opinion=Opinion.SATISFIED, closed_at=AT)
            await publish_event(amqp_url, namespace, closed)

            async def all_counted():
                body = await _json(http, f"{running.url}/stats/opinions")
                summary = await _json(http, f"{running.url}/stats/summary")
                closed_all = summary["by_status"] == {"closed": len(opinions)}
                return (
                    body if closed_all and body["bodies"] and body["bodies"][0]["total"] else None
                )

            await eventually(all_counted)

            # Let the closure and the second deliveries be applied before reading the figures.
            async def second_deliveries_seen() -> bool:
                return _duplicates(RequestOpinionGivenV1) >= before + len(opinions)

            await eventually(second_deliveries_seen)
            async with running.app[POOL].acquire() as conn:

                async def closure_applied() -> bool:
                    return bool(
                        await conn.fetchval(
                            "SELECT count(*) FROM inbox WHERE message_type = $1",
                            RequestClosedV1.type_name(),
                        )
                    )

                await eventually(closure_applied)
                assert not await repository.record_opinion(
                    conn, ids[1], BODY, Opinion.SATISFIED.value, AT.date()
                )
            body = await _json(http, f"{running.url}/stats/opinions")
            early = await _json(http, f"{running.url}/stats/opinions?from=2026-12-01&to=2026-12-03")
            async with http.get(
                f"{running.url}/stats/opinions?from=2026-12-05&to=2026-12-01"
            ) as bad:
                status = bad.status

    [budget] = body["bodies"]
    assert budget["body_id"] == BODY and budget["total"] == 4
    assert budget["by_opinion"] == {"satisfied": 2, "partly_satisfied": 1, "not_satisfied": 1}
    assert budget["by_day"] == {
        "2026-12-03": {"satisfied": 2, "partly_satisfied": 1, "not_satisfied": 0},
        "2026-12-04": {"satisfied": 0, "partly_satisfied": 0, "not_satisfied": 1},
    }
    assert early["bodies"][0]["by_opinion"]["not_satisfied"] == 0
    assert status == 400


async def test_the_general_statistics_tell_treated_and_closed_with_an_opinion(
    settings_for, amqp_url, namespace
):
    """« Traités » and « Avis » in the back office: the treated requests, and those closed with
    the citizen's opinion (one closed « sans retour » is closed, without one)."""
    admin = as_staff(Identity(staff_id="admin-1", role=Role.ADMINISTRATOR))
    async with RunningApp(create_app(settings_for(StatsSettings))) as running:
        async with signed_session() as http:
            answered, silent, _still_treated = await _submitted_in(
                running, http, amqp_url, namespace, [S.TREATED] * 3
            )
            given = _event(RequestOpinionGivenV1, answered, opinion=Opinion.PARTLY_SATISFIED)
            await publish_event(amqp_url, namespace, given)
            await publish_event(amqp_url, namespace, _event(RequestClosedV1, silent))

            async def both_closed():
                summary = await _json(http, f"{running.url}/stats/summary")
                return summary["by_status"] == {"closed": 2, "treated": 1}

            await eventually(both_closed)
            async with http.get(f"{running.url}/stats/general", headers=admin) as response:
                assert response.status == 200
                general = await response.json()

    [budget] = general["bodies"]
    assert budget["by_status"] == {"closed": 2, "treated": 1}
    assert budget["with_opinion"] == 1
