"""Numbered plain-SQL migrations per service schema, applied at start under an advisory lock.

The shared migrations (outbox, inbox) are applied first in every schema, then the service's own
files ``NNNN_name.sql`` in order. Several copies of a service may start at once: the advisory lock
makes one apply and the others find the work done.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import asyncpg

log = logging.getLogger(__name__)
SHARED_SQL = Path(__file__).parent / "sql"
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def migration_files(folder: Path) -> list[Path]:
    files = sorted(p for p in folder.glob("*.sql") if _NAME.match(p.name))
    numbers = [p.name[:4] for p in files]
    if len(numbers) != len(set(numbers)):
        raise ValueError(f"two migrations share a number in {folder}")
    return files


async def migrate(conn: asyncpg.Connection, schema: str, folder: Path | None) -> list[str]:
    """Apply what is missing in ``schema``; returns the names applied now."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", schema):
        raise ValueError(f"bad schema name {schema!r}")
    applied_now: list[str] = []
    await conn.execute("SELECT pg_advisory_lock(hashtext('milie.migrate.' || $1))", schema)
    try:
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        await conn.execute(f"SET search_path TO {schema}, public")
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   name text PRIMARY KEY,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        done = {r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")}
        plan = [("shared", p) for p in migration_files(SHARED_SQL)]
        if folder is not None:
            plan += [(schema, p) for p in migration_files(folder)]
        for owner, path in plan:
            name = f"{owner}/{path.name}"
            if name in done:
                continue
            sql = path.read_text().replace("{schema}", schema)
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute("INSERT INTO schema_migrations (name) VALUES ($1)", name)
            log.info("migration applied", extra={"migration": name, "schema": schema})
            applied_now.append(name)
    finally:
        await conn.execute("SELECT pg_advisory_unlock(hashtext('milie.migrate.' || $1))", schema)
    return applied_now
