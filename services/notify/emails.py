"""The emails, in French, after the citizen guide — plain functions, no I/O.

A delivery row keeps the subject and both bodies built here; :func:`render` turns a row into
the message sent, the same on every attempt.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.headerregistry import Address
from email.utils import format_datetime, formataddr, parseaddr
from html import escape
from urllib.parse import urlencode
from uuid import UUID

from shared import french
from shared.messages import RequestSubmittedV1
from shared.working_days import Calendar, day_of

WORKING_DAYS = Calendar()  # weekends and public holidays, before any day is declared off

MESSAGE_ID_DOMAIN = "milie.ci"
PORTAL = "Portail du citoyen Miliê"


@dataclass(frozen=True)
class Email:
    subject: str
    text: str
    html: str


def tracking_link(public_url: str, code: str) -> str:
    return f"{public_url.rstrip('/')}/suivre?{urlencode({'code': code})}"


def full_name(first_names: str, last_name: str) -> str:
    return " ".join(part for part in (first_names.strip(), last_name.strip()) if part)


AUTOMATIC = "Ce message vous est envoyé automatiquement, merci de ne pas y répondre."
# The citizen's page every email sends to, by the portal menu's name (whatever the nature).
TRACK = "« Suivre une requête »"

# A paragraph of :func:`letter`: a sentence; ``("quote", words)`` for someone's own words
# (an analyst's, a body's, the citizen's); ``("link", sentence, url)`` for a sentence ending
# with a link (an anchor in the HTML part).
Paragraph = str | tuple[str, str] | tuple[str, str, str]


def letter(subject: str, name: str, paragraphs: list[Paragraph]) -> Email:
    """An email to ``name`` in the house style: greeting, paragraphs, the automatic notice.
    Every word is text in the HTML part, never markup."""
    greeting = f"Bonjour {name}," if name else "Bonjour,"
    text_parts = [greeting, ""]
    html_parts = [f"<p>{escape(greeting)}</p>"]
    for p in [*paragraphs, AUTOMATIC]:
        if isinstance(p, str):
            text_parts += [p, ""]
            html_parts.append(f"<p>{escape(p)}</p>")
        elif p[0] == "quote":
            text_parts += [f"« {p[1]} »", ""]
            quoted = "<br>\n".join(escape(line) for line in p[1].splitlines() or [""])
            html_parts.append(f"<blockquote><p>{quoted}</p></blockquote>")
        else:
            _, sentence, url = p
            text_parts += [f"{sentence} {url}", ""]
            html_parts.append(
                f'<p>{escape(sentence)} <a href="{escape(url)}">{escape(url)}</a></p>'
            )
    html = (
        '<!DOCTYPE html>\n<html lang="fr">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(subject)}</title>\n</head>\n<body>\n"
        + "\n".join(html_parts)
        + "\n</body>\n</html>\n"
    )
    return Email(subject=subject, text="\n".join(text_parts), html=html)


def in_sentence(label: str) -> str:
    """A nature's label inside a sentence, the one way every email and SMS writes it: « votre
    réclamation n° … », « votre motion de félicitations » (« Réclamation » is a label's own
    capital: a heading, the « Nature » line of a summary)."""
    return label.lower()


def possessive(label: str) -> str:
    """« ma réclamation », « mon observation », « ma demande d'information »."""
    word = in_sentence(label)
    return ("mon " if word[:1] in "aeéèêiouy" else "ma ") + word


def decision_deadline(submitted_at: datetime, days: int, calendar: Calendar = WORKING_DAYS) -> date:
    """The last day the analysts may rule on admissibility: as triage counts it (working days
    after the submission's day, a naive moment read as UTC)."""
    moment = submitted_at if submitted_at.tzinfo else submitted_at.replace(tzinfo=UTC)
    return calendar.add(day_of(moment), days)


# The HTML part of the receipt: one column at most 600 px wide, inline styles only (mail
# clients drop <style> blocks), long words (a pasted address) broken rather than widening it.
_BOX = (
    "max-width:600px;margin:0 auto;padding:16px;background:#ffffff;color:#1b1b1b;"
    "font-family:Arial,Helvetica,sans-serif;font-size:16px;line-height:1.5;"
    "overflow-wrap:anywhere;word-wrap:break-word;word-break:break-word"
)
_H1 = "font-size:20px;line-height:1.3;color:#00794a;margin:0 0 16px"
_H2 = "font-size:18px;line-height:1.3;color:#00794a;margin:24px 0 8px"
_ITEM = "margin:0 0 8px"
_QUOTE = "margin:0 0 16px;padding:8px 12px;border-left:4px solid #00794a;background:#f4f4f0"
_SMALL = "color:#555555;font-size:14px;margin:24px 0 0"


def acknowledgement(
    event: RequestSubmittedV1,
    public_url: str,
    *,
    decision_days: int = 15,
    calendar: Calendar = WORKING_DAYS,
) -> Email:
    """« Votre réclamation a bien été enregistrée »: a receipt the citizen can keep — the code,
    the date, the body, a copy of the message and the attachments' names, and the date by which
    the analysts rule on its admissibility (``decision_days`` after the submission, triage's
    deadline) — with the tracking link. Its HTML part reads on a phone: viewport, one column."""
    nature = event.nature.label
    code = event.code
    link = tracking_link(public_url, code)
    track = f"Suivre {possessive(nature)}"
    name = full_name(event.contact.first_names, event.contact.last_name)
    greeting = f"Bonjour {name}," if name else "Bonjour,"
    subject = f"Miliê — votre {in_sentence(nature)} n° {code} a bien été enregistrée"
    deadline = french.day(decision_deadline(event.submitted_at, decision_days, calendar))
    files = [a.filename for a in event.attachments]
    summary = [
        ("Numéro de la demande", code),
        ("Envoyée le", french.moment(event.submitted_at)),
        ("Nature", nature),
        ("Organisme concerné", event.body_name),
        *([("Thème", event.theme_label)] if event.theme_label else []),
        *([("Lieu", event.place_label)] if event.place_label else []),
    ]
    decision = (
        f"Les analystes de l'Observatoire du Service Public examinent la recevabilité de votre "
        f"{in_sentence(nature)} dans un délai de {decision_days} jours ouvrés : vous recevrez leur "
        f"décision par email au plus tard le {deadline}."
    )
    then = (
        "Si elle est recevable, elle est transmise à l'organisme concerné, qui vous répondra ; "
        "vous serez informé(e) par email de chaque étape."
        if event.nature.needs_treatment
        else "Si elle est recevable, elle est transmise à l'organisme concerné pour qu'il en "
        "prenne connaissance."
    )
    text = "\n".join(
        [
            f"Bienvenue sur le {PORTAL}",
            "",
            greeting,
            "",
            f"Votre {in_sentence(nature)} a bien été enregistrée. Le numéro de la demande est : "
            f"{code}",
            "",
            "Veuillez noter ce numéro, il vous servira pour suivre l'état d'avancement du "
            f"traitement sur {track} : {link}",
            "",
            "RÉCAPITULATIF DE VOTRE REQUÊTE",
            *(f"{label} : {value}" for label, value in summary),
            f"Pièces jointes : {', '.join(files) if files else 'aucune'}",
            "",
            "Votre message :",
            f"« {event.message} »",
            "",
            "ET ENSUITE ?",
            decision,
            then,
            "",
            AUTOMATIC,
            "",
        ]
    )
    e = escape
    items = "".join(
        f'<p style="{_ITEM}"><strong>{e(label)}</strong><br>{e(value)}</p>\n'
        for label, value in summary
    )
    attached = (
        '<ul style="margin:0 0 8px;padding-left:20px">'
        + "".join(f"<li>{e(f)}</li>" for f in files)
        + "</ul>\n"
        if files
        else f'<p style="{_ITEM}">Aucune</p>\n'
    )
    message = "<br>\n".join(e(line) for line in event.message.splitlines() or [""])
    html = (
        '<!DOCTYPE html>\n<html lang="fr">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{e(subject)}</title>\n</head>\n"
        '<body style="margin:0;padding:0;background:#f4f4f0">\n'
        f'<div style="{_BOX}">\n'
        f'<h1 style="{_H1}">Bienvenue sur le {e(PORTAL)}</h1>\n'
        f"<p>{e(greeting)}</p>\n"
        f"<p>Votre <strong>{e(in_sentence(nature))}</strong> a bien été enregistrée. "
        f"Le numéro de la demande est : <strong>{e(code)}</strong></p>\n"
        "<p>Veuillez noter ce numéro, il vous servira pour suivre l'état d'avancement du "
        f'traitement sur <a href="{e(link)}">{e(track)}</a>.</p>\n'
        f'<h2 style="{_H2}">Récapitulatif de votre requête</h2>\n'
        f"{items}"
        f'<p style="{_ITEM}"><strong>Pièces jointes</strong></p>\n{attached}'
        f'<p style="{_ITEM}"><strong>Votre message</strong></p>\n'
        f'<blockquote style="{_QUOTE}"><p style="margin:0">{message}</p></blockquote>\n'
        f'<h2 style="{_H2}">Et ensuite ?</h2>\n'
        f"<p>{e(decision)}</p>\n<p>{e(then)}</p>\n"
        f'<p style="{_SMALL}">{e(AUTOMATIC)}</p>\n'
        "</div>\n</body>\n</html>\n"
    )
    return Email(subject=subject, text=text, html=html)


def message_id(delivery_id: UUID) -> str:
    """Stable across attempts, so that a resend after a crash is recognisable."""
    return f"<{delivery_id}@{MESSAGE_ID_DOMAIN}>"


def envelope_sender(mail_from: str) -> str:
    return parseaddr(mail_from)[1]


def render(
    *,
    delivery_id: UUID,
    mail_from: str,
    recipient: str,
    recipient_name: str,
    subject: str,
    text: str,
    html: str | None,
    created_at: datetime,
    eight_bit: bool = False,
) -> bytes:
    """The message of one delivery row: multipart/alternative (text/plain + text/html).

    ``eight_bit`` (the server offers 8BITMIME) sends the UTF-8 bodies as they are: smaller and
    cheaper for both ends than quoted-printable, the encoding used otherwise.

    Written by hand rather than with :class:`email.message.EmailMessage`, whose header
    machinery cost about 2 ms of CPU an email — most of the sender's time under load. The
    result is the same on every attempt: same ``Message-ID``, ``Date`` and boundary.
    """
    if any(ch in recipient for ch in '\r\n<>"') or "@" not in recipient:
        raise ValueError(f"not an address one can send to: {recipient!r}")
    utf8_address = not recipient.isascii()
    headers = [
        ("From", _from_header(mail_from)),
        ("To", _encode_address(recipient, recipient_name)),
        ("Subject", _encode_words(subject)),
        ("Date", format_datetime(created_at)),
        ("Message-ID", message_id(delivery_id)),
        # RFC 3834: keeps auto-responders from answering an automatic message.
        ("Auto-Submitted", "auto-generated"),
        ("Content-Language", "fr"),
        ("MIME-Version", "1.0"),
    ]
    parts = [_part("text/plain", text, eight_bit)]
    if html:
        parts.append(_part("text/html", html, eight_bit))
    boundary = f"=_milie_{delivery_id.hex}"
    lines = [f"{name}: {value}" for name, value in headers]
    lines.append(f'Content-Type: multipart/alternative; boundary="{boundary}"')
    lines.append("")
    for part in parts:
        lines.append(f"--{boundary}")
        lines.append(part)
    lines.append(f"--{boundary}--")
    lines.append("")
    return "\r\n".join(lines).encode("utf-8" if utf8_address or eight_bit else "ascii")


def _part(content_type: str, body: str, eight_bit: bool) -> str:
    lines = body.replace("\r\n", "\n").replace("\r", "\n")
    # RFC 5322: at most 998 octets a line; a longer one needs quoted-printable.
    if eight_bit and all(len(line.encode("utf-8")) <= 998 for line in lines.split("\n")):
        encoding, encoded = "8bit", lines
    else:
        encoding = "quoted-printable"
        encoded = binascii.b2a_qp(lines.encode("utf-8"), istext=True).decode("ascii")
    return (
        f"Content-Type: {content_type}; charset=utf-8\r\n"
        f"Content-Transfer-Encoding: {encoding}\r\n\r\n" + encoded.replace("\n", "\r\n")
    )


def _encode_words(value: str) -> str:
    """RFC 2047 encoded words (base64, UTF-8), each at most 75 characters, folded."""
    if value.isascii() and len(value) < 900 and "\n" not in value and "\r" not in value:
        return value
    data = value.replace("\r", " ").replace("\n", " ").encode("utf-8")
    words: list[bytes] = []
    start = 0
    while start < len(data):
        # 12 characters of =?utf-8?b??= around base64 of at most 45 bytes: 72 characters.
        end = min(start + 45, len(data))
        while end < len(data) and data[end] & 0xC0 == 0x80:
            end -= 1  # never split a character's bytes across two words
        words.append(data[start:end])
        start = end
    return "\r\n ".join(f"=?utf-8?b?{base64.b64encode(w).decode('ascii')}?=" for w in words)


@functools.lru_cache(maxsize=8)
def _from_header(mail_from: str) -> str:
    name, address = parseaddr(mail_from)
    return _encode_address(address, name)


_CONTROLS = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


def _encode_address(address: str, name: str) -> str:
    """An address header's value, built by the standard library: ``formataddr`` quotes a name
    holding ``,`` ``@`` ``"`` or ``<`` and encodes a non-ASCII one (RFC 2047), so no name can
    add a recipient; line breaks and other controls in a name (never accepted by intake) become
    spaces first, so none can add a header. A non-ASCII address (SMTPUTF8, RFC 6532) goes
    through ``email.headerregistry.Address``, which checks it."""
    name = " ".join(_CONTROLS.sub(" ", name or "").split())
    if address.isascii():
        return formataddr((name, address), charset="utf-8") if name else f"<{address}>"
    username, _, domain = address.rpartition("@")
    return str(Address(display_name=name, username=username, domain=domain))
