"""The emails that tell citizens what the analysts decided: validation, reformulation asked,
rejection, clarification — built here (no I/O in the builders) and queued as deliveries.

The address comes from the recipients table (filled from request.submitted); a validation also
carries the contact itself. One delivery per event and medium (``UNIQUE (about_message_id,
medium)``): a redelivered event never sends a second email. A citizen who gave no email (a
call-centre request with a mobile number only) gets none here; SMS is the SMS handlers' work.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from uuid import UUID

import asyncpg

from services.notify import emails, repository
from shared.consumer import Delivery, Handler
from shared.messages import (
    RequestClarificationSentV1,
    RequestReformulationRequestedV1,
    RequestRejectedV1,
    RequestValidatedV1,
)

log = logging.getLogger(__name__)

OSEP = "l'Observatoire du Service Public (OSEP)"


def _link_sentence(link: str, then: str = "") -> str:
    return f"Suivez votre requête sur « Suivre ma réclamation » : {link}{then}"


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
            f"Pour la reformuler, ouvrez « Suivre ma réclamation » : {link} — saisissez le code "
            "et votre adresse électronique, puis choisissez « Modifier ».",
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
            _link_sentence(link, "."),
            "Vous pouvez soumettre une nouvelle requête sur le Portail du citoyen Miliê.",
        ],
    )


def validation(event: RequestValidatedV1, name: str, public_url: str) -> emails.Email:
    """Forwarded for treatment (réclamation, demande d'information), or read and forwarded."""
    code, nature, body = event.code, event.nature.label, event.body_name
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
    return emails.letter(subject, name, [said, _link_sentence(link, ".")])


def clarification(code: str, message: str, name: str, public_url: str) -> emails.Email:
    link = emails.tracking_link(public_url, code)
    return emails.letter(
        f"Miliê — un message de l'OSEP au sujet de votre requête n° {code}",
        name,
        [
            f"Au sujet de votre requête n° {code}, l'analyste de {OSEP} vous écrit :",
            ("quote", message),
            _link_sentence(link, "."),
        ],
    )


async def _recipient(conn: asyncpg.Connection, request_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT email, first_names, last_name FROM recipients WHERE request_id = $1", request_id
    )


async def _queue(
    conn: asyncpg.Connection,
    delivery: Delivery,
    request_id: UUID,
    address: str,
    name: str,
    mail: emails.Email,
) -> None:
    await repository.add_delivery(
        conn, repository.NewDelivery.email(delivery, request_id, address, name, mail)
    )


Build = Callable[[object, str], emails.Email]


def _handler(build: Build) -> Callable[..., Awaitable[None]]:
    """A handler that emails the citizen what ``build(event, name)`` writes, if they have an
    address."""

    async def handle(conn: asyncpg.Connection, event, delivery: Delivery) -> None:
        row = await _recipient(conn, event.request_id)
        address = row["email"] if row else None
        first, last = (row["first_names"], row["last_name"]) if row else ("", "")
        contact = getattr(event, "contact", None)
        if not address and contact is not None:  # a validation carries the contact itself
            address, first, last = contact.email, contact.first_names, contact.last_name
        if not address:
            log.info(
                "no email address for a decision",
                extra={"code": event.code, "type": delivery.message_type},
            )
            return
        name = emails.full_name(first, last)
        await _queue(conn, delivery, event.request_id, address, name, build(event, name))

    return handle


def handlers(public_url: str) -> dict[str, Handler]:
    """Message type → handler, merged into notify's registry (``handlers.make_handlers``)."""
    return {
        RequestValidatedV1.type_name(): _handler(lambda e, name: validation(e, name, public_url)),
        RequestReformulationRequestedV1.type_name(): _handler(
            lambda e, name: reformulation(e.code, e.analyst_message, name, public_url)
        ),
        RequestRejectedV1.type_name(): _handler(
            lambda e, name: rejection(e.code, e.reason, name, public_url)
        ),
        RequestClarificationSentV1.type_name(): _handler(
            lambda e, name: clarification(e.code, e.message, name, public_url)
        ),
    }
