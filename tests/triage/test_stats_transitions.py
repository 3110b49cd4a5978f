"""stats follows the analysts' decisions: each event moves the request's status in the counts,
a re-index moves it to its new body (real PostgreSQL and RabbitMQ)."""

from __future__ import annotations

from datetime import UTC, datetime

from services.stats.app import create_app
from services.stats.settings import StatsSettings
from shared.messages import (
    Actor,
    Nature,
    RequestReformulationRequestedV1,
    RequestReindexedV1,
    RequestRejectedV1,
    RequestResubmittedV1,
    RequestValidatedV1,
)
from tests.support import RunningApp, eventually, publish_event, signed_session, submitted_event

ANALYST = Actor(staff_id="a-1", role="analyst")


def _validated(event, needs_treatment: bool) -> RequestValidatedV1:
    fields = ("request_id", "code", "nature", "body_id", "body_name", "message", "contact")
    return RequestValidatedV1(
        **{k: getattr(event, k) for k in fields},
        submitted_at=event.submitted_at,
        needs_treatment=needs_treatment,
        actor=ANALYST,
        decided_at=datetime.now(UTC),
    )


async def test_decisions_move_the_counts(settings_for, amqp_url, namespace):
    now = datetime.now(UTC)
    complaint = submitted_event(nature=Nature.RECLAMATION)
    motion = submitted_event(nature=Nature.MOTION)
    rejected = submitted_event()
    rewritten = submitted_event()
    moved = submitted_event(body_id="ministere-budget")
    async with RunningApp(create_app(settings_for(StatsSettings))) as app:
        for event in (complaint, motion, rejected, rewritten, moved):
            await publish_event(amqp_url, namespace, event)

        async def summary(expect: dict | None = None):
            async with signed_session() as http, http.get(f"{app.url}/stats/summary") as r:
                body = await r.json()
            return body if expect is None or body["by_status"] == expect else None

        await eventually(lambda: summary({"submitted": 5}))
        for event in (
            _validated(complaint, True),
            _validated(motion, False),
            RequestRejectedV1(
                request_id=rejected.request_id,
                code=rejected.code,
                reason="Hors sujet",
                actor=ANALYST,
                decided_at=now,
            ),
            RequestReformulationRequestedV1(
                request_id=rewritten.request_id,
                code=rewritten.code,
                analyst_message="Précisez",
                actor=ANALYST,
                decided_at=now,
            ),
            RequestReindexedV1(
                request_id=moved.request_id,
                code=moved.code,
                body_id="ministere-justice",
                body_name="Garde des Sceaux, Ministère de la Justice",
                theme_id="accueil-agent",
                previous_body_id="ministere-budget",
                previous_theme_id=moved.theme_id,
                actor=ANALYST,
                decided_at=now,
            ),
        ):
            await publish_event(amqp_url, namespace, event)
        await eventually(
            lambda: summary(
                {
                    "submitted": 1,
                    "in_treatment": 1,
                    "acknowledged": 1,
                    "rejected": 1,
                    "reformulation_requested": 1,
                }
            )
        )
        await publish_event(
            amqp_url,
            namespace,
            RequestResubmittedV1(
                request_id=rewritten.request_id,
                code=rewritten.code,
                message="Réécrite",
                resubmitted_at=now,
            ),
        )
        final = await eventually(
            lambda: summary({"submitted": 2, "in_treatment": 1, "acknowledged": 1, "rejected": 1})
        )
        async with signed_session() as http, http.get(f"{app.url}/stats/bodies") as r:
            bodies = {b["body_id"]: b for b in (await r.json())["bodies"]}

    assert final["total"] == 5
    assert bodies["ministere-justice"]["total"] == 1
    assert bodies["ministere-budget"]["total"] == 4
