"""The test databases: every schema of the code base is in the template, migrated to the end."""

from __future__ import annotations

from pathlib import Path

import asyncpg

from shared.migrations import migrate, migration_files
from tests.databases import service_schemas

ROOT = Path(__file__).resolve().parents[2]


def test_every_folder_of_migrations_is_in_the_template():
    folders = {
        p.parent.resolve()
        for pattern in ("services/**/sql/*.sql", "gateway/**/sql/*.sql")
        for p in ROOT.glob(pattern)
        if p in migration_files(p.parent)
    }
    listed = {folder.resolve() for _, folder in service_schemas() if folder is not None}
    assert folders == listed


async def test_a_test_database_leaves_the_services_nothing_to_migrate(database_url):
    conn = await asyncpg.connect(database_url)
    try:
        applied = {schema: await migrate(conn, schema, f) for schema, f in service_schemas()}
    finally:
        await conn.close()
    assert applied == {schema: [] for schema, _ in service_schemas()}
