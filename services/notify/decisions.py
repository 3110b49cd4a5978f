"""The messages that tell citizens what the analysts decided: validation, reformulation asked,
rejection, clarification — the emails built here (no I/O in the builders), the SMS's texts in
sms_texts.py, both queued as deliveries.

The address and the mobile number come from the recipients table (filled from
request.submitted); a validation also carries the contact itself. One delivery per event and
medium (``UNIQUE (about_message_id, medium)``): a redelivered event never sends a second email
nor a second SMS. The email goes where an address was given, the SMS where a mobile number was
and SMS are sent (MILIE_SMS_ENABLED): a call-centre caller without email learns it by SMS.
Where neither can go, the message is written down unsent, with why (tell.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from uuid import UUID

import asyncpg

from services.notify import emails, sms_texts, tell
from shared.consumer import Delivery, Handler
from shared.messages import (
    RequestClarificationSentV1,
    RequestReformulationRequestedV1,
    RequestRejectedV1,
    RequestValidatedV1,
)

OSEP = "l'Observatoire du Service Public (OSEP)"


def _link_sentence(link: str) -> emails.Paragraph:
    return ("link", f"Suivez votre requête sur {emails.TRACK} :", link)


def reformulation(code: str, message: str, name: str, public_url: str) -> emails.Email:
    """« Votre requête doit être reformulée », the analyst's words, where to « Modifier »."""
    link = emails.tracking_link(public_url, code)
    return emails.letter(
        f"Miliê — votre requête n° {code} doit être reformulée",
        name,
        [
            f"Votre requête n° {code} doit être reformulée avant d'être transmise à l'organisme "
            f"concerné. L'analyste de {OSEP} vous écrit :",
            ("quote", message),
            "Pour la reformuler, saisissez le code et votre adresse électronique sur "
            f"{emails.TRACK}, puis choisissez « Modifier ».",
            ("link", f"{emails.TRACK} :", link),
        ],
    )


def rejection(code: str, reason: str, name: str, public_url: str) -> emails.Email:
    link = emails.tracking_link(public_url, code)
    return emails.letter(
        f"Miliê — votre requête n° {code} n'a pas été jugée recevable",
        name,
        [
            f"Votre requête n° {code} a été examinée par {OSEP} : elle n'a pas été jugée "
            "recevable et elle est close. Motif :",
            ("quote", reason),
            _link_sentence(link),
            "Vous pouvez soumettre une nouvelle requête sur le Portail du citoyen Miliê.",
        ],
    )


def validation(event: RequestValidatedV1, name: str, public_url: str) -> emails.Email:
    """Forwarded for treatment (réclamation, demande d'information), or read and forwarded."""
    code, nature, body = event.code, emails.in_sentence(event.nature.label), event.body_name
    link = emails.tracking_link(public_url, code)
    if event.needs_treatment:
        subject = f"Miliê — votre {nature} n° {code} est transmise à l'organisme concerné"
        said = (
            f"Votre {nature} n° {code} a été jugée recevable et transmise à « {body} » pour "
            "traitement. Vous serez informé(e) par email de la réponse."
        )
    else:
        subject = f"Miliê — votre {nature} n° {code} a été lue et transmise"
        said = (
            f"Votre {nature} n° {code} a été lue et transmise à « {body} » pour information. "
            "Merci de votre contribution à l'amélioration du service public."
        )
    return emails.letter(subject, name, [said, _link_sentence(link)])


def clarification(code: str, message: str, name: str, public_url: str) -> emails.Email:
    link = emails.tracking_link(public_url, code)
    return emails.letter(
        f"Miliê — un message de l'OSEP au sujet de votre requête n° {code}",
        name,
        [
            f"Au sujet de votre requête n° {code}, l'analyste de {OSEP} vous écrit :",
            ("quote", message),
            _link_sentence(link),
        ],
    )


async def _recipient(conn: asyncpg.Connection, request_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT email, phone, first_names, last_name FROM recipients WHERE request_id = $1",
        request_id,
    )


Build = Callable[[object, str], emails.Email]
Text = Callable[[object, str], str]


def _handler(
    build: Build, text: Text, public_url: str, sms_enabled: bool
) -> Callable[..., Awaitable[None]]:
    """A handler that tells the citizen what ``build(event, name)`` writes by email, if they have
    an address, and ``text(event, link)`` by SMS, if they have a mobile number and SMS are sent
    (``tell.citizen``: otherwise written down unsent)."""

    async def handle(conn: asyncpg.Connection, event, delivery: Delivery) -> None:
        row = await _recipient(conn, event.request_id)
        address, phone = (row["email"], row["phone"]) if row else (None, None)
        first, last = (row["first_names"], row["last_name"]) if row else ("", "")
        contact = getattr(event, "contact", None)
        if row is None and contact is not None:  # a validation carries the contact itself
            address, phone = contact.email, contact.phone
            first, last = contact.first_names, contact.last_name
        name = emails.full_name(first, last)
        await tell.citizen(
            conn,
            delivery,
            event.request_id,
            name,
            address,
            phone,
            mail=lambda: build(event, name),
            text=lambda: text(event, emails.tracking_link(public_url, event.code)),
            sms_enabled=sms_enabled,
        )

    return handle


def handlers(public_url: str, *, sms_enabled: bool = False) -> dict[str, Handler]:
    """Message type → handler, merged into notify's registry (``handlers.make_handlers``)."""
    url, on = public_url, sms_enabled
    return {
        RequestValidatedV1.type_name(): _handler(
            lambda e, name: validation(e, name, url), sms_texts.validated, url, on
        ),
        RequestReformulationRequestedV1.type_name(): _handler(
            lambda e, name: reformulation(e.code, e.analyst_message, name, url),
            lambda e, link: sms_texts.reformulation(e.code, link),
            url,
            on,
        ),
        RequestRejectedV1.type_name(): _handler(
            lambda e, name: rejection(e.code, e.reason, name, url),
            lambda e, link: sms_texts.rejected(e.code, link),
            url,
            on,
        ),
        RequestClarificationSentV1.type_name(): _handler(
            lambda e, name: clarification(e.code, e.message, name, url),
            lambda e, link: sms_texts.clarification(e.code, link),
            url,
            on,
        ),
    }
