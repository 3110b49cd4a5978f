"""The changes feed's cursors as a ministry's system sees them: sealed.

Treatment's cursor is ``<transaction>-<history line id>``: a PostgreSQL transaction id and a
serial shared by every body's history, so a system that polls its own feed would read in them
how much every other body's requests move. The gateway hands out instead the pair encrypted
with a keyed permutation (a four-round Feistel network over the two 64-bit numbers, HMAC-SHA256
as its round function: only the standard library) and a tag, so that a cursor says nothing and
one made up or altered is refused rather than read as some other place in the feed.

The key comes from ``MILIE_IDENTITY_SECRET``: every copy of the gateway opens the others'
cursors; a new secret makes the old ones unknown (422 ``invalid_cursor``: start again without
``after``)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re

ROUNDS = 4
TAG_BYTES = 8
RAW = re.compile(r"^([0-9]{1,20})-([0-9]{1,20})$")
# What seal gives: 16 bytes and the tag, in base64url without padding.
PATTERN = r"^[A-Za-z0-9_-]{32}$"
_HALF = 2**64


def _keys(secret: bytes) -> tuple[bytes, bytes]:
    base = hmac.new(secret, b"milie ministry api cursors", hashlib.sha256).digest()
    return (
        hmac.new(base, b"permutation", hashlib.sha256).digest(),
        hmac.new(base, b"tag", hashlib.sha256).digest(),
    )


def _round(key: bytes, number: int, half: bytes) -> bytes:
    return hmac.new(key, bytes([number]) + half, hashlib.sha256).digest()[:8]


def _xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=True))


def seal(raw: str, secret: bytes) -> str:
    """Treatment's ``<transaction>-<id>`` as an opaque cursor."""
    m = RAW.match(raw)
    if m is None or int(m[1]) >= _HALF or int(m[2]) >= _HALF:
        raise ValueError(f"not a cursor of treatment: {raw!r}")
    permutation, tag = _keys(secret)
    left, right = int(m[1]).to_bytes(8, "big"), int(m[2]).to_bytes(8, "big")
    for number in range(ROUNDS):
        left, right = right, _xor(left, _round(permutation, number, right))
    sealed = left + right
    sealed += hmac.new(tag, sealed, hashlib.sha256).digest()[:TAG_BYTES]
    return base64.urlsafe_b64encode(sealed).decode().rstrip("=")


def unseal(cursor: str, secret: bytes) -> str | None:
    """Treatment's cursor behind an opaque one; None when it is not one the gateway made."""
    try:
        sealed = base64.urlsafe_b64decode(cursor.encode("ascii") + b"=" * (-len(cursor) % 4))
    except (UnicodeEncodeError, binascii.Error, ValueError):
        return None
    if len(sealed) != 16 + TAG_BYTES:
        return None
    permutation, tag = _keys(secret)
    body, given = sealed[:16], sealed[16:]
    if not hmac.compare_digest(given, hmac.new(tag, body, hashlib.sha256).digest()[:TAG_BYTES]):
        return None
    left, right = body[:8], body[8:]
    for number in reversed(range(ROUNDS)):
        left, right = _xor(right, _round(permutation, number, left)), left
    return f"{int.from_bytes(left, 'big')}-{int.from_bytes(right, 'big')}"
