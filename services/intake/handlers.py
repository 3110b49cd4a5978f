"""Intake's message handlers: they keep the citizen's tracking view from the request events.

Each runs in the consumer's transaction, after the inbox claimed the message id, so a redelivery
changes nothing. Each locks the request, appends a history line (once per message id) and moves
the status only when the event is not older than the decision that set the current one: a late
event is kept in the history but does not undo what came after it. An event about a request
intake does not know (another platform's, a test's) is acknowledged and ignored.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from services.intake.channels import commands
from services.intake.tracking import store as tracking
from services.intake.tracking import view as tracking_view
from services.intake.tracking.store import aware
from shared import lifecycle
from shared.consumer import Delivery, Handler
from shared.messages import (
    IntakeSubmitV1,
    RequestClarificationSentV1,
    RequestReformulationRequestedV1,
    RequestReindexedV1,
    RequestRejectedV1,
    RequestResubmittedV1,
    RequestValidatedV1,
)

log = logging.getLogger(__name__)


async def _record(
    conn: asyncpg.Connection,
    delivery: Delivery,
    request_id: UUID,
    at: datetime,
    *,
    sentence: str,
    detail: str | None = None,
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
    await tracking.add_line(
        conn,
        request_id,
        occurred_at=at,
        event_type=event_type,
        status=(status if status is not None and fresh else current["status"]),
        message=sentence,
        detail=detail,
        event_key=str(delivery.message_id),
    )
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


HANDLERS: dict[str, Handler] = {
    RequestReformulationRequestedV1.type_name(): on_reformulation_requested,
    RequestRejectedV1.type_name(): on_rejected,
    RequestValidatedV1.type_name(): on_validated,
    RequestReindexedV1.type_name(): on_reindexed,
    RequestClarificationSentV1.type_name(): on_clarification_sent,
    RequestResubmittedV1.type_name(): on_resubmitted,
    # Submissions from other government channels (RabbitMQ): see channels/commands.py.
    IntakeSubmitV1.type_name(): commands.on_submit,
}
