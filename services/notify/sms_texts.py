"""Every SMS told to a citizen, in French — one home for the texts; plain functions, no I/O.

An SMS is paid by the segment and read on the cheapest phones, so each text is written in the
GSM 03.38 alphabet (GSM-7: 160 characters a segment, 153 each when split) rather than UCS-2
(70 a segment, 67 split), which a single « ê », « ç », « ô » or « « » » would force on the whole
message. Hence « Milie » (the registered sender name), « demande » rather than « requête », « no »
rather than « n° ». Each text fits one segment with a link of the usual length; a quoted reason
is cut so that the whole never passes :data:`MOST_SEGMENTS`. What is quoted (an agent's words)
is written into GSM-7 first (accents the alphabet lacks dropped, quotes made straight).
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence

from services.notify import emails
from shared.messages import (
    CitizenReply,
    RemindedRequest,
    RequestCitizenReplyRefusedV1,
    RequestPutOnHoldV1,
    RequestSubmittedV1,
    RequestValidatedV1,
)

# GSM 03.38: the basic table (one septet each) and the extension table (escape + one septet).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")
# A text is cut so as to never take more segments than this.
MOST_SEGMENTS = 2
SENDER = "Milie"


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENDED for ch in text)


def septets(text: str) -> int:
    """Length in GSM-7 septets (an extension character takes two)."""
    return sum(2 if ch in GSM7_EXTENDED else 1 for ch in text)


def segments(text: str) -> int:
    """How many SMS segments ``text`` takes: GSM-7 where it can, UCS-2 otherwise."""
    if is_gsm7(text):
        size, single, part = septets(text), 160, 153
    else:
        # UCS-2 counts UTF-16 code units.
        size, single, part = len(text.encode("utf-16-le")) // 2, 70, 67
    return 1 if size <= single else math.ceil(size / part)


# What a character outside GSM-7 becomes, where dropping its accent is not enough.
_SUBSTITUTES = {
    "«": '"',
    "»": '"',
    "“": '"',
    "”": '"',
    "’": "'",
    "‘": "'",
    "–": "-",
    "—": "-",
    "…": "...",
    "œ": "oe",
    "Œ": "OE",
    "ç": "c",
    "\u00a0": " ",
    "\u202f": " ",
    "\t": " ",
}


def to_gsm7(words: str) -> str:
    """``words`` in the GSM-7 alphabet: kept where it has the character, otherwise without its
    accent (« ê » → « e »), a few signs replaced, anything else dropped; spaces squeezed."""
    out = []
    for ch in " ".join(words.split()):
        if ch in GSM7_BASIC or ch in GSM7_EXTENDED:
            out.append(ch)
        elif ch in _SUBSTITUTES:
            out.append(_SUBSTITUTES[ch])
        else:
            base = unicodedata.normalize("NFKD", ch)
            out.append("".join(c for c in base if c in GSM7_BASIC))
    return "".join(out)


def _quoted(head: str, words: str, tail: str) -> str:
    """``head`` + the agent's ``words`` (in GSM-7, cut with « ... » if need be) + ``tail``, in
    at most :data:`MOST_SEGMENTS` segments."""
    words = to_gsm7(words)
    budget = MOST_SEGMENTS * 153 - septets(head) - septets(tail)
    if septets(words) > budget:
        while words and septets(words) > budget - 3:
            words = words[:-1]
        words = words.rstrip() + "..."
    return f"{head}{words}{tail}"


def acknowledgement(event: RequestSubmittedV1, link: str) -> str:
    """The code on submission, to keep for the tracking page."""
    return (
        f"{SENDER} : votre {emails.in_sentence(event.nature.label)} est enregistrée. "
        f"Son code : {event.code}. "
        f"Gardez-le pour la suivre sur {link}"
    )


def validated(event: RequestValidatedV1, link: str) -> str:
    if event.needs_treatment:
        said = "est recevable et transmise à l'organisme concerné, qui vous répondra"
    else:
        said = "a été lue et transmise à l'organisme concerné. Merci"
    return f"{SENDER} : votre demande {event.code} {said}. Suivi : {link}"


def reformulation(code: str, link: str) -> str:
    return (
        f"{SENDER} : votre demande {code} est à reformuler. Lisez le message de l'analyste et "
        f"modifiez-la sur {link}"
    )


def rejected(code: str, link: str) -> str:
    return (
        f"{SENDER} : votre demande {code} n'a pas été jugée recevable ; elle est close. "
        f"Motif sur {link}"
    )


def clarification(code: str, link: str) -> str:
    return f"{SENDER} : l'OSEP vous écrit au sujet de votre demande {code}. Lisez sur {link}"


def put_on_hold(event: RequestPutOnHoldV1, link: str) -> str:
    return _quoted(
        f"{SENDER} : votre demande {event.code} est mise en attente. Motif : ",
        event.reason,
        f" Suivi : {link}",
    )


def treated(code: str, link: str) -> str:
    return (
        f"{SENDER} : l'organisme a répondu à votre demande {code}. Lisez la réponse et donnez "
        f"votre avis sur {link}"
    )


def citizen_answered(code: str, link: str) -> str:
    return (
        f"{SENDER} : nouveau message de l'organisme sur votre demande {code}. Lisez-le sur {link}"
    )


def reopened(code: str, link: str) -> str:
    return (
        f"{SENDER} : votre demande de nouveau traitement ({code}) est enregistrée et transmise à "
        f"l'organisme. Suivi : {link}"
    )


def closed_without_return(code: str, link: str) -> str:
    return (
        f"{SENDER} : sans avis de votre part, votre demande {code} est close (sans retour). "
        f"Historique sur {link}"
    )


def reply_refused(event: RequestCitizenReplyRefusedV1, link: str) -> str:
    """The citizen's opinion or « Relancer » not applied, with the reason (cut if need be)."""
    what = "votre avis" if event.reply == CitizenReply.OPINION else "votre relance"
    taken = "pris" if event.reply == CitizenReply.OPINION else "prise"
    return _quoted(
        f"{SENDER} : {what} sur la demande {event.code} n'a pas pu etre {taken} en compte : ",
        event.reason,
        f". Suivi : {link}",
    )


def codes_reminder(requests: Sequence[RemindedRequest], link: str) -> str:
    """« Code requête oublié ? » by SMS: the most recent codes that fit in the segments."""
    head = f"{SENDER} : code(s) de vos demandes : "
    tail = f". Suivez-les sur {link}"
    codes: list[str] = []
    for r in requests:
        text = head + ", ".join([*codes, r.code]) + tail
        if segments(text) > MOST_SEGMENTS or not is_gsm7(text):
            break
        codes.append(r.code)
    if not codes and requests:
        codes.append(requests[0].code)
    return head + ", ".join(codes) + tail
