"""triage's 0002 migration on a queue that already holds requests: they keep waiting, enter the
queue at their submission, get their history line and become searchable."""

from __future__ import annotations

import shutil
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest

from services.triage.app import SQL_DIR
from shared.codes import new_code
from shared.migrations import migrate


async def test_requests_queued_before_0002_are_carried_over(empty_database_url, tmp_path):
    shutil.copy(SQL_DIR / "0001_init.sql", tmp_path / "0001_init.sql")
    conn = await asyncpg.connect(empty_database_url)
    try:
        await migrate(conn, "triage", tmp_path)
        request_id, code, at = uuid.uuid4(), new_code(), datetime(2024, 3, 1, tzinfo=UTC)
        await conn.execute(
            """INSERT INTO triage.queue_items
                   (request_id, code, nature, body_id, body_name, channel, message, contact,
                    submitted_at, admissibility_deadline)
               VALUES ($1, $2, 'reclamation', 'ministere-budget', 'Budget', 'web',
                       'Le guichet est fermé depuis lundi.', '{}', $3::timestamptz,
                       $3::timestamptz + interval '15 days')""",
            request_id,
            code,
            at,
        )
        applied = await migrate(conn, "triage", SQL_DIR)
        row = await conn.fetchrow(
            "SELECT status, queued_at, version FROM triage.queue_items WHERE code = $1", code
        )
        line = await conn.fetchrow(
            "SELECT kind, occurred_at, message FROM triage.history WHERE request_id = $1",
            request_id,
        )
        found = await conn.fetchval(
            """SELECT count(*) FROM triage.queue_items
               WHERE search @@ websearch_to_tsquery('french', triage.fold('FERME guichets'))"""
        )
    finally:
        await conn.close()
    assert applied[0] == "triage/0002_decisions_history_search.sql"  # then the later ones
    assert (row["status"], row["queued_at"], row["version"]) == ("waiting", at, 1)
    assert (line["kind"], line["occurred_at"]) == ("submitted", at)
    assert line["message"] == "Le guichet est fermé depuis lundi."
    assert found == 1


async def test_twin_reasons_saved_before_0170_are_told_apart_the_oldest_kept(
    empty_database_url, tmp_path
):
    for path in SQL_DIR.glob("*.sql"):
        if path.name < "0170":
            shutil.copy(path, tmp_path / path.name)
    conn = await asyncpg.connect(empty_database_url)
    try:
        await migrate(conn, "triage", tmp_path)
        saved = [
            ("reject", "Hors sujet"),
            ("reject", "hors  SUJET"),
            ("reformulate", "Hors sujet"),  # another use: not a twin
            ("reject", "Doublon " + "d" * 112),  # 120 characters, with the seeds' « Doublon »
            ("reject", "doublon " + "d" * 112),
        ]
        ids = [
            await conn.fetchval(
                """INSERT INTO triage.reasons (kind, label, text) VALUES ($1, $2, 'Texte.')
                   RETURNING id""",
                kind,
                label,
            )
            for kind, label in saved
        ]
        applied = await migrate(conn, "triage", SQL_DIR)
        labels = {
            r["id"]: r["label"] for r in await conn.fetch("SELECT id, label FROM triage.reasons")
        }
        with pytest.raises(asyncpg.UniqueViolationError):
            await conn.execute(
                """INSERT INTO triage.reasons (kind, label, text)
                   VALUES ('reject', 'HORS SUJET', 'Texte.')"""
            )
    finally:
        await conn.close()
    assert applied[0] == "triage/0170_reasons_one_label.sql"
    assert [labels[i] for i in ids] == [
        "Hors sujet",
        f"hors  SUJET (doublon n° {ids[1]})",
        "Hors sujet",
        "Doublon " + "d" * 112,
        ("doublon " + "d" * 112)[: 120 - len(f" (doublon n° {ids[4]})")]
        + f" (doublon n° {ids[4]})",
    ]
    assert all(len(label) <= 120 for label in labels.values())
