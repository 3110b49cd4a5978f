"""Attempt counters in PostgreSQL, so that every copy of intake (behind every copy of the
gateway) counts the same attempts.

Fixed windows opened by a bucket's first attempt: an attempt adds one to each of its buckets
(per code, per email, per client address…), in one statement, and is refused when any bucket
went over its limit; the answer says when that bucket's window ends. Bucket names are hashes:
the table holds no email address nor client address. Expired rows are removed now and then by
whichever copy passes by.

A limit on failures only (a tracking look-up's code and email: the right pair must never be
locked out by someone else's wrong guesses) counts the attempt beforehand like any other — so
parallel attempts each take their place and cannot all pass together — and :func:`refund`
gives the place back once the attempt succeeded.
"""

from __future__ import annotations

import hashlib
import ipaddress
import time
from dataclasses import dataclass

import asyncpg

# How often one process removes the expired counters.
CLEANUP_EVERY_SECONDS = 60.0
_last_cleanup = 0.0


@dataclass(frozen=True)
class Rule:
    """At most ``limit`` attempts per ``window_seconds`` for one key of one kind."""

    kind: str  # e.g. "lookup:code"
    limit: int
    window_seconds: int


def bucket(rule: Rule, key: str) -> str:
    digest = hashlib.sha256(f"{rule.kind}\x00{key}".encode()).hexdigest()[:32]
    return f"{rule.kind}:{digest}"


def client_key(address: str | None) -> str:
    """The key of a client address: an IPv6 client is counted by its /64 (one subscriber gets a
    whole /64 and could walk through it); anything unreadable counts as one unknown client."""
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return "unknown"
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


_HIT = """
    WITH attempt AS (
        SELECT bucket, max_hits, make_interval(secs => window_s) AS span, watched
        FROM unnest($1::text[], $2::int[], $3::int[], $4::bool[])
             AS a(bucket, max_hits, window_s, watched)
        -- One order for every statement, so that two attempts sharing buckets never deadlock.
        ORDER BY bucket
    ), counted AS (
        INSERT INTO throttle_hits AS h (bucket, expires_at, hits)
        SELECT bucket, now() + span, 1 FROM attempt
        ON CONFLICT (bucket) DO UPDATE SET
            -- A window that ended starts again with this attempt.
            hits = CASE WHEN h.expires_at <= now() THEN 1 ELSE h.hits + 1 END,
            expires_at = CASE WHEN h.expires_at <= now() THEN EXCLUDED.expires_at
                              ELSE h.expires_at END
        RETURNING h.bucket, h.expires_at, h.hits
    )
    SELECT (max(ceil(extract(epoch FROM c.expires_at - now())))
                FILTER (WHERE NOT a.watched))::int AS retry_after,
           coalesce(bool_or(a.watched), false) AS watched_over
    FROM counted c JOIN attempt a USING (bucket)
    WHERE c.hits > a.max_hits"""


async def hit(conn: asyncpg.Connection, attempts: list[tuple[Rule, str]]) -> int | None:
    """Count one attempt against each ``(rule, key)``; None when every limit holds, otherwise
    the seconds until the attempt may be made again (at least 1)."""
    retry_after, _ = await hit_watching(conn, attempts, [])
    return retry_after


async def hit_watching(
    conn: asyncpg.Connection, attempts: list[tuple[Rule, str]], watched: list[tuple[Rule, str]]
) -> tuple[int | None, bool]:
    """:func:`hit` for ``attempts``, and ``watched`` counted in the same statement without
    refusing: (the seconds to wait or None, whether a watched count went over its limit)."""
    global _last_cleanup
    rules = [(bucket(rule, key), rule, False) for rule, key in attempts]
    rules += [(bucket(rule, key), rule, True) for rule, key in watched]
    row = await conn.fetchrow(
        _HIT,
        [b for b, _, _ in rules],
        [r.limit for _, r, _ in rules],
        [r.window_seconds for _, r, _ in rules],
        [w for _, _, w in rules],
    )
    now = time.monotonic()
    if now - _last_cleanup > CLEANUP_EVERY_SECONDS:
        _last_cleanup = now
        await conn.execute("DELETE FROM throttle_hits WHERE expires_at < now()")
    retry_after = row["retry_after"]
    return (None if retry_after is None else max(1, retry_after)), row["watched_over"]


_REFUND = """
    UPDATE throttle_hits SET hits = greatest(hits - 1, 0)
    WHERE bucket = ANY($1::text[]) AND expires_at > now()"""


async def refund(conn: asyncpg.Connection, attempts: list[tuple[Rule, str]]) -> None:
    """Take back one attempt counted by :func:`hit` (it succeeded: only failures count)."""
    await conn.execute(_REFUND, sorted(bucket(rule, key) for rule, key in attempts))
