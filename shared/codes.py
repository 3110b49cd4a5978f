"""Request codes: 10 digits, random, the last one a check digit (Damm's algorithm).

Damm's check digit catches every single mistyped digit and every swap of two adjacent digits, so
a mistyped code is refused before any look-up. Codes come from ``secrets``: never sequential.
"""

from __future__ import annotations

import secrets

# The order-10 quasigroup of H. Michael Damm (2004), weakly totally anti-symmetric.
_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)
LENGTH = 10


def check_digit(digits: str) -> str:
    interim = 0
    for ch in digits:
        interim = _DAMM[interim][int(ch)]
    return str(interim)


def new_code() -> str:
    """A fresh random code; its first digit is never 0 so it reads the same as a number."""
    body = str(secrets.randbelow(9 * 10 ** (LENGTH - 2)) + 10 ** (LENGTH - 2))
    return body + check_digit(body)


def normalize(typed: str) -> str:
    """What the citizen typed, without the spaces, dots and dashes people put in codes."""
    return "".join(ch for ch in typed if ch not in " .-\u00a0\t")


def is_well_formed(code: str) -> bool:
    """True for 10 digits whose check digit is right."""
    return len(code) == LENGTH and code.isascii() and code.isdigit() and check_digit(code) == "0"


def grouped(code: str) -> str:
    """« 503 052 9490 »: a code as people read it aloud and copy it (3, 3 and 4 digits); what is
    not a code is returned as it is. The form's field takes it back with its spaces."""
    code = normalize(str(code))
    if len(code) != LENGTH or not code.isdigit():
        return code
    return f"{code[:3]} {code[3:6]} {code[6:]}"


def masked_email(email: str) -> str:
    """« a***@example.ci »: the address a code was emailed to, recognisable by its owner without
    showing it whole to whoever looks at the screen. In lower case: the address as the citizen
    typed it to look the request up (« AYA@EXAMPLE.CI » finds it too) is not shouted back."""
    local, at, domain = email.strip().lower().partition("@")
    if not at or not local:
        return "***"
    return f"{local[0]}***@{domain}"
