"""The ministries' systems' API keys: made and revoked by administrators (« Clés d'API »,
``gateway.backoffice.api_key_pages``), checked on every call of the ministry API.

A key reads ``milie_<id>_<secret>``: ``id`` (12 hex digits) finds the row and may be shown
anywhere (lists, the call log); ``secret`` is 32 random bytes, shown once at creation and kept
only as its SHA-256. A secret that random cannot be guessed from its digest, so a slow password
hash would only slow every call; comparing digests in SQL tells a timing observer nothing about
the secret. One statement per call checks the key and counts the call in the minute's window of
that key (``api_key_windows``, in PostgreSQL: every copy of the gateway shares it).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from shared import retention

PREFIX = "milie_"
KEY = re.compile(r"^milie_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
# Anywhere in a text (a query string): a key where it must never be.
KEY_ANYWHERE = re.compile(r"milie_[0-9a-f]{12}_")
LABEL_MAX = 120


@dataclass(frozen=True)
class ApiKey:
    id: str
    body_id: str
    label: str
    calls_per_minute: int
    created_at: datetime
    created_by: str
    revoked_at: datetime | None
    revoked_by: str | None
    last_used_at: datetime | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


def digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def new_key() -> tuple[str, str, bytes]:
    """(id, the whole key to show once, the digest to keep)."""
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return key_id, f"{PREFIX}{key_id}_{secret}", digest(secret)


def parse(presented: str) -> tuple[str, str] | None:
    """(id, secret) of a well-formed key, else None."""
    m = KEY.match(presented.strip())
    return (m[1], m[2]) if m else None


_COLUMNS = """k.id, k.body_id, k.label, k.calls_per_minute, k.created_at, k.created_by,
    k.revoked_at, k.revoked_by"""


async def create(
    conn: asyncpg.Connection, *, body_id: str, label: str, calls_per_minute: int, created_by: str
) -> tuple[ApiKey, str]:
    """A new key of ``body_id``: (its row, the whole key — the only time it is known)."""
    key_id, whole, kept = new_key()
    row = await conn.fetchrow(
        f"""INSERT INTO api_keys AS k (id, body_id, label, secret_hash, calls_per_minute,
                created_by)
            VALUES ($1, $2, $3, $4, $5, $6) RETURNING {_COLUMNS}""",  # noqa: S608 - constant
        key_id,
        body_id,
        label,
        kept,
        calls_per_minute,
        created_by,
    )
    return ApiKey(**dict(row)), whole


# How long a key just made waits, unread, for the page that shows it once.
SHOW_WITHIN_SECONDS = 600


async def keep_to_show(
    conn: asyncpg.Connection, session_hash: bytes, key_id: str, whole: str
) -> None:
    """Hold the whole key for the one page of this staff session that shows it (and forget
    keys nobody came to read)."""
    await conn.execute(
        "DELETE FROM api_keys_to_show WHERE created_at < now() - make_interval(secs => $1)",
        float(SHOW_WITHIN_SECONDS),
    )
    await conn.execute(
        """INSERT INTO api_keys_to_show (session_hash, key_id, whole_key) VALUES ($1, $2, $3)
           ON CONFLICT (session_hash) DO UPDATE
           SET key_id = EXCLUDED.key_id, whole_key = EXCLUDED.whole_key, created_at = now()""",
        session_hash,
        key_id,
        whole,
    )


async def take_to_show(conn: asyncpg.Connection, session_hash: bytes) -> tuple[str, str] | None:
    """(key id, whole key) held for this session, forgotten as it is read; None afterwards."""
    row = await conn.fetchrow(
        """DELETE FROM api_keys_to_show WHERE session_hash = $1
           RETURNING key_id, whole_key, created_at > now() - make_interval(secs => $2) AS fresh""",
        session_hash,
        float(SHOW_WITHIN_SECONDS),
    )
    return (row["key_id"], row["whole_key"]) if row and row["fresh"] else None


async def revoke(conn: asyncpg.Connection, key_id: str, *, by: str) -> ApiKey | None:
    """Revoke the key at once (the next call with it is refused); None when there is no such
    key or it was revoked already."""
    row = await conn.fetchrow(
        f"""UPDATE api_keys AS k SET revoked_at = now(), revoked_by = $2
            WHERE id = $1 AND revoked_at IS NULL RETURNING {_COLUMNS}""",  # noqa: S608
        key_id,
        by,
    )
    return ApiKey(**dict(row)) if row else None


async def one(conn: asyncpg.Connection, key_id: str) -> ApiKey | None:
    row = await conn.fetchrow(
        f"""SELECT {_COLUMNS}, (SELECT max(at) FROM api_calls c WHERE c.key_id = k.id)
                AS last_used_at
            FROM api_keys k WHERE k.id = $1""",  # noqa: S608 - constant
        key_id,
    )
    return ApiKey(**dict(row)) if row else None


# The list's sorts (« ?tri= »), each an ORDER BY of constant SQL; then the newest first.
SORTS = {
    "etat": "k.revoked_at IS NOT NULL",
    "creee": "k.created_at",
    "libelle": "lower(k.label)",
    "organisme": "k.body_id",
}


async def listing(
    conn: asyncpg.Connection,
    *,
    words: str = "",
    sort: str = "etat",
    descending: bool = False,
    limit: int = 25,
    offset: int = 0,
) -> tuple[int, list[ApiKey]]:
    """(how many keys match, one page of them with their last call): ``words`` found in the
    label, the body's identifier or the key's; sorted by ``sort`` (:data:`SORTS`). Keys are
    never deleted, so the list only grows: it is paged."""
    # Each word as typed: « % » and « _ » are not LIKE wildcards here (a backslash escapes them).
    escaped = words.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = [f"%{w}%" for w in escaped.split()]
    where = """WHERE NOT EXISTS (SELECT 1 FROM unnest($1::text[]) AS p(w)
                                 WHERE lower(k.label || ' ' || k.body_id || ' ' || k.id)
                                       NOT LIKE p.w)"""
    order = f"{SORTS.get(sort, SORTS['etat'])} {'DESC' if descending else 'ASC'}"
    total = await conn.fetchval(f"SELECT count(*) FROM api_keys k {where}", pattern)  # noqa: S608
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS}, (SELECT max(at) FROM api_calls c WHERE c.key_id = k.id)
                AS last_used_at
            FROM api_keys k {where}
            ORDER BY {order}, k.created_at DESC, k.id LIMIT $2 OFFSET $3""",  # noqa: S608
        pattern,
        limit,
        offset,
    )
    return total, [ApiKey(**dict(r)) for r in rows]


async def recent_calls(conn: asyncpg.Connection, key_id: str, limit: int = 50) -> list:
    return await conn.fetch(
        """SELECT at, method, operation, request_code, status, address FROM api_calls
           WHERE key_id = $1 ORDER BY at DESC, id DESC LIMIT $2""",
        key_id,
        limit,
    )


@dataclass(frozen=True)
class Verdict:
    """What a presented key is worth: ``key`` when it may call now; else ``refusal`` (missing,
    invalid, revoked, rate_limited) with ``retry_after`` seconds for the last."""

    key: ApiKey | None = None
    refusal: str | None = None
    retry_after: int = 0
    key_id: str | None = None  # the id named, even by a refused key (for the call log)


async def check(pool: asyncpg.Pool, presented: str | None, timeout: float = 10.0) -> Verdict:
    """Check ``presented`` and count the call against its key's limit, in one statement."""
    if not presented:
        return Verdict(refusal="missing_key")
    parsed = parse(presented)
    if parsed is None:
        return Verdict(refusal="invalid_key")
    key_id, secret = parsed
    async with pool.acquire(timeout=timeout) as conn:
        row = await conn.fetchrow(
            f"""WITH k AS (SELECT {_COLUMNS} FROM api_keys k WHERE id = $1 AND secret_hash = $2),
                w AS (INSERT INTO api_key_windows AS w (key_id, window_start, calls)
                      SELECT id, date_trunc('minute', now()), 1 FROM k WHERE revoked_at IS NULL
                      ON CONFLICT (key_id) DO UPDATE SET
                          calls = CASE WHEN w.window_start = EXCLUDED.window_start
                                       THEN w.calls + 1 ELSE 1 END,
                          window_start = EXCLUDED.window_start
                      RETURNING calls)
                SELECT k.*, (SELECT calls FROM w) AS calls,
                       ceil(extract(epoch FROM date_trunc('minute', now()) + interval '1 minute'
                           - now()))::int AS retry_after
                FROM k""",  # noqa: S608 - constant
            key_id,
            digest(secret),
        )
    if row is None:
        return Verdict(refusal="invalid_key", key_id=key_id)
    values = dict(row)
    calls, retry_after = values.pop("calls"), values.pop("retry_after")
    key = ApiKey(**values)
    if key.revoked:
        return Verdict(refusal="revoked_key", key_id=key_id)
    if calls > key.calls_per_minute:
        return Verdict(refusal="rate_limited", retry_after=max(1, retry_after), key_id=key_id)
    return Verdict(key=key, key_id=key_id)


async def record_call(
    pool: asyncpg.Pool,
    *,
    key_id: str | None,
    body_id: str | None,
    method: str,
    operation: str,
    request_code: str | None,
    status: int,
    address: str,
    timeout: float = 10.0,
) -> None:
    """One line of the call log (every call, accepted or refused)."""
    async with pool.acquire(timeout=timeout) as conn:
        await conn.execute(
            """INSERT INTO api_calls (key_id, body_id, method, operation, request_code, status,
                   address)
               VALUES ($1, $2, $3, $4, $5, $6, $7)""",
            key_id,
            body_id,
            method,
            operation[:100],
            # As the caller wrote it, less any NUL (PostgreSQL stores none).
            (request_code or None) and request_code.replace("\x00", "")[:40],
            status,
            address[:64],
        )


async def forget_old_calls(pool: asyncpg.Pool, kept_days: int, batch: int = retention.BATCH) -> int:
    """Remove the call log's lines older than ``kept_days`` days, in batches (a year's backlog
    goes without one long lock on the log, shared.retention); how many went."""
    return await retention.delete_in_batches(
        pool, "api_calls", "at < now() - make_interval(days => $1)", kept_days, batch=batch
    )
