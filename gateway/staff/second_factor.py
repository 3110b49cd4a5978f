"""The staff's second factor: TOTP codes from an authenticator application (RFC 6238, pyotp),
enrolled with a QR code at the first sign-in, and ten single-use recovery codes.

A session opened by the password is *pending* until a code is given in it
(``staff_sessions.second_factor_at``): the back office treats a pending session as no session and
sends the agent to « Double authentification » (``gateway.backoffice.second_factor_pages``).
A code is accepted within one time step either side (clocks of phones drift) and never twice:
the last step accepted is kept, so a code seen over a shoulder is worth nothing afterwards.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass

import asyncpg
import pyotp
import segno

ISSUER = "Miliê BackOffice"
RECOVERY_CODES = 10
MAX_FAILURES = 5  # wrong codes in one session before it is ended
STEP = 30


@dataclass(frozen=True)
class Factor:
    secret: str
    enrolled: bool
    last_step: int


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, login: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=login, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The QR code of ``uri`` as inline SVG (no image file, no third party), with its title."""
    return segno.make(uri, error="m").svg_inline(scale=4, title="QR code à scanner")


def grouped_secret(secret: str) -> str:
    """The secret in groups of four, for an agent who types it instead of scanning."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def accepted_step(secret: str, code: str, last_step: int, now: float | None = None) -> int | None:
    """The time step ``code`` belongs to (now, or one step either side), if it is newer than
    ``last_step``; None for a wrong, old or reused code."""
    code = "".join(ch for ch in code if ch.isdigit())
    if len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    step = int((now if now is not None else time.time()) // STEP)
    for candidate in (step, step - 1, step + 1):
        if candidate > last_step and secrets.compare_digest(totp.at(candidate * STEP), code):
            return candidate
    return None


def _recovery_hash(code: str) -> bytes:
    normal = "".join(ch for ch in code.lower() if ch.isalnum())
    return hashlib.sha256(normal.encode()).digest()


def new_recovery_codes() -> list[str]:
    """Ten codes like ``k7m2-9xqf-3hta``: 60 bits each, read aloud without ambiguity."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(alphabet) for _ in range(12))
        codes.append("-".join(raw[i : i + 4] for i in range(0, 12, 4)))
    return codes


def looks_like_recovery_code(text: str) -> bool:
    return len("".join(ch for ch in text if ch.isalnum())) == 12


async def factor_of(conn: asyncpg.Connection, account_id: uuid.UUID) -> Factor | None:
    row = await conn.fetchrow(
        "SELECT secret, enrolled_at, last_step FROM staff_second_factors WHERE account_id = $1",
        account_id,
    )
    if row is None:
        return None
    return Factor(row["secret"], row["enrolled_at"] is not None, row["last_step"])


async def pending_secret(conn: asyncpg.Connection, account_id: uuid.UUID) -> str:
    """The secret to enrol: the one shown before if the agent reloads the page, else a new one.
    An enrolled factor is never replaced here (only an administrator's reset removes it)."""
    secret = await conn.fetchval(
        """INSERT INTO staff_second_factors (account_id, secret) VALUES ($1, $2)
           ON CONFLICT (account_id) DO UPDATE SET secret = staff_second_factors.secret
           RETURNING secret""",
        account_id,
        new_secret(),
    )
    return secret


async def accept_code(
    conn: asyncpg.Connection, account_id: uuid.UUID, code: str, now: float | None = None
) -> bool:
    """Check a TOTP code under the row's lock; enrols the factor on its first good code."""
    row = await conn.fetchrow(
        "SELECT secret, last_step FROM staff_second_factors WHERE account_id = $1 FOR UPDATE",
        account_id,
    )
    if row is None:
        return False
    step = accepted_step(row["secret"], code, row["last_step"], now)
    if step is None:
        return False
    await conn.execute(
        """UPDATE staff_second_factors
           SET last_step = $2, enrolled_at = coalesce(enrolled_at, now())
           WHERE account_id = $1""",
        account_id,
        step,
    )
    return True


async def store_recovery_codes(
    conn: asyncpg.Connection, account_id: uuid.UUID, codes: list[str]
) -> None:
    await conn.execute("DELETE FROM staff_recovery_codes WHERE account_id = $1", account_id)
    await conn.executemany(
        "INSERT INTO staff_recovery_codes (account_id, code_hash) VALUES ($1, $2)",
        [(account_id, _recovery_hash(code)) for code in codes],
    )


async def use_recovery_code(conn: asyncpg.Connection, account_id: uuid.UUID, code: str) -> bool:
    """True once per code: the UPDATE marks it used, a second use finds nothing to mark."""
    used = await conn.fetchval(
        """UPDATE staff_recovery_codes SET used_at = now()
           WHERE account_id = $1 AND code_hash = $2 AND used_at IS NULL
           RETURNING 1""",
        account_id,
        _recovery_hash(code),
    )
    return used is not None


async def recovery_codes_left(conn: asyncpg.Connection, account_id: uuid.UUID) -> int:
    return await conn.fetchval(
        "SELECT count(*) FROM staff_recovery_codes WHERE account_id = $1 AND used_at IS NULL",
        account_id,
    )


async def reset(conn: asyncpg.Connection, account_id: uuid.UUID) -> bool:
    """Remove the factor and its recovery codes (the agent enrols again at the next sign-in);
    True when there was one."""
    await conn.execute("DELETE FROM staff_recovery_codes WHERE account_id = $1", account_id)
    result = await conn.execute(
        "DELETE FROM staff_second_factors WHERE account_id = $1", account_id
    )
    return result != "DELETE 0"
