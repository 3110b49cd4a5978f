"""« Code requête oublié ? »: the email listing the codes of the requests sent from an address,
or the SMS with the codes of the requests sent with a mobile number (v2 of the event).

The email and its delivery row are built here (the SMS's text in sms_texts.py); the sender sends
it like any other. The delivery is keyed by the event's message id, so a redelivered event never
sends a second email or SMS.
"""

from __future__ import annotations

from html import escape

import asyncpg

from services.notify import emails, repository, sms_texts
from shared import french, reach
from shared.consumer import Delivery
from shared.messages import CodesReminderRequestedV1, CodesReminderRequestedV2


def tracking_page(public_url: str) -> str:
    return f"{public_url.rstrip('/')}/suivre"


def codes_reminder(
    event: CodesReminderRequestedV1 | CodesReminderRequestedV2, public_url: str
) -> emails.Email:
    """The French email: each request's code, nature, date and body, with its tracking link."""
    count = len(event.requests)
    subject = (
        "Miliê — le code de votre requête"
        if count == 1
        else f"Miliê — les codes de vos {count} requêtes"
    )
    intro = (
        "Vous avez demandé les codes des requêtes soumises avec cette adresse électronique sur le "
        f"{emails.PORTAL}."
    )
    lines = []
    items = []
    for r in event.requests:
        link = emails.tracking_link(public_url, r.code)
        about = f"{r.nature.label} du {french.day(r.submitted_at)}" + (
            f" — {r.body_name}" if r.body_name else ""
        )
        lines += [f"- {r.code} : {about}", f"  Suivre : {link}"]
        items.append(
            f'<li><strong>{escape(r.code)}</strong> : {escape(about)} — <a href="{escape(link)}">'
            "Suivre cette requête</a></li>"
        )
    outro = (
        "Pour suivre une requête, saisissez son code et cette adresse électronique sur la page "
        "« Suivre une requête »."
    )
    ignore = (
        "Si vous n'êtes pas à l'origine de cette demande, ignorez ce message : personne d'autre "
        "que vous ne reçoit ces codes."
    )
    text = "\n".join(
        [
            "Bonjour,",
            "",
            intro,
            "",
            *lines,
            "",
            outro,
            "",
            ignore,
            "",
            "Ce message vous est envoyé automatiquement, merci de ne pas y répondre.",
            "",
        ]
    )
    html = (
        '<!DOCTYPE html>\n<html lang="fr">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(subject)}</title>\n</head>\n<body>\n"
        f"<p>Bonjour,</p>\n<p>{escape(intro)}</p>\n<ul>\n" + "\n".join(items) + "\n</ul>\n"
        f"<p>{escape(outro)}</p>\n<p>{escape(ignore)}</p>\n"
        "<p>Ce message vous est envoyé automatiquement, merci de ne pas y répondre.</p>\n"
        "</body>\n</html>\n"
    )
    return emails.Email(subject=subject, text=text, html=html)


async def on_codes_reminder_requested(
    conn: asyncpg.Connection,
    event: CodesReminderRequestedV1 | CodesReminderRequestedV2,
    delivery: Delivery,
    *,
    public_url: str,
    sms_enabled: bool = False,
) -> None:
    if event.email:
        mail = codes_reminder(event, public_url)
        await repository.add_delivery(
            conn, repository.NewDelivery.email(delivery, None, event.email, "", mail)
        )
        return
    phone = getattr(event, "phone", None)
    if reach.SMS in reach.media(None, phone, sms_enabled=sms_enabled):
        text = sms_texts.codes_reminder(event.requests, tracking_page(public_url))
        await repository.add_delivery(
            conn, repository.NewDelivery.sms(delivery, None, phone or "", "", text)
        )
