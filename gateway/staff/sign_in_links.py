"""First sign-in links: how a new agent (or one an administrator sent a new link to) chooses a
password, instead of a password passed by hand.

The token is 32 random bytes (``secrets``) in the link; the table keeps only its SHA-256, so a
copy of it opens nothing, and the token is never logged. A link is valid ``LIFETIME`` (48 h) and
once; issuing a new one replaces the account's earlier ones. ``now`` is passed in where it
matters so that tests age a link without waiting.

A link that stopped working (used, replaced or expired) is kept ``KEPT_AFTER_END`` (30 days), so
that an agent opening an old email still reads « Ce lien a expiré » or « a déjà servi » rather
than « n'est pas valable »; then :func:`forget_dead` removes it (the gateway's clock and each
sign-in call it): nothing keeps a link's row for ever.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

LIFETIME = timedelta(hours=48)
KEPT_AFTER_END = timedelta(days=30)
PATH = "/admin/premiere-connexion/"


class State(enum.Enum):
    VALID = "valid"
    EXPIRED = "expired"
    USED = "used"  # used, or replaced by a newer link
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Look:
    state: State
    account_id: uuid.UUID | None = None


_LOOK = (
    "SELECT account_id, expires_at, used_at, replaced_at FROM first_sign_in_links "
    "WHERE token_hash = $1"
)
_LOOK_FOR_UPDATE = _LOOK + " FOR UPDATE"


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def link(public_url: str, token: str) -> str:
    return public_url.rstrip("/") + PATH + token


def plausible(token: str) -> bool:
    """A token as :func:`issue` makes them (43 URL-safe characters), before any look-up."""
    return 20 <= len(token) <= 100 and all(c.isalnum() or c in "-_" for c in token)


async def issue(
    conn: asyncpg.Connection, account_id: uuid.UUID, now: datetime | None = None
) -> str:
    """A new link's token for the account (returned once, never stored); earlier unused links
    of the account stop working."""
    now = now or datetime.now(UTC)
    await conn.execute(
        """UPDATE first_sign_in_links SET replaced_at = $2
           WHERE account_id = $1 AND used_at IS NULL AND replaced_at IS NULL""",
        account_id,
        now,
    )
    token = secrets.token_urlsafe(32)
    await conn.execute(
        """INSERT INTO first_sign_in_links (token_hash, account_id, created_at, expires_at)
           VALUES ($1, $2, $3, $4)""",
        _hash(token),
        account_id,
        now,
        now + LIFETIME,
    )
    return token


async def look(
    conn: asyncpg.Connection, token: str, now: datetime | None = None, *, lock: bool = False
) -> Look:
    """What the link is worth now; ``lock``: hold its row for this transaction (using it)."""
    if not plausible(token):
        return Look(State.UNKNOWN)
    query = _LOOK_FOR_UPDATE if lock else _LOOK
    row = await conn.fetchrow(query, _hash(token))
    if row is None:
        return Look(State.UNKNOWN)
    if row["used_at"] is not None or row["replaced_at"] is not None:
        return Look(State.USED, row["account_id"])
    if (now or datetime.now(UTC)) >= row["expires_at"]:
        return Look(State.EXPIRED, row["account_id"])
    return Look(State.VALID, row["account_id"])


async def mark_used(conn: asyncpg.Connection, token: str, now: datetime | None = None) -> None:
    await conn.execute(
        "UPDATE first_sign_in_links SET used_at = $2 WHERE token_hash = $1",
        _hash(token),
        now or datetime.now(UTC),
    )


async def forget_dead(conn: asyncpg.Connection) -> None:
    """Remove the links that stopped working more than ``KEPT_AFTER_END`` ago (one row per link
    ever sent: a small table, read whole)."""
    # least() skips NULLs: the link ended at its use, its replacement or its expiry, the first.
    await conn.execute(
        """DELETE FROM first_sign_in_links
           WHERE least(used_at, replaced_at, expires_at) < now() - $1::interval""",
        KEPT_AFTER_END,
    )
