"""Message handlers of treatment: each runs in the consumer's transaction, with the inbox row
that makes a redelivered message a no-op (``shared.consumer``).

- request.validated: the body's row, in_treatment (réclamation, demande d'information) or
  acknowledged (suggestion, observation, motion: kept for « Consultations »), as the life cycle
  says for the nature;
- request.reindexed: the row moves to the new body, nobody holding it any more.
"""

from __future__ import annotations

import logging

import asyncpg

from services.treatment import repository
from shared.consumer import Delivery, Handler
from shared.lifecycle import Event, after_validation
from shared.messages import RequestReindexedV1, RequestValidatedV1

log = logging.getLogger(__name__)


async def on_validated(
    conn: asyncpg.Connection, event: RequestValidatedV1, delivery: Delivery
) -> None:
    status = after_validation(event.needs_treatment)
    added = await repository.add_treatment(
        conn,
        {
            "request_id": event.request_id,
            "code": event.code,
            "nature": event.nature.value,
            "body_id": event.body_id,
            "body_name": event.body_name,
            "theme_id": event.theme_id,
            "theme_label": event.theme_label,
            "place_label": event.place_label,
            "message": event.message,
            "attachments": [a.model_dump(mode="json") for a in event.attachments],
            "analyst_message": event.analyst_message,
            "submitted_at": event.submitted_at,
            "validated_at": event.decided_at,
            "status": status.value,
            "contact": event.contact.model_dump(mode="json"),
        },
    )
    if not added:  # the same request validated under another message id: nothing new
        log.info("request validated twice", extra={"code": event.code})
        return
    await repository.add_history(
        conn,
        request_id=event.request_id,
        occurred_at=event.decided_at,
        kind=Event.VALIDATED.kind,
        message=event.analyst_message,
        details={"status": status.value, "body_id": event.body_id},
        message_id=delivery.message_id,
        actor_id=event.actor.staff_id,
        actor_role=event.actor.role,
    )


async def on_reindexed(
    conn: asyncpg.Connection, event: RequestReindexedV1, delivery: Delivery
) -> None:
    """Triage re-indexes only requests still waiting for an analyst; a row here means it was
    validated before (an event out of order, or a later rule): follow the analysts' word."""
    before = await repository.move_to_body(
        conn,
        event.request_id,
        body_id=event.body_id,
        body_name=event.body_name,
        theme_id=event.theme_id,
        theme_label=event.theme_label,
    )
    if before is None:  # not validated yet: request.validated will carry the new body
        return
    await repository.add_history(
        conn,
        request_id=event.request_id,
        occurred_at=event.decided_at,
        kind=Event.REINDEXED.kind,
        details={
            "body_id": event.body_id,
            "body_name": event.body_name,
            "theme_id": event.theme_id,
            "previous_body_id": before["previous_body_id"],
            "previous_assignee_id": before["previous_assignee_id"],
        },
        message_id=delivery.message_id,
        actor_id=event.actor.staff_id,
        actor_role=event.actor.role,
    )


HANDLERS: dict[str, Handler] = {
    RequestValidatedV1.type_name(): on_validated,
    RequestReindexedV1.type_name(): on_reindexed,
}
