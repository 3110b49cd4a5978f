"""Message handlers of stats: each runs in the consumer's transaction (with the inbox row)."""

from __future__ import annotations

import asyncpg

from services.stats import deadlines, repository, treatment_events, triage_events
from services.stats.repository import day_of
from shared import early, lifecycle
from shared.consumer import Batched, Delivery, Entry, Handler
from shared.lock_order import one_at_a_time
from shared.messages import RequestSubmittedV1

# The status a request is counted in from its submission until triage decides.
SUBMITTED = lifecycle.next_status(None, lifecycle.Event.SUBMITTED)


async def on_submitted(
    conn: asyncpg.Connection, run: list[tuple[RequestSubmittedV1, Delivery]]
) -> None:
    await repository.record_submitted(
        conn,
        [
            {
                "request_id": str(event.request_id),
                "body_id": event.body_id,
                "body_name": event.body_name,
                "nature": event.nature.value,
                "theme_id": event.theme_id,
                "channel": event.channel.value,
                "status": SUBMITTED.value,
                "submitted_on": day_of(event.submitted_at).isoformat(),
            }
            for event, _ in run
        ],
    )
    # The events that came before their request.submitted (shared.early), now it is counted.
    await PARKING.apply(conn, [event.request_id for event, _ in run])


# Events about a request's fact row — the analysts' decisions and the citizen's rewrites
# (triage_events.py), the bodies' treatment and the citizens' opinions (treatment_events.py) —
# with « Délais respectés » (deadlines.py) counting request.treated too, after the status.
FACT_HANDLERS: dict[str, Handler] = {**triage_events.HANDLERS, **treatment_events.HANDLERS}
_OTHERS: dict[str, Handler] = {}
for _name, _handler in deadlines.HANDLERS.items():
    if _name in FACT_HANDLERS:
        FACT_HANDLERS[_name] = deadlines.both(FACT_HANDLERS[_name], _handler)
    else:
        _OTHERS[_name] = _handler

# Every batch moves the same few counters of the day (daily_counts, opinion_counts…): the
# copies of stats take turns rather than lock them in the orders their messages came in.
COUNTERS_LOCK = one_at_a_time("milie.stats.counters")

# One that comes before its request.submitted is parked, then applied with it (shared.early).
PARKING = early.Parking("request_facts", FACT_HANDLERS, lock_first=COUNTERS_LOCK)

HANDLERS: dict[str, Entry] = {
    RequestSubmittedV1.type_name(): Batched(on_submitted),
    **PARKING.parked_until_known(),
    **_OTHERS,
}
