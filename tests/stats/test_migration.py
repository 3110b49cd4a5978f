"""stats' 0050 migration on counters that already hold closed requests: each one's ending (its
opinion, or « sans retour ») is counted under its body, nature and submission day."""

from __future__ import annotations

import shutil
import uuid
from datetime import date

import asyncpg

from services.stats.app import SQL_DIR
from shared.migrations import migrate

DAY = date(2026, 11, 10)


async def test_closures_counted_before_0050_are_carried_over(empty_database_url, tmp_path):
    for name in ("0001_init.sql", "0002_deliveries.sql", "0003_opinions.sql"):
        shutil.copy(SQL_DIR / name, tmp_path / name)
    conn = await asyncpg.connect(empty_database_url)
    try:
        await migrate(conn, "stats", tmp_path)
        facts = {
            "with-opinion": ("closed", "not_satisfied"),
            "silent": ("closed", None),
            "answered": ("treated", None),
        }
        ids = {name: uuid.uuid4() for name in facts}
        for name, (status, opinion) in facts.items():
            await conn.execute(
                """INSERT INTO stats.request_facts (request_id, body_id, body_name, nature,
                       theme_id, channel, status, submitted_on)
                   VALUES ($1, 'ministere-budget', 'Budget', 'reclamation', NULL, 'web', $2, $3)""",
                ids[name],
                status,
                DAY,
            )
            if opinion:
                await conn.execute(
                    """INSERT INTO stats.request_opinions (request_id, body_id, opinion, given_on)
                       VALUES ($1, 'ministere-budget', $2, $3)""",
                    ids[name],
                    opinion,
                    DAY,
                )
        applied = await migrate(conn, "stats", SQL_DIR)
        counted = await conn.fetch(
            "SELECT body_id, day, nature, outcome, count FROM stats.outcome_counts ORDER BY outcome"
        )
        outcomes = {
            r["request_id"]: r["outcome"]
            for r in await conn.fetch("SELECT request_id, outcome FROM stats.request_facts")
        }
    finally:
        await conn.close()
    assert applied[0] == "stats/0050_body_dashboard.sql"  # and what came after it
    assert [tuple(r) for r in counted] == [
        ("ministere-budget", DAY, "reclamation", "none", 1),
        ("ministere-budget", DAY, "reclamation", "not_satisfied", 1),
    ]
    assert outcomes == {
        ids["with-opinion"]: "not_satisfied",
        ids["silent"]: "none",
        ids["answered"]: None,
    }
