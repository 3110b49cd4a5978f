"""Intake's message handlers: they keep the citizen's tracking view from the request events.

Each runs in the consumer's transaction, after the inbox claimed the message id, so a redelivery
changes nothing. Each locks the request, appends a history line (once per message id) and moves
the status only when the event is not older than the decision that set the current one: a late
event is kept in the history but does not undo what came after it. An event about a request
intake does not know (another platform's, a test's) is acknowledged and ignored.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from services.intake.channels import commands
from services.intake.tracking import store as tracking
from services.intake.tracking import view as tracking_view
from services.intake.tracking.store import aware
from shared import deadline_copy, lifecycle
from shared.citizen_replies import refused_sentence
from shared.consumer import Delivery, Handler
from shared.messages import (
    AnswerDueSetV1,
    DeadlinesPolicyChangedV1,
    DocumentRef,
    IntakeSubmitV1,
    RequestAssignedV1,
    RequestCitizenAnsweredV1,
    RequestCitizenReplyRefusedV1,
    RequestClarificationSentV1,
    RequestClosedV1,
    RequestOpinionGivenV1,
    RequestPutOnHoldV1,
    RequestReassignedV1,
    RequestReformulationRequestedV1,
    RequestReindexedV1,
    RequestRejectedV1,
    RequestReopenedV1,
    RequestResubmittedV1,
    RequestResumedV1,
    RequestTreatedV1,
    RequestValidatedV1,
)

log = logging.getLogger(__name__)


def _refs(documents: list[DocumentRef]) -> list[dict[str, Any]]:
    """An answer's documents as the tracking view keeps them (references; treatment has the
    bytes)."""
    return [d.model_dump(mode="json") for d in documents]


async def _record(
    conn: asyncpg.Connection,
    delivery: Delivery,
    request_id: UUID,
    at: datetime,
    *,
    sentence: str,
    detail: str | None = None,
    documents: list[dict[str, Any]] | None = None,
    needs_treatment: bool | None = None,
    **values: Any,
) -> tuple[asyncpg.Record | None, bool]:
    """History line, then the status the life cycle's table gives the event and ``values`` when
    the event is not stale; returns the request as it was (locked; None when unknown) and
    whether the status moved."""
    event_type = delivery.message_type.rpartition(".v")[0]
    status = lifecycle.status_after(event_type, needs_treatment=needs_treatment)
    current = await tracking.lock_request(conn, request_id)
    if current is None:
        log.info("event about a request intake does not know", extra={"request_id": request_id})
        return None, False
    at = aware(at)
    fresh = at >= current["status_at"]
    purged = current["purged_at"] is not None
    if purged:  # services/intake/purge.py: a later milestone is kept, without its text
        detail = None
    await tracking.add_line(
        conn,
        request_id,
        occurred_at=at,
        event_type=event_type,
        status=(status if status is not None and fresh else current["status"]),
        message=sentence,
        detail=detail,
        documents=documents,
        event_key=str(delivery.message_id),
    )
    if purged:
        return None, False
    if status is None or not fresh:
        return current, False
    await tracking.set_status(conn, request_id, status, at, **values)
    return current, True


async def on_reformulation_requested(
    conn: asyncpg.Connection, event: RequestReformulationRequestedV1, delivery: Delivery
) -> None:
    await _record(
        conn,
        delivery,
        event.request_id,
        event.decided_at,
        sentence=tracking_view.reformulation_sentence(),
        detail=event.analyst_message,
        analyst_message=event.analyst_message,
    )


async def on_rejected(
    conn: asyncpg.Connection, event: RequestRejectedV1, delivery: Delivery
) -> None:
    await _record(
        conn,
        delivery,
        event.request_id,
        event.decided_at,
        sentence=tracking_view.rejected_sentence(),
        detail=event.reason,
        rejection_reason=event.reason,
    )


async def on_validated(
    conn: asyncpg.Connection, event: RequestValidatedV1, delivery: Delivery
) -> None:
    # A réclamation or a demande d'information goes to the body for treatment; the other
    # natures are read and forwarded (« déclarées lues et mises à disposition de l'organisme »).
    await _record(
        conn,
        delivery,
        event.request_id,
        event.decided_at,
        sentence=tracking_view.validated_sentence(event.needs_treatment, event.body_name),
        # analyst_message is not shown: the contract does not say it is meant for the citizen.
        needs_treatment=event.needs_treatment,
        body_name=event.body_name,
        theme_label=event.theme_label,
    )


async def on_reindexed(
    conn: asyncpg.Connection, event: RequestReindexedV1, delivery: Delivery
) -> None:
    # A re-index keeps the status (the table); it has its own date to order re-indexes by.
    current, _ = await _record(
        conn,
        delivery,
        event.request_id,
        event.decided_at,
        sentence=tracking_view.reindexed_sentence(event.body_name, event.theme_label),
    )
    at = aware(event.decided_at)
    if current is None or (current["indexed_at"] is not None and at < current["indexed_at"]):
        return
    await tracking.upsert_tracking(
        conn,
        event.request_id,
        status_at=current["status_at"],
        body_name=event.body_name,
        theme_label=event.theme_label,
        indexed_at=at,
    )
    # Keep the request's own index in step when intake's catalogue knows the new one.
    await conn.execute(
        """UPDATE requests SET body_id = $2, updated_at = now()
           WHERE id = $1 AND EXISTS (SELECT 1 FROM bodies WHERE id = $2)""",
        event.request_id,
        event.body_id,
    )
    await conn.execute(
        """UPDATE requests SET theme_id = $2
           WHERE id = $1 AND ($2::text IS NULL OR EXISTS (SELECT 1 FROM themes WHERE id = $2))""",
        event.request_id,
        event.theme_id,
    )


async def on_clarification_sent(
    conn: asyncpg.Connection, event: RequestClarificationSentV1, delivery: Delivery
) -> None:
    current, _ = await _record(
        conn,
        delivery,
        event.request_id,
        event.sent_at,
        sentence=tracking_view.clarification_sentence(),
        detail=event.message,
    )
    at = aware(event.sent_at)
    if current is None or (
        current["analyst_answer_at"] is not None and at < current["analyst_answer_at"]
    ):
        return
    await tracking.upsert_tracking(
        conn,
        event.request_id,
        status_at=current["status_at"],
        analyst_answer=event.message,
        analyst_answer_at=at,
    )


async def on_resubmitted(
    conn: asyncpg.Connection, event: RequestResubmittedV1, delivery: Delivery
) -> None:
    """Intake wrote this event itself, with its history line under the same message id: coming
    back, it finds the line there and the state up to date. It still converges a view that
    missed the write (a restored backup)."""
    _, moved = await _record(
        conn,
        delivery,
        event.request_id,
        event.resubmitted_at,
        sentence=tracking_view.resubmitted_sentence(),
    )
    if moved:
        await conn.execute(
            "UPDATE requests SET message = $2 WHERE id = $1", event.request_id, event.message
        )


# -- the body's events (treatment) -------------------------------------------------------------


async def on_assigned(
    conn: asyncpg.Connection, event: RequestAssignedV1, delivery: Delivery
) -> None:
    await _record(
        conn,
        delivery,
        event.request_id,
        event.assigned_at,
        sentence=tracking_view.assigned_sentence(),
    )


async def on_reassigned(
    conn: asyncpg.Connection, event: RequestReassignedV1, delivery: Delivery
) -> None:
    """Which agent holds the request is the body's affair: the citizen reads « En cours de
    traitement » either way. Consumed (the inbox keeps its id) so that it is routed, not shown."""


async def on_put_on_hold(
    conn: asyncpg.Connection, event: RequestPutOnHoldV1, delivery: Delivery
) -> None:
    await _record(
        conn,
        delivery,
        event.request_id,
        event.held_at,
        sentence=tracking_view.put_on_hold_sentence(),
        detail=event.reason,
    )


async def on_resumed(conn: asyncpg.Connection, event: RequestResumedV1, delivery: Delivery) -> None:
    await _record(
        conn,
        delivery,
        event.request_id,
        event.resumed_at,
        sentence=tracking_view.resumed_sentence(),
    )


async def on_treated(conn: asyncpg.Connection, event: RequestTreatedV1, delivery: Delivery) -> None:
    # The answer is kept for « LECTURE DU MESSAGE DE TRAITEMENT » by its own date: a late
    # answer (older than an opinion that arrived first) is still the one to read, a newer one
    # (after a « Retraitement ») replaces it.
    current, moved = await _record(
        conn,
        delivery,
        event.request_id,
        event.treated_at,
        sentence=tracking_view.treated_sentence(event.treated_at),
        detail=event.message,
        documents=_refs(event.documents),
    )
    at = aware(event.treated_at)
    if current is None or (current["treated_at"] is not None and at < current["treated_at"]):
        return
    await tracking.upsert_tracking(
        conn,
        event.request_id,
        status_at=at if moved else current["status_at"],
        ministry_message=event.message,
        ministry_documents=json.dumps(_refs(event.documents)),
        treated_at=at,
    )


async def on_opinion_given(
    conn: asyncpg.Connection, event: RequestOpinionGivenV1, delivery: Delivery
) -> None:
    await _record(
        conn,
        delivery,
        event.request_id,
        event.given_at,
        sentence=tracking_view.opinion_sentence(event.opinion),
        detail=event.comment,
        citizen_opinion=event.opinion.value,
    )


async def on_reopened(
    conn: asyncpg.Connection, event: RequestReopenedV1, delivery: Delivery
) -> None:
    await _record(
        conn,
        delivery,
        event.request_id,
        event.reopened_at,
        sentence=tracking_view.reopened_sentence(),
        detail=event.message,
    )


async def on_closed(conn: asyncpg.Connection, event: RequestClosedV1, delivery: Delivery) -> None:
    # Without an opinion: none came in time (« Clôturée sans retour », read from treated_at).
    opinion = {"citizen_opinion": event.opinion.value} if event.opinion else {}
    await _record(
        conn,
        delivery,
        event.request_id,
        event.closed_at,
        sentence=tracking_view.closed_sentence(event.opinion),
        **opinion,
    )


async def on_citizen_answered(
    conn: asyncpg.Connection, event: RequestCitizenAnsweredV1, delivery: Delivery
) -> None:
    # The request stays closed (the table); the further message is read in its history line.
    await _record(
        conn,
        delivery,
        event.request_id,
        event.answered_at,
        sentence=tracking_view.citizen_answered_sentence(),
        detail=event.message,
        documents=_refs(event.documents),
    )


async def on_citizen_reply_refused(
    conn: asyncpg.Connection, event: RequestCitizenReplyRefusedV1, delivery: Delivery
) -> None:
    """Treatment could not apply a reply intake recorded (the page said « enregistré »): the
    history says so and why; the status stays (the table)."""
    await _record(
        conn,
        delivery,
        event.request_id,
        event.refused_at,
        sentence=refused_sentence(event.reply, event.recorded_at, event.reason),
    )


async def on_answer_due_set(
    conn: asyncpg.Connection, event: AnswerDueSetV1, delivery: Delivery
) -> None:
    """« Réponse attendue au plus tard le … »: treatment set or moved the answer's deadline."""
    if not await tracking.set_answer_due(
        conn, event.request_id, event.answer_due, aware(event.set_at)
    ):
        log.info("answer deadline left as it stands", extra={"code": event.code})


async def on_policy_changed(
    conn: asyncpg.Connection, event: DeadlinesPolicyChangedV1, delivery: Delivery
) -> None:
    """The administrators changed the deadlines or the days off: intake's copy, which dates the
    analysts' decision on the tracking page, is replaced (an older revision changes nothing)."""
    if not await deadline_copy.replace(conn, event):
        log.info("older deadline policy ignored", extra={"revision": event.revision})


HANDLERS: dict[str, Handler] = {
    RequestReformulationRequestedV1.type_name(): on_reformulation_requested,
    RequestRejectedV1.type_name(): on_rejected,
    RequestValidatedV1.type_name(): on_validated,
    RequestReindexedV1.type_name(): on_reindexed,
    RequestClarificationSentV1.type_name(): on_clarification_sent,
    RequestResubmittedV1.type_name(): on_resubmitted,
    # The body's (treatment's).
    RequestAssignedV1.type_name(): on_assigned,
    RequestReassignedV1.type_name(): on_reassigned,
    RequestPutOnHoldV1.type_name(): on_put_on_hold,
    RequestResumedV1.type_name(): on_resumed,
    RequestTreatedV1.type_name(): on_treated,
    RequestOpinionGivenV1.type_name(): on_opinion_given,
    RequestReopenedV1.type_name(): on_reopened,
    RequestClosedV1.type_name(): on_closed,
    RequestCitizenAnsweredV1.type_name(): on_citizen_answered,
    RequestCitizenReplyRefusedV1.type_name(): on_citizen_reply_refused,
    # Treatment's deadlines (issue 13).
    AnswerDueSetV1.type_name(): on_answer_due_set,
    DeadlinesPolicyChangedV1.type_name(): on_policy_changed,
    # Submissions from other government channels (RabbitMQ): see channels/commands.py.
    IntakeSubmitV1.type_name(): commands.on_submit,
}
