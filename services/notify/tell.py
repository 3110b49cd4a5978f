"""Telling one citizen about one event: the email where they gave an address, the SMS where they
gave a mobile number and the platform sends SMS (shared.reach, the one rule the pages promise
by) — and where neither can go, the message written down as « unsent » with why, and a
notification.failed for the statistics, so that nobody believes the citizen was told.
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

import asyncpg

from services.notify import emails, repository
from shared import outbox, reach
from shared.consumer import Delivery
from shared.messages import NotificationFailedV1


async def citizen(
    conn: asyncpg.Connection,
    about: Delivery,
    request_id: UUID,
    name: str,
    address: str | None,
    phone: str | None,
    *,
    mail: Callable[[], emails.Email],
    text: Callable[[], str],
    sms_enabled: bool,
) -> None:
    """Queue the email ``mail()`` and the SMS ``text()`` that can reach the citizen, or write
    the SMS down unsent (the email where no number was given) with why."""
    ways = reach.media(address, phone, sms_enabled=sms_enabled)
    if reach.EMAIL in ways:
        await repository.add_delivery(
            conn, repository.NewDelivery.email(about, request_id, address or "", name, mail())
        )
    if reach.SMS in ways:
        await repository.add_delivery(
            conn, repository.NewDelivery.sms(about, request_id, phone or "", name, text())
        )
    if reason := reach.unreachable_reason(address, phone, sms_enabled=sms_enabled):
        if phone:
            unsent = repository.NewDelivery.sms(about, request_id, phone, name, text())
        else:
            unsent = repository.NewDelivery.email(about, request_id, "", name, mail())
        await record_unsent(conn, unsent, reason)


async def record_unsent(
    conn: asyncpg.Connection, unsent: repository.NewDelivery, reason: str
) -> None:
    """The delivery written down unsent, and its notification.failed in the same transaction
    (stats count it among the day's failed deliveries)."""
    row = await repository.add_unsent(conn, unsent, reason)
    if row is None:
        return  # this message was written down already (a redelivery)
    await outbox.add(
        conn,
        NotificationFailedV1(
            delivery_id=row["id"],
            request_id=unsent.request_id,
            medium=unsent.medium,
            about_message_type=unsent.about_message_type,
            reason=reason,
            failed_at=row["failed_at"],
        ),
        correlation_id=unsent.correlation_id,
    )
