"""Message handlers of triage: each runs in the consumer's transaction (with the inbox row).

The handlers need the settings (the admissibility deadline), so the registry is built from them
by :func:`build_handlers`; it is still the one place that says which function handles what.
"""

from __future__ import annotations

import asyncpg

from services.triage import domain, repository
from services.triage.settings import TriageSettings
from shared.consumer import Delivery, Handler
from shared.messages import RequestSubmittedV1


async def on_submitted(
    conn: asyncpg.Connection,
    event: RequestSubmittedV1,
    delivery: Delivery,
    *,
    admissibility_days: int,
) -> None:
    """Put a submitted request in the analysts' queue, waiting, with its deadline."""
    submitted_at = domain.aware(event.submitted_at)
    await repository.add_to_queue(
        conn,
        request_id=event.request_id,
        code=event.code,
        nature=event.nature.value,
        body_id=event.body_id,
        body_name=event.body_name,
        theme_id=event.theme_id,
        theme_label=event.theme_label,
        place_id=event.place_id,
        place_label=event.place_label,
        channel=event.channel.value,
        message=event.message,
        contact=event.contact.model_dump(mode="json"),
        attachments=[a.model_dump(mode="json") for a in event.attachments],
        submitted_at=submitted_at,
        admissibility_deadline=domain.admissibility_deadline(submitted_at, admissibility_days),
        status=domain.WAITING,
    )


def build_handlers(settings: TriageSettings) -> dict[str, Handler]:
    """The registry: message type → handler ``(conn, event, delivery)``."""
    days = settings.admissibility_days

    async def submitted(
        conn: asyncpg.Connection, event: RequestSubmittedV1, delivery: Delivery
    ) -> None:
        await on_submitted(conn, event, delivery, admissibility_days=days)

    return {RequestSubmittedV1.type_name(): submitted}
