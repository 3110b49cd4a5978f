"""Staff sessions, kept server-side in the gateway's schema.

The cookie carries 32 random bytes (``secrets``); the table keeps only their SHA-256, so reading
the table does not give a usable session. A session ends after ``idle`` seconds without a request
or ``absolute`` seconds after sign-in, at sign-out, and when its account is disabled or its
password reset (its rows are deleted: the next request finds nothing).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass

import asyncpg

from shared.identity import Identity, Role

COOKIE = "milie_staff"
# The back office lives under /admin: in development the browser sends the cookie nowhere else.
COOKIE_PATH = "/admin"
# Outside development and tests: a ``__Host-`` cookie, which the browser accepts only Secure,
# for the whole site and without Domain, so that no sub-domain and no plain-http page can set or
# shadow it (the prefix requires Path=/).
HOST_COOKIE = "__Host-milie_staff"


@dataclass(frozen=True)
class Staff:
    """The signed-in staff member, as ``request["staff"]`` holds it."""

    account_id: uuid.UUID
    login: str
    display_name: str
    role: Role
    body_id: str | None
    session_hash: bytes
    # The second factor was given in this session (gateway.staff.second_factor); until then the
    # back office treats the session as pending.
    second_factor_done: bool = True

    @property
    def identity(self) -> Identity:
        """Who is calling, for ``Services.call(..., identity=...)``."""
        return Identity(
            staff_id=str(self.account_id), role=self.role, body_id=self.body_id, login=self.login
        )


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def hash_of(token: str) -> bytes:
    """The session's id as kept (``Staff.session_hash``) for the cookie's ``token``."""
    return _hash(token)


def new_token() -> str:
    return secrets.token_urlsafe(32)


async def open_session(
    conn: asyncpg.Connection, account_id: uuid.UUID, address: str, absolute_seconds: float
) -> str:
    """A new session for the account; returns the cookie value (never stored as such)."""
    token = new_token()
    await conn.execute(
        """INSERT INTO staff_sessions (id_hash, account_id, expires_at, address)
           VALUES ($1, $2, now() + make_interval(secs => $3), $4)""",
        _hash(token),
        account_id,
        float(absolute_seconds),
        address,
    )
    return token


async def load(conn: asyncpg.Connection, token: str, idle_seconds: float) -> Staff | None:
    """The staff member behind a cookie, refreshing its idle clock; None when ended."""
    if not token or len(token) > 100:
        return None
    row = await conn.fetchrow(
        """WITH live AS (
               UPDATE staff_sessions SET last_seen_at = now()
               WHERE id_hash = $1 AND expires_at > now()
                 AND last_seen_at > now() - make_interval(secs => $2)
               RETURNING id_hash, account_id, second_factor_at)
           SELECT a.id, a.login, a.display_name, a.role, a.body_id, live.id_hash,
                  live.second_factor_at IS NOT NULL AS second_factor_done
           FROM live JOIN staff_accounts a ON a.id = live.account_id
           WHERE a.active""",
        _hash(token),
        float(idle_seconds),
    )
    if row is None:
        return None
    return Staff(
        account_id=row["id"],
        login=row["login"],
        display_name=row["display_name"],
        role=Role(row["role"]),
        body_id=row["body_id"],
        session_hash=row["id_hash"],
        second_factor_done=row["second_factor_done"],
    )


async def mark_second_factor(conn: asyncpg.Connection, session_hash: bytes) -> None:
    await conn.execute(
        "UPDATE staff_sessions SET second_factor_at = now() WHERE id_hash = $1", session_hash
    )


async def second_factor_failed(conn: asyncpg.Connection, session_hash: bytes) -> int:
    """Count a wrong code in this session; how many so far."""
    return (
        await conn.fetchval(
            """UPDATE staff_sessions SET second_factor_failures = second_factor_failures + 1
           WHERE id_hash = $1 RETURNING second_factor_failures""",
            session_hash,
        )
        or 0
    )


async def close(conn: asyncpg.Connection, token: str) -> None:
    await conn.execute("DELETE FROM staff_sessions WHERE id_hash = $1", _hash(token))


async def close_by_hash(conn: asyncpg.Connection, session_hash: bytes) -> None:
    await conn.execute("DELETE FROM staff_sessions WHERE id_hash = $1", session_hash)


async def close_all(conn: asyncpg.Connection, account_id: uuid.UUID) -> int:
    """End every session of an account at once; returns how many there were."""
    result = await conn.execute("DELETE FROM staff_sessions WHERE account_id = $1", account_id)
    return int(result.split()[-1])


async def purge_ended(conn: asyncpg.Connection, idle_seconds: float) -> None:
    """Forget sessions nobody can use any more (called now and then, at sign-in)."""
    await conn.execute(
        """DELETE FROM staff_sessions
           WHERE expires_at <= now() OR last_seen_at <= now() - make_interval(secs => $1)""",
        float(idle_seconds),
    )
