"""A purge that fails half-way (issue 13, « Bad input »): nothing half-written, and it resumes.

- In a consuming service: triage's transaction fails after it emptied the queue row, before the
  history (a trigger injects a temporary failure, as a database going away would); the queue
  row still holds everything, the message is retried, never dead-lettered, and once the
  database answers again the purge is applied, whole.
- Only what was closed long enough ago is purged; an open request never.
- In intake: the sweep stops in its second batch (one request per batch); the first request is
  purged with its event, the second untouched and without event; the next sweep purges the
  second only, one event each.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from services.intake import purge
from services.intake.settings import SETTINGS
from shared import topology
from shared.service import POOL
from tests.purge.conftest import (
    LATER,
    applied_everywhere,
    closed,
    decide,
    pool_of,
    purge_events,
    quiet,
    submitted,
    sweep,
)
from tests.support import dead_letters, eventually

_FAIL_TRIAGE_HISTORY = """
    CREATE SEQUENCE triage.purge_failures;
    CREATE FUNCTION triage.fail_purge() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM nextval('triage.purge_failures');  -- not rolled back: counts the attempts
        RAISE EXCEPTION 'injected failure' USING ERRCODE = 'serialization_failure';
    END $$;
    CREATE TRIGGER fail_purge BEFORE UPDATE ON triage.history
        FOR EACH ROW EXECUTE FUNCTION triage.fail_purge();"""


async def _rejected(stack, email: str, name: str) -> tuple:
    request_id, code = await submitted(stack, email=email, last_name=name)
    await decide(stack, code, "reject", f"Hors du champ de Miliê, {name}.")
    await closed(stack, code)
    return request_id, code


async def test_a_service_whose_purge_fails_keeps_all_and_retries_until_done(
    stack, database_url, amqp_url, namespace
):
    request_id, code = await _rejected(stack, "moitie@example.ci", "TANOH")
    await quiet(stack)
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(_FAIL_TRIAGE_HISTORY)
        assert await sweep(stack) == [code]

        async def failed_twice():
            row = await conn.fetchrow("SELECT last_value, is_called FROM triage.purge_failures")
            return row["is_called"] and row["last_value"] >= 2

        await eventually(failed_twice, timeout=60)
        # Nothing half-written: the queue row emptied first was rolled back with the rest.
        row = await conn.fetchrow(
            "SELECT message, contact ->> 'email' AS email FROM triage.queue_items "
            "WHERE request_id = $1",
            request_id,
        )
        assert row["email"] == "moitie@example.ci" and row["message"]
        # The other services apply it meanwhile, each in its own transaction.
        [event_id] = await purge_events(stack, code)

        async def notify_applied():
            return await conn.fetchval(
                "SELECT true FROM notify.inbox WHERE message_id = $1::uuid", event_id
            )

        await eventually(notify_applied)
        assert not await conn.fetchval(
            "SELECT count(*) FROM notify.recipients WHERE request_id = $1", request_id
        )

        await conn.execute("DROP TRIGGER fail_purge ON triage.history")
        await applied_everywhere(stack, event_id)
        row = await conn.fetchrow(
            "SELECT message, contact::text AS contact FROM triage.queue_items "
            "WHERE request_id = $1",
            request_id,
        )
        assert (row["message"], row["contact"]) == ("", "{}")
        lines = await conn.fetch(
            "SELECT kind, message FROM triage.history WHERE request_id = $1 ORDER BY id",
            request_id,
        )
        assert [(line["kind"], line["message"]) for line in lines] == [
            ("submitted", None),
            ("rejected", "Hors du champ de Miliê, [supprimé]."),
        ]
    finally:
        await conn.close()
    queue = topology.Topology(namespace).dead_letter_queue("triage")
    assert await dead_letters(amqp_url, queue) == []


async def test_an_interrupted_purge_resumes_where_it_stopped(stack, database_url):
    first_id, first = await _rejected(stack, "premiere@example.ci", "ASSALE")
    second_id, second = await _rejected(stack, "seconde@example.ci", "BROU")
    await quiet(stack)
    app = stack.apps["intake"].app
    one_by_one = app[SETTINGS].model_copy(update={"purge_batch": 1})
    later = datetime.now(UTC) + LATER
    conn = await asyncpg.connect(database_url)
    try:
        # The second batch fails half-way: its contact cannot be deleted.
        await conn.execute(
            """CREATE FUNCTION intake.fail_purge() RETURNS trigger LANGUAGE plpgsql AS $$
               BEGIN
                   IF OLD.email = 'seconde@example.ci' THEN
                       RAISE EXCEPTION 'injected failure';
                   END IF;
                   RETURN OLD;
               END $$;
               CREATE TRIGGER fail_purge BEFORE DELETE ON intake.contacts
                   FOR EACH ROW EXECUTE FUNCTION intake.fail_purge();"""
        )
        with pytest.raises(asyncpg.RaiseError):
            await purge.sweep(app[POOL], one_by_one, later)
        rows = {
            r["code"].strip(): r
            for r in await conn.fetch(
                """SELECT r.code, r.purged_at, r.message, c.email FROM intake.requests r
                   LEFT JOIN intake.contacts c ON c.request_id = r.id
                   WHERE r.id = ANY($1::uuid[])""",
                [first_id, second_id],
            )
        }
        assert rows[first]["purged_at"] is not None and rows[first]["email"] is None
        # The second: untouched, and no event for it.
        assert rows[second]["purged_at"] is None
        assert rows[second]["email"] == "seconde@example.ci" and rows[second]["message"]
        assert await purge_events(stack, second) == []
        assert len(await purge_events(stack, first)) == 1

        await conn.execute("DROP TRIGGER fail_purge ON intake.contacts")
        assert await purge.sweep(app[POOL], one_by_one, later) == [second]
    finally:
        await conn.close()
    [first_event] = await purge_events(stack, first)
    [second_event] = await purge_events(stack, second)
    await applied_everywhere(stack, first_event)
    await applied_everywhere(stack, second_event)
    assert await sweep(stack) == []
    assert not await pool_of(stack, "intake").fetchval(
        "SELECT count(*) FROM contacts WHERE request_id = ANY($1::uuid[])", [first_id, second_id]
    )


async def test_only_requests_closed_long_enough_ago_are_purged(stack):
    """The delay runs from the closure whatever closed it (here a suggestion read and forwarded:
    « acknowledged »); a request still open, however old, is never purged."""
    _, read = await submitted(stack, email="suggestion@example.ci", nature="suggestion")
    await decide(stack, read, "validate", "Suggestion transmise.")
    await closed(stack, read)
    open_id, _ = await submitted(stack, email="ouverte@example.ci")
    intake = pool_of(stack, "intake")
    closed_at = await intake.fetchval("SELECT closed_at FROM requests WHERE code = $1", read)
    assert await sweep(stack, closed_at + LATER - timedelta(days=2)) == []
    assert await sweep(stack, closed_at + LATER + LATER) == [read]
    row = await intake.fetchrow(
        "SELECT purged_at, closed_at, message FROM requests WHERE id = $1", open_id
    )
    assert row["purged_at"] is None and row["closed_at"] is None and row["message"]


async def test_two_copies_sweeping_at_once_purge_each_request_once(stack, database_url):
    """Two copies of intake, each with its own pool, tick at the same moment: every request is
    purged by one of them, with one purge event."""
    rejected = [
        await _rejected(stack, f"copie-{n}@example.ci", name)
        for n, name in enumerate(("AKA", "BONI", "COULIBALY", "DIABATE"))
    ]
    await quiet(stack)
    app = stack.apps["intake"].app
    one_by_one = app[SETTINGS].model_copy(update={"purge_batch": 1})
    later = datetime.now(UTC) + LATER
    second_copy = await asyncpg.create_pool(
        database_url, min_size=1, max_size=2, server_settings={"search_path": "intake,public"}
    )
    try:
        results = await asyncio.gather(
            purge.sweep(app[POOL], one_by_one, later), purge.sweep(second_copy, one_by_one, later)
        )
    finally:
        await second_copy.close()
    purged = [code for codes in results for code in codes]
    assert sorted(purged) == sorted(code for _, code in rejected)
    for _, code in rejected:
        assert len(await purge_events(stack, code)) == 1
