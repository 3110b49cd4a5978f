"""What the bodies' treatment and the citizens' opinions change in the counts.

Each of treatment's events moves the request's status (``repository.move_status``) to the one the
life cycle's table gives it (``shared.lifecycle.status_after``): put on hold, resumed, treated,
opinion given, reopened, closed. An assignment, a reassignment and a further answer to a citizen
keep the status (who holds a request is not a status): they change no count.

How a closed request ended (its opinion, or none: « sans retour ») is counted once per request
under its body, nature and submission day (``repository.record_outcome``), for the focal point's
dashboard. An opinion is also counted per body and day it was given
(``repository.record_opinion``), once per request, whether it comes with request.opinion_given or
on the request.closed that names it.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from services.stats import repository
from shared import lifecycle
from shared.consumer import Delivery, Handler
from shared.messages import (
    RequestAssignedV1,
    RequestCitizenAnsweredV1,
    RequestClosedV1,
    RequestOpinionGivenV1,
    RequestPutOnHoldV1,
    RequestReassignedV1,
    RequestReopenedV1,
    RequestResumedV1,
    RequestTreatedV1,
    moment,
)

Treatment = (
    RequestAssignedV1
    | RequestReassignedV1
    | RequestPutOnHoldV1
    | RequestResumedV1
    | RequestTreatedV1
    | RequestCitizenAnsweredV1
    | RequestReopenedV1
)


async def on_treatment(conn: asyncpg.Connection, event: Treatment, delivery: Delivery) -> None:
    if (status := lifecycle.status_after(event.name)) is not None:
        await repository.move_status(conn, event.request_id, status, moment(event))


async def on_opinion_given(
    conn: asyncpg.Connection, event: RequestOpinionGivenV1, delivery: Delivery
) -> None:
    await _close(conn, event, event.given_at)


async def on_closed(conn: asyncpg.Connection, event: RequestClosedV1, delivery: Delivery) -> None:
    await _close(conn, event, event.closed_at)


async def _close(
    conn: asyncpg.Connection, event: RequestOpinionGivenV1 | RequestClosedV1, at: datetime
) -> None:
    status = lifecycle.status_after(event.name)
    assert status is not None, f"{event.name} keeps the status: not a closure"
    await repository.move_status(conn, event.request_id, status, at)
    # How it ended, for the bodies' dashboards: the opinion, or « sans retour ».
    outcome = event.opinion.value if event.opinion is not None else repository.NO_OPINION
    await repository.record_outcome(conn, event.request_id, outcome)
    if event.opinion is not None:
        await repository.record_opinion(
            conn, event.request_id, event.body_id, event.opinion.value, repository.day_of(at)
        )


HANDLERS: dict[str, Handler] = {
    RequestAssignedV1.type_name(): on_treatment,
    RequestReassignedV1.type_name(): on_treatment,
    RequestPutOnHoldV1.type_name(): on_treatment,
    RequestResumedV1.type_name(): on_treatment,
    RequestTreatedV1.type_name(): on_treatment,
    RequestCitizenAnsweredV1.type_name(): on_treatment,
    RequestReopenedV1.type_name(): on_treatment,
    RequestOpinionGivenV1.type_name(): on_opinion_given,
    RequestClosedV1.type_name(): on_closed,
}
