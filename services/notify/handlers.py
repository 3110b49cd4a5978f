"""Message handlers: ``(conn, event, delivery)``, run in the consumer's transaction (inbox)."""

from __future__ import annotations

import functools
from collections.abc import Mapping

import asyncpg

from services.notify import (
    decisions,
    emails,
    purge,
    reminders,
    repository,
    sms_texts,
    staff_mail,
    tell,
    treatment,
)
from shared import deadline_copy, early, reach
from shared.consumer import Batched, Delivery, Entry
from shared.messages import (
    CodesReminderRequestedV1,
    CodesReminderRequestedV2,
    DeadlineKind,
    DeadlinesPolicyChangedV1,
    RequestPersonalDataPurgedV1,
    RequestSubmittedV1,
    RequestValidatedV1,
)

# The analysts' admissibility deadline by default (chikaya.ma; triage's MILIE_ADMISSIBILITY_DAYS).
DECISION_DAYS = 15


def citizen_parking(public_url: str, *, sms_enabled: bool = False) -> early.Parking:
    """What tells the citizen about their request — the analysts' decisions, what the body did —
    needs the address and the mobile number kept from request.submitted: an event that comes
    before it is parked, then applied with it (shared.early). A validation carries the contact
    itself and waits for nothing."""
    told = {
        **decisions.handlers(public_url, sms_enabled=sms_enabled),
        **treatment.handlers(public_url, sms_enabled=sms_enabled),
    }
    del told[RequestValidatedV1.type_name()]
    return early.Parking("recipients", told)


def make_handlers(
    public_url: str,
    *,
    sms_enabled: bool = False,
    decision_days: Mapping[str, int] | None = None,
    parking: early.Parking | None = None,
) -> dict[str, Entry]:
    """The registry: which function handles which message.

    A factory rather than a module-level dict because the emails carry a link built from a
    setting (``public_url``), and settings are passed down, never read here. ``sms_enabled``:
    an SMS provider is configured (MILIE_SMS_BASE_URL). ``decision_days``: the analysts' days
    to rule on admissibility, by nature (the acknowledgement announces the date; 15 otherwise).
    ``parking``: :func:`citizen_parking`'s, when the app's sweep shares it.
    """
    parking = parking or citizen_parking(public_url, sms_enabled=sms_enabled)

    async def on_requests_submitted(
        conn: asyncpg.Connection, run: list[tuple[RequestSubmittedV1, Delivery]]
    ) -> None:
        await requests_submitted(
            conn, run, public_url=public_url, sms_enabled=sms_enabled, decision_days=decision_days
        )
        # What came before the submission, now that the citizen's address is kept.
        await parking.apply(conn, [event.request_id for event, _ in run])

    registry: dict[str, Entry] = {
        RequestSubmittedV1.type_name(): Batched(on_requests_submitted),
        # The administrators' « Délais »: the copy the acknowledgement dates the decision with.
        DeadlinesPolicyChangedV1.type_name(): on_policy_changed,
        # « Code requête oublié ? »: v1 (an email address) until no intake publishes it.
        CodesReminderRequestedV1.type_name(): functools.partial(
            reminders.on_codes_reminder_requested, public_url=public_url
        ),
        CodesReminderRequestedV2.type_name(): functools.partial(
            reminders.on_codes_reminder_requested, public_url=public_url, sms_enabled=sms_enabled
        ),
        # The analysts' decisions (validation, reformulation, rejection, clarification) and what
        # the body did (its answer, a hold, a further message; a « Retraitement » received): all
        # but the validation, which carries the contact itself, wait for the citizen's address
        # (citizen_parking).
        **decisions.handlers(public_url, sms_enabled=sms_enabled),
        **parking.parked_until_known(),
        # The citizen's personal data, a while after closure (services/notify/purge.py).
        RequestPersonalDataPurgedV1.type_name(): purge.on_personal_data_purged,
    }
    # The staff's: alerts of new requests, reminders, late requests (after the citizen's).
    for name, handler in staff_mail.handlers(public_url).items():
        told = registry.get(name)
        registry[name] = staff_mail.both(told, handler) if told else handler  # type: ignore[arg-type]
    return registry


async def on_policy_changed(
    conn: asyncpg.Connection, event: DeadlinesPolicyChangedV1, delivery: Delivery
) -> None:
    """Notify's copy of the deadline policy replaced (an older revision changes nothing)."""
    await deadline_copy.replace(conn, event)


async def requests_submitted(
    conn: asyncpg.Connection,
    run: list[tuple[RequestSubmittedV1, Delivery]],
    *,
    public_url: str,
    sms_enabled: bool = False,
    decision_days: Mapping[str, int] | None = None,
) -> None:
    """Keep each recipient for later events; queue the acknowledgement email where there is an
    address, and the SMS where there is a mobile number and SMS are sent (shared.reach); write
    the SMS down unsent, with why, for a citizen neither can reach."""
    recipients: list[repository.Recipient] = []
    deliveries: list[repository.NewDelivery] = []
    unsent: list[tuple[repository.NewDelivery, str]] = []
    policy, calendar = await deadline_copy.load(conn)
    for event, delivery in run:
        contact = event.contact
        recipients.append(
            repository.Recipient(
                request_id=event.request_id,
                code=event.code,
                email=contact.email,
                phone=contact.phone,
                last_name=contact.last_name,
                first_names=contact.first_names,
            )
        )
        name = emails.full_name(contact.first_names, contact.last_name)
        ways = reach.media(contact.email, contact.phone, sms_enabled=sms_enabled)
        code_by_sms = repository.NewDelivery.sms(
            delivery,
            event.request_id,
            contact.phone or "",
            name,
            sms_texts.acknowledgement(event, emails.tracking_link(public_url, event.code)),
        )
        if reach.SMS in ways:
            # The code by SMS too, where a mobile number is given (sent by the delivery loop).
            deliveries.append(code_by_sms)
        elif reason := reach.unreachable_reason(
            contact.email, contact.phone, sms_enabled=sms_enabled
        ):
            unsent.append((code_by_sms, reason))
        if contact.email:
            # The administrators' value (per nature and body), else this service's settings.
            days = policy.value(DeadlineKind.ADMISSIBILITY, event.nature, event.body_id) or (
                decision_days or {}
            ).get(event.nature.value, DECISION_DAYS)
            mail = emails.acknowledgement(event, public_url, decision_days=days, calendar=calendar)
            deliveries.append(
                repository.NewDelivery.email(delivery, event.request_id, contact.email, name, mail)
            )
    await repository.save_recipients_and_add_deliveries(conn, recipients, deliveries)
    for delivery_unsent, reason in unsent:
        await tell.record_unsent(conn, delivery_unsent, reason)
