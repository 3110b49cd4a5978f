"""What the body did with a request, told to the citizen: its answer (with the opinion to give or
« Relancer »), a hold and its reason, a further message, a « Retraitement » received, and the
request closed « sans retour » — the email built here (no I/O in the builders), the SMS's text
from sms_texts.py, both queued as deliveries.

Treatment's events carry no contact: the address and the mobile number are notify's copy from
request.submitted (the recipients table), as for the analysts' decisions (decisions.py). One
delivery per event and medium (``UNIQUE (about_message_id, medium)``): a redelivered event never
sends a second email or SMS. Unlike the decisions, these go by SMS too, to a mobile number where
a provider is configured: a citizen who gave no address must still learn that the answer came.

On request.assigned, only the acknowledgement email the agent chose to send (« Prendre en
compte »), with the subject and text as they edited them; nothing when they sent none, and no
SMS (the guide offers it to citizens who gave an address). No message for request.reassigned
(its agent is told: staff_mail.py) and resumed (the body's internal steps), nor for
request.opinion_given and request.closed with an opinion (the citizen's own act). A request
closed without an opinion (« sans retour ») is told: the citizen learns the window for their
opinion has passed. So is a reply of the citizen's the body's service could not apply
(request.citizen_reply_refused): the portal had told them it was recorded.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg

from services.notify import emails, repository, sms_texts, tell
from shared.citizen_replies import refused_sentence
from shared.consumer import Delivery, Handler
from shared.lifecycle import OPINION_LABELS
from shared.messages import (
    CitizenReply,
    Opinion,
    RequestAssignedV1,
    RequestCitizenAnsweredV1,
    RequestCitizenReplyRefusedV1,
    RequestClosedV1,
    RequestPutOnHoldV1,
    RequestReopenedV1,
    RequestTreatedV1,
)

log = logging.getLogger(__name__)

BODY = "l'organisme concerné"
TRACK = emails.TRACK


@dataclass(frozen=True)
class Notice:
    """One event told to the citizen: the email, and the SMS's text."""

    email: emails.Email
    sms: str


def _opinions() -> str:
    said = [f"« {OPINION_LABELS[o]} »" for o in Opinion]
    return ", ".join(said[:-1]) + f" ou {said[-1]}"


def _documents(count: int) -> list[emails.Paragraph]:
    if not count:
        return []
    if count == 1:
        return [f"Un document est joint à la réponse : vous le trouverez sur {TRACK}."]
    return [f"{count} documents sont joints à la réponse : vous les trouverez sur {TRACK}."]


def treated(event: RequestTreatedV1, name: str, public_url: str) -> Notice:
    """« Votre requête a été traitée »: the body's answer, then the opinion to give or
    « Relancer » on « Suivre une requête », the code filled in."""
    code = event.code
    link = emails.tracking_link(public_url, code)
    mail = emails.letter(
        f"Miliê — votre requête n° {code} a été traitée",
        name,
        [
            f"Votre requête n° {code} a été traitée par {BODY}, qui vous répond :",
            ("quote", event.message),
            *_documents(len(event.documents)),
            (
                "link",
                f"Donnez votre avis sur cette réponse ({_opinions()}), ou choisissez "
                f"« Relancer » pour demander un nouveau traitement, sur {TRACK} :",
                link,
            ),
        ],
    )
    return Notice(mail, sms_texts.treated(code, link))


def put_on_hold(event: RequestPutOnHoldV1, name: str, public_url: str) -> Notice:
    code = event.code
    link = emails.tracking_link(public_url, code)
    mail = emails.letter(
        f"Miliê — votre requête n° {code} est mise en attente",
        name,
        [
            f"Le traitement de votre requête n° {code} par {BODY} est mis en attente. Motif :",
            ("quote", event.reason),
            "Le délai de réponse est suspendu pendant la mise en attente ; vous serez "
            "informé(e) de la reprise par la réponse de l'organisme.",
            ("link", f"Suivez votre requête sur {TRACK} :", link),
        ],
    )
    return Notice(mail, sms_texts.put_on_hold(event, link))


def citizen_answered(event: RequestCitizenAnsweredV1, name: str, public_url: str) -> Notice:
    code = event.code
    link = emails.tracking_link(public_url, code)
    mail = emails.letter(
        f"Miliê — un nouveau message au sujet de votre requête n° {code}",
        name,
        [
            f"Au sujet de votre requête n° {code}, {BODY} vous écrit de nouveau :",
            ("quote", event.message),
            *_documents(len(event.documents)),
            ("link", f"Retrouvez ce message sur {TRACK} :", link),
        ],
    )
    return Notice(mail, sms_texts.citizen_answered(code, link))


def reopened(event: RequestReopenedV1, name: str, public_url: str) -> Notice:
    """« Votre demande de nouveau traitement a été reçue », with the citizen's own words."""
    code = event.code
    link = emails.tracking_link(public_url, code)
    mail = emails.letter(
        f"Miliê — votre demande de nouveau traitement a été reçue (requête n° {code})",
        name,
        [
            f"Votre demande de nouveau traitement de la requête n° {code} a été reçue et "
            f"transmise à {BODY}. Votre message :",
            ("quote", event.message),
            "Vous serez informé(e) de sa nouvelle réponse.",
            ("link", f"Suivez votre requête sur {TRACK} :", link),
        ],
    )
    return Notice(mail, sms_texts.reopened(code, link))


def closed_without_return(event: RequestClosedV1, name: str, public_url: str) -> Notice:
    """« Clôturée sans retour »: no opinion came in time; the request stays on the tracking page."""
    code = event.code
    link = emails.tracking_link(public_url, code)
    mail = emails.letter(
        f"Miliê — votre requête n° {code} est clôturée sans retour",
        name,
        [
            f"Votre requête n° {code} a reçu la réponse de {BODY}, et le délai pour donner votre "
            "avis sur cette réponse est passé sans que nous l'ayons reçu : elle est clôturée "
            "sans retour.",
            "Vous pouvez soumettre une nouvelle requête sur le Portail du citoyen Miliê.",
            ("link", f"Son historique reste consultable sur {TRACK} :", link),
        ],
    )
    return Notice(mail, sms_texts.closed_without_return(code, link))


def reply_refused(event: RequestCitizenReplyRefusedV1, name: str, public_url: str) -> Notice:
    """The citizen's opinion or « Relancer », recorded by the portal, could not be applied by
    the body's service (the request closed « sans retour » meanwhile…): the citizen was told it
    was recorded, so they are told it was not taken, and why."""
    code = event.code
    link = emails.tracking_link(public_url, code)
    what = (
        "votre avis n'a pas pu être pris en compte"
        if event.reply == CitizenReply.OPINION
        else "votre relance n'a pas pu être prise en compte"
    )
    mail = emails.letter(
        f"Miliê — requête n° {code} : {what}",
        name,
        [
            f"Au sujet de votre requête n° {code} : "
            + refused_sentence(event.reply, event.recorded_at, event.reason),
            "Vous pouvez soumettre une nouvelle requête sur le Portail du citoyen Miliê.",
            ("link", f"Son historique reste consultable sur {TRACK} :", link),
        ],
    )
    return Notice(mail, sms_texts.reply_refused(event, link))


def acknowledgement(event: RequestAssignedV1, name: str, public_url: str) -> emails.Email | None:
    """The agent's acknowledgement email: their subject, their text (a paragraph per blank
    line), then the tracking link; None when the agent sent none."""
    mail = event.acknowledgement
    if mail is None:
        return None
    paragraphs: list[emails.Paragraph] = [
        " ".join(p.split()) for p in mail.text.replace("\r\n", "\n").split("\n\n") if p.strip()
    ]
    link = emails.tracking_link(public_url, event.code)
    paragraphs.append(("link", f"Suivez votre requête sur {TRACK} :", link))
    return emails.letter(mail.subject, name, paragraphs)


def _on_assigned(public_url: str) -> Callable[..., Awaitable[None]]:
    async def handle(
        conn: asyncpg.Connection, event: RequestAssignedV1, delivery: Delivery
    ) -> None:
        if event.acknowledgement is None:
            return
        row = await conn.fetchrow(
            "SELECT email, first_names, last_name FROM recipients WHERE request_id = $1",
            event.request_id,
        )
        if row is None or not row["email"]:
            log.warning(
                "no address kept for an acknowledgement",
                extra={"code": event.code, "type": delivery.message_type},
            )
            return
        name = emails.full_name(row["first_names"], row["last_name"])
        mail = acknowledgement(event, name, public_url)
        assert mail is not None
        await repository.add_delivery(
            conn,
            repository.NewDelivery.email(delivery, event.request_id, row["email"], name, mail),
        )

    return handle


Build = Callable[[object, str, str], Notice]


def _handler(build: Build, public_url: str, sms_enabled: bool) -> Callable[..., Awaitable[None]]:
    """A handler that tells the citizen what ``build`` writes: by email where they gave an
    address, by SMS where they gave a mobile number and SMS are sent (``tell.citizen``:
    otherwise written down unsent)."""

    async def handle(conn: asyncpg.Connection, event, delivery: Delivery) -> None:
        if getattr(event, "opinion", None) is not None:
            return  # closed by the citizen's opinion: their own act, nothing to tell
        row = await conn.fetchrow(
            "SELECT email, phone, first_names, last_name FROM recipients WHERE request_id = $1",
            event.request_id,
        )
        if row is None:
            log.warning(
                "no recipient kept for a treatment event",
                extra={"code": event.code, "type": delivery.message_type},
            )
            return
        name = emails.full_name(row["first_names"], row["last_name"])
        notice = build(event, name, public_url)
        await tell.citizen(
            conn,
            delivery,
            event.request_id,
            name,
            row["email"],
            row["phone"],
            mail=lambda: notice.email,
            text=lambda: notice.sms,
            sms_enabled=sms_enabled,
        )

    return handle


def handlers(public_url: str, *, sms_enabled: bool = False) -> dict[str, Handler]:
    """Message type → handler, merged into notify's registry (``handlers.make_handlers``)."""
    builds: dict[type, Build] = {
        RequestTreatedV1: treated,
        RequestPutOnHoldV1: put_on_hold,
        RequestCitizenAnsweredV1: citizen_answered,
        RequestReopenedV1: reopened,
        RequestClosedV1: closed_without_return,
        RequestCitizenReplyRefusedV1: reply_refused,
    }
    return {
        **{
            contract.type_name(): _handler(build, public_url, sms_enabled)
            for contract, build in builds.items()
        },
        RequestAssignedV1.type_name(): _on_assigned(public_url),
    }
