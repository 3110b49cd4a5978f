"""The gateway's clock forgets the staff sessions nobody can use any more, the failed sign-ins
past their window and the first sign-in links long dead, without waiting for someone to sign in
(which forgets them too)."""

from __future__ import annotations

import os

import asyncpg

from shared.identity import Role
from tests.staff.helpers import create_account
from tests.support import eventually

PASSWORD = "le ménage des sessions"


async def test_the_clock_forgets_ended_sessions_old_failures_and_dead_links(
    gateway_alone, database_url
):
    account = await create_account(database_url, Role.ANALYST, "awa.kone", PASSWORD)
    conn = await asyncpg.connect(database_url, server_settings={"search_path": "gateway"})
    try:
        sessions = {name: os.urandom(32) for name in ("expired", "idle", "in_use")}
        await conn.executemany(
            """INSERT INTO staff_sessions (id_hash, account_id, last_seen_at, expires_at, address)
               VALUES ($1, $2, now() - make_interval(secs => $3),
                       now() + make_interval(secs => $4), '192.0.2.7')""",
            [
                (sessions["expired"], account.id, 60, -60),  # past its absolute end
                (sessions["idle"], account.id, 31 * 60, 3600),  # unused past the idle timeout
                (sessions["in_use"], account.id, 60, 3600),
            ],
        )
        await conn.executemany(
            """INSERT INTO sign_in_failures (scope, key, failures, last_failure_at, blocked_until)
               VALUES ('address', $1, 40, now() - make_interval(secs => $2),
                       now() + make_interval(secs => $3))""",
            [
                ("old", 2 * 3600, -3600),  # its window passed, no longer blocked
                ("recent", 60, -60),
                ("still-blocked", 2 * 3600, 3600),
            ],
        )
        # A link stops working when used, replaced or expired; a month later it is forgotten.
        links = {
            name: os.urandom(32) for name in ("used", "replaced", "expired", "recent", "valid")
        }
        await conn.executemany(
            """INSERT INTO first_sign_in_links
                   (token_hash, account_id, created_at, expires_at, used_at, replaced_at)
               VALUES ($1, $2, now() - make_interval(days => $3),
                       now() - make_interval(days => $3) + interval '48 hours',
                       now() - make_interval(days => $4), now() - make_interval(days => $5))""",
            [
                (links["used"], account.id, 40, 39, None),
                (links["replaced"], account.id, 40, None, 39),
                (links["expired"], account.id, 40, None, None),
                (links["recent"], account.id, 5, 4, None),  # used lately: « a déjà servi »
                (links["valid"], account.id, 0, None, None),
            ],
        )

        await gateway_alone(retention_sweep_seconds=0.1)

        async def forgotten() -> bool:
            hashes = {r[0] for r in await conn.fetch("SELECT id_hash FROM staff_sessions")}
            keys = {r[0] for r in await conn.fetch("SELECT key FROM sign_in_failures")}
            kept = {r[0] for r in await conn.fetch("SELECT token_hash FROM first_sign_in_links")}
            return (hashes, keys, kept) == (
                {sessions["in_use"]},
                {"recent", "still-blocked"},
                {links["recent"], links["valid"]},
            )

        await eventually(forgotten)
    finally:
        await conn.close()
