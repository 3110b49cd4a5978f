"""Message handlers: ``(conn, event, delivery)``, run in the consumer's transaction (inbox)."""

from __future__ import annotations

import functools

import asyncpg

from services.notify import decisions, emails, reminders, repository, sms
from shared.consumer import Delivery, Handler
from shared.messages import CodesReminderRequestedV1, RequestSubmittedV1


def make_handlers(public_url: str, *, sms_enabled: bool = False) -> dict[str, Handler]:
    """The registry: which function handles which message.

    A factory rather than a module-level dict because the emails carry a link built from a
    setting (``public_url``), and settings are passed down, never read here. ``sms_enabled``:
    an SMS provider is configured (MILIE_SMS_BASE_URL).
    """

    async def on_request_submitted(
        conn: asyncpg.Connection, event: RequestSubmittedV1, delivery: Delivery
    ) -> None:
        await request_submitted(
            conn, event, delivery, public_url=public_url, sms_enabled=sms_enabled
        )

    return {
        RequestSubmittedV1.type_name(): on_request_submitted,
        CodesReminderRequestedV1.type_name(): functools.partial(
            reminders.on_codes_reminder_requested, public_url=public_url
        ),
        # The analysts' decisions (validation, reformulation, rejection, clarification).
        **decisions.handlers(public_url),
    }


async def request_submitted(
    conn: asyncpg.Connection,
    event: RequestSubmittedV1,
    delivery: Delivery,
    *,
    public_url: str,
    sms_enabled: bool = False,
) -> None:
    """Keep the recipient for later events; queue the acknowledgement email if there is an
    address, and the SMS if there is a mobile number and an SMS provider."""
    contact = event.contact
    recipient = repository.Recipient(
        request_id=event.request_id,
        code=event.code,
        email=contact.email,
        phone=contact.phone,
        last_name=contact.last_name,
        first_names=contact.first_names,
    )
    if sms_enabled and sms.is_mobile(contact.phone):
        # The code by SMS too, where a mobile number is given (sent by sms_sender).
        await repository.add_delivery(
            conn,
            repository.NewDelivery(
                request_id=event.request_id,
                about_message_id=delivery.message_id,
                about_message_type=delivery.message_type,
                correlation_id=delivery.correlation_id,
                medium="sms",
                recipient=contact.phone or "",
                recipient_name=emails.full_name(contact.first_names, contact.last_name),
                subject="",
                body_text=sms.acknowledgement(event, public_url),
                body_html=None,
            ),
        )
    if not contact.email:
        await repository.save_recipient(conn, recipient)
        return
    mail = emails.acknowledgement(event, public_url)
    await repository.save_recipient_and_add_delivery(
        conn,
        recipient,
        repository.NewDelivery(
            request_id=event.request_id,
            about_message_id=delivery.message_id,
            about_message_type=delivery.message_type,
            correlation_id=delivery.correlation_id,
            medium="email",
            recipient=contact.email,
            recipient_name=emails.full_name(contact.first_names, contact.last_name),
            subject=mail.subject,
            body_text=mail.text,
            body_html=mail.html,
        ),
    )
