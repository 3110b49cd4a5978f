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
from collections.abc import Callable
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
    reply_id: UUID | None = None,
    **values: Any,
) -> tuple[asyncpg.Record | None, bool]:
    """History line, then the status the life cycle's table gives the event and ``values`` when
    the event is not stale; returns the request as it was (locked; None when unknown) and
    whether the status moved. ``reply_id``: the citizen's reply the line tells of."""
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
        reply_id=reply_id,
    )
    if purged:
        return None, False
    if status is None or not fresh:
        return current, False
    await tracking.set_status(conn, request_id, status, at, **values)
    return current, True


def _kept_newer(current: asyncpg.Record, column: str, at: datetime) -> bool:
    """Whether the view already keeps, in ``column``, something dated after ``at``."""
    return current[column] is not None and at < current[column]


def _recording(line: Callable[[Any], dict[str, Any]]) -> Handler:
    """The handler of an event whose whole effect is ``_record``: ``line`` gives, from the event,
    its date (``at``), the history line's ``sentence`` and ``detail``, and the view's values."""

    async def handle(conn: asyncpg.Connection, event: Any, delivery: Delivery) -> None:
        await _record(conn, delivery, event.request_id, **line(event))

    return handle


# The events that only add their history line and take the status the life cycle's table gives.
_RECORDED: dict[type[Any], Callable[[Any], dict[str, Any]]] = {
    RequestReformulationRequestedV1: lambda e: dict(
        at=e.decided_at,
        sentence=tracking_view.reformulation_sentence(),
        detail=e.analyst_message,
        analyst_message=e.analyst_message,
    ),
    RequestRejectedV1: lambda e: dict(
        at=e.decided_at,
        sentence=tracking_view.rejected_sentence(),
        detail=e.reason,
        rejection_reason=e.reason,
    ),
    # A réclamation or a demande d'information goes to the body for treatment; the other
    # natures are read and forwarded (« déclarées lues et mises à disposition de l'organisme »).
    # analyst_message is not shown: the contract does not say it is meant for the citizen.
    RequestValidatedV1: lambda e: dict(
        at=e.decided_at,
        sentence=tracking_view.validated_sentence(e.needs_treatment, e.body_name),
        needs_treatment=e.needs_treatment,
        body_name=e.body_name,
        theme_label=e.theme_label,
    ),
    # The body's events (treatment).
    RequestAssignedV1: lambda e: dict(at=e.assigned_at, sentence=tracking_view.assigned_sentence()),
    RequestPutOnHoldV1: lambda e: dict(
        at=e.held_at, sentence=tracking_view.put_on_hold_sentence(), detail=e.reason
    ),
    RequestResumedV1: lambda e: dict(at=e.resumed_at, sentence=tracking_view.resumed_sentence()),
    # The line keeps the reply it applies (``reply_id``; None from before the id travelled):
    # the call centre's page names by it who took a reply by phone (tracking.store).
    RequestOpinionGivenV1: lambda e: dict(
        at=e.given_at,
        sentence=tracking_view.opinion_sentence(e.opinion),
        detail=e.comment,
        reply_id=e.reply_id,
        citizen_opinion=e.opinion.value,
    ),
    RequestReopenedV1: lambda e: dict(
        at=e.reopened_at,
        sentence=tracking_view.reopened_sentence(),
        detail=e.message,
        reply_id=e.reply_id,
    ),
    # Without an opinion: none came in time (« Clôturée sans retour », read from treated_at).
    RequestClosedV1: lambda e: dict(
        at=e.closed_at,
        sentence=tracking_view.closed_sentence(e.opinion),
        **({"citizen_opinion": e.opinion.value} if e.opinion else {}),
    ),
    # The request stays closed (the table); the further message is read in its history line.
    RequestCitizenAnsweredV1: lambda e: dict(
        at=e.answered_at,
        sentence=tracking_view.citizen_answered_sentence(),
        detail=e.message,
        documents=_refs(e.documents),
    ),
    # Treatment could not apply a reply intake recorded (the page said « enregistré »): the
    # history says so and why; the status stays (the table).
    RequestCitizenReplyRefusedV1: lambda e: dict(
        at=e.refused_at, sentence=refused_sentence(e.reply, e.recorded_at, e.reason)
    ),
}


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
    if current is None or _kept_newer(current, "indexed_at", at):
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
    if current is None or _kept_newer(current, "analyst_answer_at", at):
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


async def on_reassigned(
    conn: asyncpg.Connection, event: RequestReassignedV1, delivery: Delivery
) -> None:
    """Which agent holds the request is the body's affair: the citizen reads « En cours de
    traitement » either way. Consumed (the inbox keeps its id) so that it is routed, not shown."""


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
    if current is None or _kept_newer(current, "treated_at", at):
        return
    await tracking.upsert_tracking(
        conn,
        event.request_id,
        status_at=at if moved else current["status_at"],
        ministry_message=event.message,
        ministry_documents=json.dumps(_refs(event.documents)),
        treated_at=at,
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
    **{event.type_name(): _recording(line) for event, line in _RECORDED.items()},
    RequestReindexedV1.type_name(): on_reindexed,
    RequestClarificationSentV1.type_name(): on_clarification_sent,
    RequestResubmittedV1.type_name(): on_resubmitted,
    # The body's (treatment's).
    RequestReassignedV1.type_name(): on_reassigned,
    RequestTreatedV1.type_name(): on_treated,
    # Treatment's deadlines (issue 13).
    AnswerDueSetV1.type_name(): on_answer_due_set,
    DeadlinesPolicyChangedV1.type_name(): on_policy_changed,
    # Submissions from other government channels (RabbitMQ): see channels/commands.py.
    IntakeSubmitV1.type_name(): commands.on_submit,
}
