"""A whole number as a person types it in a form or a program writes it in an address: ASCII
digits, within bounds.

``str.isdigit`` says yes to « ² » and « ٣ », which ``int`` then refuses or reads, and ``int``
refuses a string of more than 4,300 digits (both a ValueError): ``raw.isdigit() and int(raw) <=
high`` answered 500 where a refusal of the value was meant. Every such check reads through
:func:`whole`."""

from __future__ import annotations

# More digits than any bound here needs (2**63 has 19); past them, too large whatever the bound.
MOST_DIGITS = 19


def whole(raw: object, low: int, high: int) -> int | None:
    """``raw`` (a string of ASCII digits) as an int from ``low`` to ``high``; None otherwise."""
    if not isinstance(raw, str) or not (raw.isascii() and raw.isdigit()):
        return None
    digits = raw.lstrip("0") or "0"  # « 000…07 » is 7, however many zeros
    if len(digits) > MOST_DIGITS:
        return None
    value = int(digits)
    return value if low <= value <= high else None
