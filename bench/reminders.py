"""Benchmark of treatment's reminder and escalation scan (issue 13) over 200,000 open requests.

    python -m bench.reminders [--requests 200000] [--bodies 11] [--explain] [--keep]

Treatment's schema alone (its migrations, in a database of the run's own): no broker, no other
process — the scan is treatment's clock (``services.treatment.reminders.sweep``) over its own
tables. Seeded in one ``INSERT … SELECT`` over ``generate_series``: ``--requests`` open requests
across ``--bodies`` bodies, validated over the last 120 days; 60 % in treatment (half of them
taken in charge), 10 % on hold, 10 % reopened (taken in charge), and 20 % more answered or closed
(which the scan must not read); each open one with its ``answer_due`` 84 days after its
validation (about 60 working days). The administrator's policy is the default (3, 20, 5, repeat
every 5 working days).

Then, at a fixed « now », it times:

1. the first pass, which finds every reminder and missed deadline due and writes them (row and
   outbox event each, in pages of 500 rows, each page one transaction);
2. the same pass again: nothing new to send, the scan alone (what every tick costs);
3. two copies sweeping at once, a day later (the day's new reminders), checking that each
   reminder and escalation exists once.

It prints seconds per pass, reminders and escalations written, and with ``--explain`` the plans
(EXPLAIN ANALYZE) of the scans' first pages. Not a test: nothing here is collected by pytest.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg

from bench.harness import DEFAULT_DATABASE_URL, create_database, drop_database, say, with_database
from services.treatment import reminders
from services.treatment.app import SQL_DIR
from shared.db import create_pool
from shared.lifecycle import Status
from shared.migrations import migrate

NOW = datetime(2026, 6, 15, 9, tzinfo=UTC)

SEED = """
INSERT INTO treatments (request_id, code, nature, body_id, body_name, message, submitted_at,
                        validated_at, status, assignee_id, assignee_login, answer_due)
SELECT gen_random_uuid(), lpad(i::text, 10, '0'),
       CASE WHEN i % 3 = 0 THEN 'demande_information' ELSE 'reclamation' END,
       'body-' || (i % $2), 'Organisme ' || (i % $2), 'Requête ' || i,
       $3::timestamptz - make_interval(days => 122 - (i % 120)),
       $3::timestamptz - make_interval(days => 120 - (i % 120), mins => i % 600),
       s.status,
       CASE WHEN s.taken THEN 'agent-' || (i % $2) END,
       CASE WHEN s.taken THEN 'pf.' || (i % $2) END,
       CASE WHEN s.open THEN ($3::timestamptz
            - make_interval(days => 120 - (i % 120)))::date + 84 END
FROM generate_series(1, $1) AS i,
LATERAL (SELECT CASE WHEN i % 20 < 6 THEN $4 WHEN i % 20 < 12 THEN $4 WHEN i % 20 < 14 THEN $5
                     WHEN i % 20 < 16 THEN $6 WHEN i % 20 < 18 THEN $7 ELSE $8 END AS status,
                i % 20 BETWEEN 6 AND 11 OR i % 20 BETWEEN 14 AND 15 AS taken,
                i % 20 < 16 AS open) s
"""


async def seed(pool: asyncpg.Pool, requests: int, bodies: int) -> None:
    # Open requests are 16 in 20 rows: seed enough rows for ``requests`` of them.
    rows = requests * 20 // 16
    await pool.execute(
        SEED,
        rows,
        bodies,
        NOW,
        Status.IN_TREATMENT.value,
        Status.ON_HOLD.value,
        Status.REOPENED.value,
        Status.TREATED.value,
        Status.CLOSED.value,
        timeout=600,
    )
    await pool.execute("ANALYZE treatments")


async def counts(pool: asyncpg.Pool) -> tuple[int, int]:
    return (
        await pool.fetchval("SELECT count(*) FROM reminders"),
        await pool.fetchval("SELECT count(*) FROM missed_deadlines"),
    )


async def timed(label: str, work) -> float:
    start = time.perf_counter()
    await work
    seconds = time.perf_counter() - start
    say(f"{label}: {seconds:.2f} s")
    return seconds


async def explain(pool: asyncpg.Pool) -> None:
    today = NOW.date()
    queries = {
        "escalation": f"""SELECT request_id FROM treatments t
            WHERE status IN ('{Status.IN_TREATMENT.value}', '{Status.REOPENED.value}')
              AND answer_due IS NOT NULL AND answer_due < $1
              AND (answer_due, request_id) > ('0001-01-01'::date, $2::uuid)
              AND (SELECT true FROM missed_deadlines m
                   WHERE m.request_id = t.request_id AND m.answer_due = t.answer_due) IS NULL
            ORDER BY answer_due, request_id LIMIT 500""",
        "not taken": f"""SELECT request_id FROM treatments t
            WHERE status = '{Status.IN_TREATMENT.value}' AND assignee_id IS NULL
              AND validated_at < $1::date
              AND (validated_at, request_id) > ('-infinity'::timestamptz, $2::uuid)
              AND NOT coalesce((SELECT max(r.sent_at) FROM reminders r
                                WHERE r.request_id = t.request_id AND r.kind = 'not_taken')
                               >= '2026-06-10', false)
            ORDER BY validated_at, request_id LIMIT 500""",
    }
    for name, sql in queries.items():
        plan = await pool.fetch("EXPLAIN (ANALYZE, BUFFERS) " + sql, today, uuid.UUID(int=0))
        say(f"-- {name}")
        for row in plan:
            say("   " + row[0])


async def run(args: argparse.Namespace) -> int:
    admin_url = with_database(os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL), "postgres")
    name = f"milie_bench_{uuid.uuid4().hex[:8]}"
    await create_database(admin_url, name)
    url = with_database(admin_url, name)
    try:
        conn = await asyncpg.connect(url)
        try:
            await migrate(conn, "treatment", SQL_DIR)
        finally:
            await conn.close()
        one = await create_pool(url, "treatment", min_size=1, max_size=4, command_timeout=600)
        two = await create_pool(url, "treatment", min_size=1, max_size=4, command_timeout=600)
        try:
            say(f"machine: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
            start = time.perf_counter()
            await seed(one, args.requests, args.bodies)
            open_rows = await one.fetchval(
                "SELECT count(*) FROM treatments WHERE status = ANY($1::text[])",
                [s.value for s in reminders.LATE_STATUSES],
            )
            total = await one.fetchval("SELECT count(*) FROM treatments")
            say(
                f"seeded {total} requests, {open_rows} open, in {time.perf_counter() - start:.1f} s"
            )
            if args.explain:
                await explain(one)

            first = await timed("pass 1 (everything due written)", reminders.sweep(one, NOW))
            sent, missed = await counts(one)
            say(
                f"   {sent} reminders, {missed} escalations: {(sent + missed) / first:.0f} a second"
            )
            await timed("pass 2 (nothing new: the scan alone)", reminders.sweep(one, NOW))
            assert await counts(one) == (sent, missed), "a second pass wrote again"
            later = NOW + timedelta(days=1)
            await timed(
                "pass 3 (two copies at once, a day later)",
                asyncio.gather(reminders.sweep(one, later), reminders.sweep(two, later)),
            )
            sent3, missed3 = await counts(one)
            say(f"   {sent3 - sent} reminders, {missed3 - missed} escalations more")
            twice = await one.fetchval("SELECT count(*) - count(DISTINCT (message_id)) FROM outbox")
            events = await one.fetchval("SELECT count(*) FROM outbox")
            assert events == sent3 + missed3 and twice == 0, "an event written twice"
            await timed(
                "pass 4 (two copies, nothing new)",
                asyncio.gather(reminders.sweep(one, later), reminders.sweep(two, later)),
            )
            if args.explain:
                await explain(one)
        finally:
            await one.close()
            await two.close()
    finally:
        if args.keep:
            say(f"kept database {name}")
        else:
            await drop_database(admin_url, name)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200_000, help="open requests")
    parser.add_argument("--bodies", type=int, default=11)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--keep", action="store_true")
    return asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
