"""What every service needs to apply ``request.personal_data_purged`` to its own copy.

- :func:`identifiers` and :func:`redact`: the staff's texts (an analyst's message, a body's
  answer) stay, since they are the staff's record of their own work, but the citizen's name,
  email and telephone written in them (« Bonjour Madame KOUASSI… ») are replaced by
  :data:`REDACTED` before the contact that names them is forgotten.
- :func:`purged_on`: what the back office's lists show where a purged request's message was.
- :func:`no_more_messages`: what a staff member is told who writes to the citizen of a purged
  request (refused: nobody to send it to, and it would name the citizen again).
- :func:`forget_sent_events`: the outbox keeps a sent event a week (shared/outbox.py), and an
  event may carry the contact and the message (request.submitted, request.validated…); the
  purge deletes the sent ones of the purged requests. An unsent one stays: its consumers still
  need it (a year after closure there is none).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from shared import french

REDACTED = "[supprimé]"

# Name parts shorter than this are not redacted alone (« N », « Da »): they would cut words.
_SHORTEST_PART = 3


def phone_forms(phone: str | None) -> list[str]:
    """The forms a stored number takes here: E.164 (``+2250707123456``), its digits
    (``2250707123456``, the SMS provider's), the national number (``0707123456``) and that
    number in pairs (``07 07 12 34 56``), as citizens and agents write it."""
    if not phone:
        return []
    digits = re.sub(r"\D", "", phone)
    forms = {phone, digits, "+" + digits}
    if len(digits) > 10:
        national = digits[-10:]
        forms |= {national, " ".join(national[i : i + 2] for i in range(0, 10, 2))}
    return sorted((f for f in forms if len(re.sub(r"\D", "", f)) >= 8), key=len, reverse=True)


def identifiers(contact: Mapping[str, Any] | None) -> list[str]:
    """What names the citizen in a text, longest first: the full name both ways, each part of
    it, the email and the telephone's forms."""
    if not contact:
        return []
    last = (contact.get("last_name") or "").strip()
    first = (contact.get("first_names") or "").strip()
    found = {f"{first} {last}".strip(), f"{last} {first}".strip()}
    found |= {p for p in re.split(r"[\s\-]+", f"{first} {last}") if len(p) >= _SHORTEST_PART}
    if contact.get("email"):
        found.add(contact["email"].strip())
    found |= set(phone_forms(contact.get("phone")))
    return sorted((f for f in found if f), key=len, reverse=True)


def redact(text: str | None, names: Iterable[str]) -> str | None:
    """``text`` with every occurrence of ``names`` (case ignored) replaced by :data:`REDACTED`;
    a name part only as a whole word."""
    if not text:
        return text
    for name in names:
        pattern = re.escape(name)
        if re.fullmatch(r"\w+", name):
            pattern = rf"\b{pattern}\b"
        text = re.sub(pattern, REDACTED, text, flags=re.IGNORECASE)
    return text


async def forget_sent_events(conn: asyncpg.Connection, request_ids: Iterable[UUID]) -> int:
    """Delete the sent outbox rows about ``request_ids``; how many."""
    done = await conn.execute(
        """DELETE FROM outbox
           WHERE sent_at IS NOT NULL AND body ->> 'request_id' = ANY($1::text[])""",
        [str(i) for i in request_ids],
    )
    return int(done.rsplit(" ", 1)[-1])


def redact_json(value: Any, names: Iterable[str]) -> Any:
    """:func:`redact` on every string of a JSON value (a history line's details)."""
    names = list(names)
    if isinstance(value, str):
        return redact(value, names)
    if isinstance(value, list):
        return [redact_json(v, names) for v in value]
    if isinstance(value, dict):
        return {k: redact_json(v, names) for k, v in value.items()}
    return value


def purged_on(purged_at: datetime | str) -> str:
    """What the back office's lists show in place of the message of a purged request."""
    return f"Données personnelles supprimées le {french.day(purged_at)}."


def no_more_messages(purged_at: datetime) -> str:
    """Why a staff member's message to the citizen is refused once the request is purged."""
    return (
        f"Les données personnelles de l'usager ont été supprimées le {french.day(purged_at)} : "
        "il ne peut plus recevoir de message au sujet de cette requête."
    )
