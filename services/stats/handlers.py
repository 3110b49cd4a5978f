"""Message handlers of stats: each runs in the consumer's transaction (with the inbox row)."""

from __future__ import annotations

import asyncpg

from services.stats import deadlines, repository, treatment_events, triage_events
from services.stats.repository import day_of
from shared import lifecycle
from shared.consumer import Batched, Delivery, Entry
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


HANDLERS: dict[str, Entry] = {
    RequestSubmittedV1.type_name(): Batched(on_submitted),
    # The analysts' decisions and the citizen's rewrites move the status (triage_events.py).
    **triage_events.HANDLERS,
    # The bodies' treatment and the citizens' opinions (treatment_events.py).
    **treatment_events.HANDLERS,
}
# « Délais respectés » (deadlines.py): request.treated counted there too, after the status.
for _name, _handler in deadlines.HANDLERS.items():
    _told = HANDLERS.get(_name)
    HANDLERS[_name] = deadlines.both(_told, _handler) if _told else _handler  # type: ignore[arg-type]
