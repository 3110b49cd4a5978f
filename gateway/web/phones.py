"""Ivorian telephone numbers as citizens dial them today: ten digits since 31 January 2021
(« 07 07 12 34 56 »), linked as ``tel:+2250707123456``.

The catalogue may still hold a number written the old way (eight digits, « 20 21 11 00 »):
ARTCI's rule of 2021 gives its ten-digit form — fixed lines (starting with 2 or 3) take « 27 »
(the historic operator's prefix, which the administration's lines have), mobiles take their
operator's prefix from their second digit (0–3 « 01 », 4–6 « 05 », 7–9 « 07 »).

Every telephone number the site shows, and every ``tel:`` link, is written by the templates'
filters (:data:`FILTERS`): ``{{ number | tel }}`` for the href, ``{{ number | telephone }}`` for
the text shown, and ``{% set ph = number | phone %}`` for both from one reading (``ph.href``,
``ph.shown``). Shown one way however it was stored (intake keeps ``+2250707123456``, a draft
« +225 07 07 12 3456 », the catalogue « 27 20 21 11 00 »): « +225 07 07 12 34 56 », the pairs
Ivorians write; a foreign number in its international form (« +33 6 12 34 56 78 »).
"""

from __future__ import annotations

import re
from typing import NamedTuple

import phonenumbers

from shared import codes

COUNTRY = "225"


class Phone(NamedTuple):
    shown: str  # « +225 27 20 21 11 00 », « +33 6 12 34 56 78 », or as written if unreadable
    href: str  # « tel:+2252720211100 »


def _ten_digits(eight: str) -> str:
    if eight[0] in "23":
        return "27" + eight
    return {"0": "01", "1": "01", "2": "01", "3": "01", "4": "05", "5": "05", "6": "05"}.get(
        eight[1], "07"
    ) + eight


def ivorian(raw: str) -> Phone:
    """``raw`` as shown and linked; a number that is not Ivorian keeps its own digits."""
    digits = re.sub(r"\D", "", raw)
    international = raw.strip().startswith("+") or digits.startswith("00")
    if international:
        digits = digits.removeprefix("00")
        if not digits.startswith(COUNTRY):
            return Phone(_foreign(raw.strip(), digits), "tel:+" + digits)
        digits = digits.removeprefix(COUNTRY)
    if len(digits) == 8:
        digits = _ten_digits(digits)
    number = phonenumbers.parse("+" + COUNTRY + digits, None) if digits else None
    if number is None or len(digits) != 10 or not phonenumbers.is_valid_number(number):
        return Phone(raw.strip(), "tel:" + ("+" if international else "") + digits)
    pairs = " ".join(digits[i : i + 2] for i in range(0, 10, 2))
    return Phone(f"+{COUNTRY} {pairs}", f"tel:+{COUNTRY}{digits}")


def _valid(digits: str) -> phonenumbers.PhoneNumber | None:
    """``+digits`` read by phonenumbers, None if unreadable or not a valid number."""
    try:
        number = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


def _foreign(raw: str, digits: str) -> str:
    """A number of another country in its international form, as written if unreadable."""
    number = _valid(digits)
    if number is None:
        return raw
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def tel(raw: str) -> str:
    """The ``tel:`` href of ``raw``: ``tel:+225`` and ten digits for an Ivorian number, a number
    already international kept as it is (its digits)."""
    return ivorian(raw).href


def telephone(raw: str) -> str:
    """``raw`` as shown (beside its link or alone): « +225 07 07 12 34 56 » for an Ivorian
    number, the international form of a foreign one."""
    return ivorian(raw).shown


def _national(raw: str) -> str | None:
    """The national significant number of ``raw`` (« 0707123456 » for an Ivorian mobile however
    written, « 612345678 » for +33 6 12 34 56 78), None if unreadable."""
    digits = re.sub(r"\D", "", raw)
    if raw.strip().startswith("+") or digits.startswith("00"):
        digits = digits.removeprefix("00")
        if digits.startswith(COUNTRY) and len(digits) == len(COUNTRY) + 8:
            digits = COUNTRY + _ten_digits(digits.removeprefix(COUNTRY))
    else:
        digits = COUNTRY + (_ten_digits(digits) if len(digits) == 8 else digits)
    number = _valid(digits)
    return phonenumbers.national_significant_number(number) if number else None


def masked_contact(value: str) -> str:
    """The address or mobile number a citizen tracks with, masked: « a***@example.ci »,
    « 07 ** ** ** 56 » (the national number's first two and last two digits, never the country
    code's: « +2250707123456 » is not « 22 … »)."""
    if "@" in value:
        return codes.masked_email(value)
    digits = _national(value) or re.sub(r"\D", "", value)
    return f"{digits[:2]} ** ** ** {digits[-2:]}" if len(digits) >= 6 else "***"


def contact_line(contact: dict) -> str:
    """A citizen's name, email and number on one line (« Aya KOUASSI / aya@… / +225 07 … »), as
    the back office's lists show them."""
    name = " ".join(p for p in (contact.get("first_names"), contact.get("last_name")) if p)
    phone = telephone(contact["phone"]) if contact.get("phone") else None
    return " / ".join(p for p in (name, contact.get("email"), phone) if p)


# The templates' filters (gateway/app.py installs them).
FILTERS = {"tel": tel, "telephone": telephone, "phone": ivorian, "contact_masque": masked_contact}
