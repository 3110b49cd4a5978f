"""Message handlers of treatment: each runs in the consumer's transaction, with the inbox row
that makes a redelivered message a no-op (``shared.consumer``).

- request.validated: the body's row, in_treatment (réclamation, demande d'information) or
  acknowledged (suggestion, observation, motion: kept for « Consultations »), as the life cycle
  says for the nature;
- request.reindexed: the row moves to the new body, nobody holding it any more;
- citizen.opinion_recorded, citizen.reopening_recorded: the citizen's replies, recorded by
  intake and forwarded through its outbox (so they wait in treatment's queue while treatment is
  down), judged and applied here (:func:`on_opinion_recorded`, :func:`on_reopening_recorded`);
  one the state no longer allows is refused, told to the citizen
  (request.citizen_reply_refused) and to the body (a line of the request's history). v2 says
  how the reply came (a caller's, taken by the call centre's operator: the history line says
  so); v1, as intake published it before, is still applied (queued during an upgrade), read as
  the citizen's own. Either is applied once: the inbox keys on the message id, which intake
  gave the reply's row whatever the version.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import asyncpg

from services.treatment import actions, deadlines, policy, purge, repository
from services.treatment.clock import SYSTEM
from shared import audit, outbox
from shared.citizen_replies import answered_since_reason, body_sentence, refusal_reason
from shared.consumer import Delivery, Entry
from shared.lifecycle import Event, after_validation
from shared.messages import (
    CitizenOpinionRecorded,
    CitizenOpinionRecordedV1,
    CitizenOpinionRecordedV2,
    CitizenReopeningRecorded,
    CitizenReopeningRecordedV1,
    CitizenReopeningRecordedV2,
    CitizenReply,
    RequestCitizenReplyRefusedV1,
    RequestPersonalDataPurgedV1,
    RequestReindexedV1,
    RequestValidatedV1,
)
from shared.web import FieldErrors

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
    # The answer's deadline, counted from the validation (deadlines.answer_due_set).
    row = await repository.lock_by_id(conn, event.request_id)
    await policy.set_answer_due(conn, row, held_days=0, at=event.decided_at)


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
    # The new body may have its own answer deadline (« Délais »).
    row = await repository.lock_by_id(conn, event.request_id)
    if row["status"] in deadlines.OPEN:
        await policy.set_answer_due(conn, row, held_days=row["held_days"], at=event.decided_at)


async def _refused(
    conn: asyncpg.Connection,
    event: CitizenOpinionRecorded | CitizenReopeningRecorded,
    why: str,
    delivery: Delivery,
    *,
    reason: str | None = None,
    answered_at: datetime | None = None,
) -> None:
    """A citizen's reply the request's state no longer allows: the audit line (``why``, the
    staff's words), request.citizen_reply_refused in the outbox and the request's history line,
    in the same transaction, so that the citizen, told by intake that their reply was recorded,
    learns it was not applied and why (``reason``, the citizen's words; from the request's row
    when None), and the body reads it on the request's page and in the ministry API
    (« Avis de l'usager non pris en compte »). ``answered_at``: the body answered again after
    the reply was sent. The message is then acknowledged (the handler returns normally)."""
    opinion = isinstance(event, CitizenOpinionRecorded)
    event_kind = Event.OPINION_GIVEN if opinion else Event.REOPENED
    log.info(
        "citizen reply refused",
        extra={
            "code": event.code,
            "event": event_kind.value,
            "message_id": str(delivery.message_id),
        },
    )
    await audit.write(
        conn,
        action=event_kind.kind,
        outcome="refused",
        actor_role="citizen",
        request_code=event.code,
        detail=f"Réponse de l'usager non appliquée : {why}"[:500],
    )
    row = await repository.lock_by_id(conn, event.request_id)
    if reason is None:
        reason = (
            refusal_reason(row["status"], row["opinion"], row["closed_at"])
            if row
            else refusal_reason(None)
        )
    reply = CitizenReply.OPINION if opinion else CitizenReply.REOPENING
    refused_at = datetime.now(UTC)
    message_id = await outbox.add(
        conn,
        RequestCitizenReplyRefusedV1(
            request_id=event.request_id,
            code=event.code,
            body_id=event.body_id,
            reply=reply,
            reason=reason,
            recorded_at=event.recorded_at,
            refused_at=refused_at,
        ),
    )
    if row is None:  # a request treatment does not know has no history here
        return
    given = event.opinion.value if opinion else None
    await repository.add_history(
        conn,
        request_id=row["request_id"],
        occurred_at=refused_at,
        kind=Event.CITIZEN_REPLY_REFUSED.kind,
        # The citizen's own words (purged with their personal data, as an opinion's).
        message=(event.comment if opinion else event.message) or None,
        details={
            "reply": reply.value,
            **({"opinion": given} if given else {}),
            **actions.how_replied(event),
            "recorded_at": event.recorded_at.isoformat(),
            "reason": body_sentence(
                reply,
                event.recorded_at,
                status=row["status"],
                opinion_given=given,
                opinion=row["opinion"],
                closed_at=row["closed_at"],
                answered_at=answered_at,
            ),
        },
        message_id=message_id,
        actor_role=SYSTEM,
    )


async def on_opinion_recorded(
    conn: asyncpg.Connection, event: CitizenOpinionRecorded, delivery: Delivery
) -> None:
    """The citizen's opinion closes the treated request (request.opinion_given).

    Intake records the reply when the request is treated, but the state may change in between:
    treatment's clock closed it « sans retour » while the opinion was on its way, the body
    answered again after a reopening, or a second opinion (two tabs, a double click) follows
    the first one. Such a reply is no poison message: delivering it again would be refused
    again, forever. The refusal is kept in the audit log (outcome ``refused``, with the reason
    in French), request.citizen_reply_refused tells the citizen and a history line the body
    (:func:`_refused`), and the message is acknowledged, so that the consumer moves on; the
    request's row is as before. A redelivered opinion is stopped earlier, by the inbox row of
    its message id."""
    try:
        await actions.apply_opinion(
            conn,
            event.request_id,
            event.opinion,
            event.comment,
            event.recorded_at,
            how=actions.how_replied(event),
            reply_id=getattr(event, "reply_id", None),  # v2 only; None from before
        )
    except actions.AnsweredSince as since:
        reason = answered_since_reason(since.answered_at)
        await _refused(
            conn, event, since.message, delivery, reason=reason, answered_at=since.answered_at
        )
    except actions.Refused as refused:
        await _refused(conn, event, refused.message, delivery)
    except actions.NotFound:
        await _refused(conn, event, "requête inconnue", delivery)


async def on_reopening_recorded(
    conn: asyncpg.Connection, event: CitizenReopeningRecorded, delivery: Delivery
) -> None:
    """The citizen's « Relancer » reopens the treated request (request.reopened). As for the
    opinion (:func:`on_opinion_recorded`), a reopening the state no longer allows (closed by an
    opinion or the clock meanwhile, reopened already) is kept in the audit log as refused, told
    to the citizen and acknowledged, never retried."""
    try:
        await actions.apply_reopening(
            conn,
            event.request_id,
            event.message,
            event.recorded_at,
            how=actions.how_replied(event),
            reply_id=getattr(event, "reply_id", None),  # v2 only; None from before
        )
    except actions.AnsweredSince as since:
        reason = answered_since_reason(since.answered_at)
        await _refused(
            conn, event, since.message, delivery, reason=reason, answered_at=since.answered_at
        )
    except actions.Refused as refused:
        await _refused(conn, event, refused.message, delivery)
    except actions.NotFound:
        await _refused(conn, event, "requête inconnue", delivery)
    except FieldErrors:  # an empty message: the contract forbids it; kept for safety
        await _refused(conn, event, "message vide", delivery, reason="votre message était vide")


HANDLERS: dict[str, Entry] = {
    RequestValidatedV1.type_name(): on_validated,
    RequestReindexedV1.type_name(): on_reindexed,
    # The citizen's replies: v2 from intake now, v1 still queued from before an upgrade.
    CitizenOpinionRecordedV1.type_name(): on_opinion_recorded,
    CitizenOpinionRecordedV2.type_name(): on_opinion_recorded,
    CitizenReopeningRecordedV1.type_name(): on_reopening_recorded,
    CitizenReopeningRecordedV2.type_name(): on_reopening_recorded,
    # The citizen's personal data, a while after closure (intake decides when).
    RequestPersonalDataPurgedV1.type_name(): purge.on_personal_data_purged,
}
