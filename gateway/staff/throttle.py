"""Slowing down password guessing without locking real staff out.

Three counters of failed sign-ins, each forgotten an hour after its last failure:
- per (login, address): after ``free_failures`` the pair must wait, 30 s doubling up to a cap;
- per address, over every login: the same with a larger allowance (one office behind one NAT);
- per login, from anywhere: never refused (an attacker could then lock an agent out from afar),
  but each try on that login is answered more slowly, up to a few seconds.
A right password from another address therefore always gets in. A try counts as a failure
before its password is checked and is taken back when it succeeds; success also clears the
(login, address) counter. The counting is one transaction holding the counters' rows: a hundred
guesses sent at once are counted one after the other, and those past the allowance are refused
without their password being checked, so parallel requests cannot slip past the limit. An IPv6
client is counted by its /64, the block a single subscriber gets.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime

import asyncpg

FIRST_WAIT_SECONDS = 30.0
FORGET_SECONDS = 3600.0


@dataclass(frozen=True)
class Policy:
    free_failures: int = 5
    max_wait_seconds: float = 15 * 60
    address_free_failures: int = 30
    account_slow_after: int = 10
    account_max_delay_seconds: float = 3.0


@dataclass(frozen=True)
class Verdict:
    blocked_until: datetime | None  # refuse without checking the password until then
    delay_seconds: float  # answer this much later (the login is being guessed at)


def counted_address(address: str) -> str:
    """The address as counted: an IPv6 address by its /64, any other as it is."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _keys(login: str, address: str) -> dict[str, str]:
    login = login.strip().lower()[:64]
    address = counted_address(address)
    return {"pair": f"{login}|{address}", "address": address, "login": login}


def wait_seconds(failures: int, free: int, cap: float) -> float:
    """The wait imposed after ``failures`` failures (pure: tested alone)."""
    if failures <= free:
        return 0.0
    return min(FIRST_WAIT_SECONDS * 2 ** min(failures - free - 1, 30), cap)


async def before_attempt(
    conn: asyncpg.Connection, login: str, address: str, policy: Policy
) -> Verdict:
    """Whether this try may go ahead; if so, it is counted as a failure until ``succeeded``."""
    keys = _keys(login, address)
    async with conn.transaction():
        # The three rows, created if need be, then locked in one order (no deadlock between
        # two tries): every try on this pair or address waits for the one before it.
        await conn.execute(
            """INSERT INTO sign_in_failures (scope, key, failures)
               VALUES ('pair', $1, 0), ('address', $2, 0), ('login', $3, 0)
               ON CONFLICT (scope, key) DO NOTHING""",
            keys["pair"],
            keys["address"],
            keys["login"],
        )
        rows = await conn.fetch(
            """SELECT scope, blocked_until FROM sign_in_failures
               WHERE (scope, key) IN (('address', $2), ('login', $3), ('pair', $1))
               ORDER BY scope, key FOR UPDATE""",
            keys["pair"],
            keys["address"],
            keys["login"],
        )
        blocked = max(
            (r["blocked_until"] for r in rows if r["blocked_until"] is not None), default=None
        )
        if blocked is not None and blocked > await conn.fetchval("SELECT now()"):
            return Verdict(blocked_until=blocked, delay_seconds=0.0)
        rows = await conn.fetch(
            """UPDATE sign_in_failures AS f SET
                   failures = CASE WHEN f.last_failure_at < now() - make_interval(secs => $4)
                                   THEN 1 ELSE f.failures + 1 END,
                   last_failure_at = now()
               WHERE (scope, key) IN (('pair', $1), ('address', $2), ('login', $3))
               RETURNING scope, failures""",
            keys["pair"],
            keys["address"],
            keys["login"],
            FORGET_SECONDS,
        )
        counts = {r["scope"]: r["failures"] for r in rows}
        for scope, free in (
            ("pair", policy.free_failures),
            ("address", policy.address_free_failures),
        ):
            wait = wait_seconds(counts[scope], free, policy.max_wait_seconds)
            if wait:
                # This try goes ahead; the next ones from here wait.
                await conn.execute(
                    """UPDATE sign_in_failures
                       SET blocked_until = now() + make_interval(secs => $3)
                       WHERE scope = $1 AND key = $2""",
                    scope,
                    keys[scope],
                    wait,
                )
    over = counts["login"] - policy.account_slow_after
    delay = min(0.25 * over, policy.account_max_delay_seconds) if over > 0 else 0.0
    return Verdict(blocked_until=None, delay_seconds=delay)


async def succeeded(conn: asyncpg.Connection, login: str, address: str, policy: Policy) -> None:
    """Take this try back, and clear the (login, address) counter."""
    keys = _keys(login, address)
    await conn.execute(
        "DELETE FROM sign_in_failures WHERE scope = 'pair' AND key = $1", keys["pair"]
    )
    await conn.execute(
        """UPDATE sign_in_failures SET failures = greatest(failures - 1, 0),
                  blocked_until = CASE WHEN failures - 1 <= $3 THEN NULL ELSE blocked_until END
           WHERE scope = $1 AND key = $2""",
        "address",
        keys["address"],
        policy.address_free_failures,
    )
    await conn.execute(
        """UPDATE sign_in_failures SET failures = greatest(failures - 1, 0)
           WHERE scope = 'login' AND key = $1""",
        keys["login"],
    )


async def purge_old(conn: asyncpg.Connection) -> None:
    await conn.execute(
        """DELETE FROM sign_in_failures
           WHERE last_failure_at < now() - make_interval(secs => $1)
             AND (blocked_until IS NULL OR blocked_until < now())""",
        FORGET_SECONDS,
    )


def minutes_until(moment: datetime, now: datetime) -> int:
    return max(1, math.ceil((moment - now).total_seconds() / 60))
