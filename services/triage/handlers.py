"""Message handlers of triage: each runs in the consumer's transaction (with the inbox row).

The handlers need the settings (the admissibility deadlines), so the registry is built from them
by :func:`build_handlers`; it is still the one place that says which function handles what.

Past the analysts, triage follows where the request is at the body (:func:`on_body_event`): on
hold and resumed (the analysts' page says where it is), treated, reopened, closed with the
citizen's opinion or « sans retour » (the clarification needs it).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime

import asyncpg

from services.triage import domain, purge, repository
from services.triage.settings import TriageSettings
from shared import deadline_copy, lifecycle
from shared.consumer import Batched, Delivery, Entry
from shared.lifecycle import Event
from shared.messages import (
    CitizenDocumentsAddedV1,
    DeadlinesPolicyChangedV1,
    RequestClosedV1,
    RequestOpinionGivenV1,
    RequestPersonalDataPurgedV1,
    RequestPutOnHoldV1,
    RequestReopenedV1,
    RequestResubmittedV1,
    RequestResumedV1,
    RequestSubmittedV1,
    RequestTreatedV1,
    moment,
)
from shared.working_days import day_of

log = logging.getLogger(__name__)


async def on_submitted(
    conn: asyncpg.Connection,
    run: list[tuple[RequestSubmittedV1, Delivery]],
    *,
    default_days: int,
    days_by_nature: dict[str, int],
) -> None:
    """Put submitted requests in the analysts' queue, waiting, each with its deadline (in working
    days, with the administrators' policy and days off as triage's copy has them)."""
    policy, calendar = await deadline_copy.load(conn)
    requests = []
    for event, delivery in run:
        submitted_at = domain.aware(event.submitted_at)
        days = domain.days_for(
            event.nature.value, default_days, days_by_nature, policy, event.body_id
        )
        requests.append(
            {
                "request_id": str(event.request_id),
                "code": event.code,
                "nature": event.nature.value,
                "body_id": event.body_id,
                "body_name": event.body_name,
                "theme_id": event.theme_id,
                "theme_label": event.theme_label,
                "place_id": event.place_id,
                "place_label": event.place_label,
                "channel": event.channel.value,
                "message": event.message,
                "contact": event.contact.model_dump(mode="json"),
                "attachments": [a.model_dump(mode="json") for a in event.attachments],
                "submitted_at": submitted_at.isoformat(),
                "admissibility_deadline": domain.admissibility_deadline(
                    submitted_at, days, calendar
                ).isoformat(),
                "status": domain.WAITING,
                "message_id": str(delivery.message_id),
                # Who typed it for a caller, by phone: the submission's history line keeps it
                # (the analysts' page names them); None by any other channel, or from before.
                "operator_id": event.operator.staff_id if event.operator else None,
                "operator_login": event.operator.login if event.operator else None,
            }
        )
    await repository.add_submitted(conn, requests, domain.Kind.SUBMITTED)


async def on_resubmitted(
    conn: asyncpg.Connection,
    event: RequestResubmittedV1,
    delivery: Delivery,
    *,
    default_days: int,
    days_by_nature: dict[str, int],
) -> None:
    """The citizen rewrote the request: back to the queue with the new message; the old one
    stays in the history."""
    at = domain.aware(event.resubmitted_at)
    policy, calendar = await deadline_copy.load(conn)
    where = await conn.fetchrow(
        "SELECT nature, body_id FROM queue_items WHERE request_id = $1", event.request_id
    )
    moved = where is not None and await repository.back_in_queue(
        conn,
        event.request_id,
        message=event.message,
        queued_at=at,
        deadline=domain.admissibility_deadline(
            at,
            domain.days_for(
                where["nature"], default_days, days_by_nature, policy, where["body_id"]
            ),
            calendar,
        ),
    )
    if not moved:
        exists = await conn.fetchval(
            "SELECT true FROM queue_items WHERE request_id = $1", event.request_id
        )
        if not exists:
            log.info("rewrite of a request triage does not know", extra={"code": event.code})
            return
    await repository.add_history(
        conn,
        request_id=event.request_id,
        occurred_at=at,
        kind=domain.Kind.RESUBMITTED,
        message=event.message,
        message_id=delivery.message_id,
    )


async def on_documents_added(
    conn: asyncpg.Connection, event: CitizenDocumentsAddedV1, delivery: Delivery
) -> None:
    """Documents the citizen added when rewriting: listed with the request's, passed on with it
    when it is validated. Each file once, whatever the order beside request.resubmitted."""
    added = await conn.execute(
        """UPDATE queue_items SET attachments = attachments || (
               SELECT COALESCE(jsonb_agg(a), '[]'::jsonb) FROM jsonb_array_elements($2::jsonb) a
               WHERE NOT attachments @> jsonb_build_array(
                   jsonb_build_object('attachment_id', a->>'attachment_id')))
           WHERE request_id = $1""",
        event.request_id,
        json.dumps([a.model_dump(mode="json") for a in event.attachments]),
    )
    if added == "UPDATE 0":
        log.info("documents of a request triage does not know", extra={"code": event.code})


BodyEvent = (
    RequestPutOnHoldV1
    | RequestResumedV1
    | RequestTreatedV1
    | RequestReopenedV1
    | RequestOpinionGivenV1
    | RequestClosedV1
)


async def on_body_event(conn: asyncpg.Connection, event: BodyEvent, delivery: Delivery) -> None:
    """The request's status at the body as the life cycle's table says the event leaves it, and
    the citizen's opinion (request.opinion_given, or request.closed naming it). Ordered by the
    events' moments, not by their arrival (two copies of triage take them in any order): a late
    event, or any once closed, changes nothing. An event twice: the inbox stops the second."""
    status = lifecycle.status_after(Event(event.name))
    if status is None:  # every event bound here moves the status; kept for safety
        return
    opinion = getattr(event, "opinion", None)
    moved = await repository.follow_body(
        conn,
        event.request_id,
        status.value,
        domain.aware(moment(event)),
        opinion=opinion.value if opinion else None,
        comment=getattr(event, "comment", None),
    )
    if not moved:
        log.info("body event left as it stands", extra={"code": event.code, "event": event.name})


async def on_policy_changed(
    conn: asyncpg.Connection,
    event: DeadlinesPolicyChangedV1,
    delivery: Delivery,
    *,
    default_days: int,
    days_by_nature: dict[str, int],
) -> None:
    """The administrators changed the deadlines or the days off (« Délais »): the copy is
    replaced, and every request still waiting for the analysts gets its deadline again, counted
    from its entry in the queue (an older revision arriving late changes nothing)."""
    if not await deadline_copy.replace(conn, event):
        return
    policy, calendar = await deadline_copy.load(conn)
    rows = await conn.fetch(
        """SELECT request_id, nature, body_id, queued_at, admissibility_deadline
           FROM queue_items WHERE status = $1 ORDER BY request_id FOR UPDATE""",
        domain.WAITING,
    )
    moved = []
    known: dict[tuple, datetime] = {}  # many requests share an entry day and a number of days
    for row in rows:
        days = domain.days_for(row["nature"], default_days, days_by_nature, policy, row["body_id"])
        key = (day_of(row["queued_at"]), days)
        if key not in known:
            known[key] = domain.admissibility_deadline(row["queued_at"], days, calendar)
        deadline = known[key]
        if deadline != row["admissibility_deadline"]:
            moved.append((row["request_id"], deadline))
    await repository.set_deadlines(conn, moved)
    log.info("deadline policy applied", extra={"revision": event.revision, "moved": len(moved)})


def build_handlers(settings: TriageSettings) -> dict[str, Entry]:
    """The registry: message type → handler ``(conn, event, delivery)``."""
    deadlines = {
        "default_days": settings.admissibility_days,
        "days_by_nature": settings.days_by_nature(),
    }

    async def submitted(
        conn: asyncpg.Connection, run: list[tuple[RequestSubmittedV1, Delivery]]
    ) -> None:
        await on_submitted(conn, run, **deadlines)

    async def resubmitted(
        conn: asyncpg.Connection, event: RequestResubmittedV1, delivery: Delivery
    ) -> None:
        await on_resubmitted(conn, event, delivery, **deadlines)

    async def policy_changed(
        conn: asyncpg.Connection, event: DeadlinesPolicyChangedV1, delivery: Delivery
    ) -> None:
        await on_policy_changed(conn, event, delivery, **deadlines)

    return {
        RequestSubmittedV1.type_name(): Batched(submitted),
        RequestPersonalDataPurgedV1.type_name(): purge.on_personal_data_purged,
        RequestResubmittedV1.type_name(): resubmitted,
        CitizenDocumentsAddedV1.type_name(): on_documents_added,
        DeadlinesPolicyChangedV1.type_name(): policy_changed,
        **{
            contract.type_name(): on_body_event
            for contract in (
                RequestPutOnHoldV1,
                RequestResumedV1,
                RequestTreatedV1,
                RequestReopenedV1,
                RequestOpinionGivenV1,
                RequestClosedV1,
            )
        },
    }
