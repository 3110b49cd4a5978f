"""Benchmark of the purge of personal data (issue 13): requests purged per second.

    python -m bench.purge [--requests 20000] [--open 20000] [--batch 100] [--consumer-batch 16]
                          [--keep]

On a database of its own (``bench.harness.bench_run``), with the four schemas migrated as the
services migrate them (no process, no broker: what is measured is the database work), it seeds
straight into the schemas with ``INSERT … SELECT`` over ``generate_series``:

- intake: ``--requests`` requests closed 400 days ago (rejected, acknowledged, closed), each with
  its contact, a 2 Kio attachment, its tracking row, four history lines, a citizen's reply and
  two sent outbox rows (request.submitted, citizen.opinion_recorded, as the relay leaves them for
  a week); and ``--open`` requests still open or closed yesterday, which the purge must leave;
- triage: each request's queue row (message, contact, attachments) and two history lines;
- treatment: the body's copy (message, contact, analyst's message), four history lines, an
  answer that names the citizen, an opinion with a comment;
- notify: the recipient and three deliveries with their bodies.

Then it runs intake's purge clock once (``services.intake.purge.sweep``, ``--batch`` requests per
transaction) and times it; then hands the events it wrote in intake's outbox to the handlers of
triage, treatment and notify as their consumers apply them (``--consumer-batch`` messages per
transaction, the inbox claimed first), timing each service. It prints the requests purged per
second in each, and checks the result: every due request purged once, with one event, none of
the others touched, and no contact, message or recipient left for the purged ones.
Not a test: nothing here is collected by pytest.
"""

from __future__ import annotations

import argparse
import os
import platform as host
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from bench.harness import bench_run, main_of, say
from services.intake import purge as intake_purge
from services.intake.catalogue import files as catalogue
from services.intake.settings import IntakeSettings
from services.notify import purge as notify_purge
from services.treatment import purge as treatment_purge
from services.triage import purge as triage_purge
from shared import inbox
from shared.consumer import Delivery
from shared.db import create_pool
from shared.messages import RequestPersonalDataPurgedV1
from shared.migrations import migrate

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = {
    "intake": ROOT / "services" / "intake" / "sql",
    "triage": ROOT / "services" / "triage" / "sql",
    "treatment": ROOT / "services" / "treatment" / "sql",
    "notify": ROOT / "services" / "notify" / "sql",
}
HANDLERS = {
    "triage": triage_purge.on_personal_data_purged,
    "treatment": treatment_purge.on_personal_data_purged,
    "notify": notify_purge.on_personal_data_purged,
}

# Rows 1..due are closed 400 days ago; due+1..due+open are open, or closed yesterday.
_SEED_INTAKE = """
    WITH n AS (
        SELECT i, (i > $1::int) AS kept FROM generate_series(1, $1::int + $2::int) AS i
    ), r AS (
        INSERT INTO requests (id, code, nature, body_id, channel, message, status,
                              submitted_at, updated_at, closed_at)
        SELECT md5('r' || i)::uuid, lpad(i::text, 10, '0'), 'reclamation', 'ministere-budget',
               'web', 'Les lampadaires de la rue ' || i || ' clignotent toute la nuit.',
               CASE WHEN kept AND i % 2 = 0 THEN 'submitted'
                    ELSE (ARRAY['rejected', 'acknowledged', 'closed'])[1 + i % 3] END,
               now() - interval '420 days', now(),
               CASE WHEN kept AND i % 2 = 0 THEN NULL
                    WHEN kept THEN now() - interval '1 day'
                    ELSE now() - interval '400 days' END
        FROM n RETURNING id
    )
    SELECT count(*) FROM r"""

_SEED_INTAKE_REST = [
    """INSERT INTO contacts (request_id, last_name, first_names, country, phone, email, email_key)
       SELECT md5('r' || i)::uuid, 'KOUASSI' || i, 'Aya', 'CI', '+22507' || lpad(i::text, 8, '0'),
              'aya' || i || '@example.ci', 'aya' || i || '@example.ci'
       FROM generate_series(1, $1::int) AS i""",
    """INSERT INTO attachments (id, request_id, filename, content_type, size, data)
       SELECT md5('a' || i)::uuid, md5('r' || i)::uuid, 'photo-' || i || '.png', 'image/png',
              2048, decode(repeat('89', 2048), 'hex')
       FROM generate_series(1, $1::int) AS i""",
    """INSERT INTO request_tracking (request_id, status_at, ministry_message, analyst_answer)
       SELECT md5('r' || i)::uuid, now() - interval '400 days',
              'Bonjour Aya KOUASSI' || i || ', voici notre réponse.', NULL
       FROM generate_series(1, $1::int) AS i""",
    """INSERT INTO request_history (request_id, occurred_at, event_type, status, message, detail,
                                    event_key)
       SELECT md5('r' || i)::uuid, now() - interval '400 days' + k * interval '1 hour',
              'request.submitted', 'submitted', 'Vous avez soumis la requête.',
              CASE WHEN k = 3 THEN 'Bonjour Aya KOUASSI' || i END, i || '-' || k
       FROM generate_series(1, $1::int) AS i, generate_series(1, 4) AS k""",
    """INSERT INTO citizen_replies (id, request_id, kind, opinion, comment, answer_at, recorded_at)
       SELECT md5('c' || i)::uuid, md5('r' || i)::uuid, 'opinion', 'not_satisfied',
              'Toujours pas réparé, rue ' || i, now() - interval '401 days',
              now() - interval '400 days'
       FROM generate_series(1, $1::int) AS i""",
    """INSERT INTO outbox (message_id, exchange, routing_key, message_type, body, created_at,
                           sent_at)
       SELECT gen_random_uuid(), 'milie.events', 'request.submitted', 'request.submitted.v1',
              jsonb_build_object('request_id', md5('r' || i)::uuid, 'contact',
                                 jsonb_build_object('email', 'aya' || i || '@example.ci')),
              now(), now()
       FROM generate_series(1, $1::int) AS i, generate_series(1, 2) AS k""",
]

_SEED_TRIAGE = [
    """INSERT INTO queue_items (request_id, code, nature, body_id, body_name, channel, message,
                               contact, attachments, submitted_at, queued_at, status,
                               admissibility_deadline)
       SELECT md5('r' || i)::uuid, lpad(i::text, 10, '0'), 'reclamation', 'ministere-budget',
              'Budget', 'web', 'Les lampadaires de la rue ' || i || ' clignotent.',
              jsonb_build_object('last_name', 'KOUASSI' || i, 'first_names', 'Aya',
                                 'email', 'aya' || i || '@example.ci'),
              '[{"filename": "photo.png"}]', now() - interval '420 days',
              now() - interval '420 days', 'validated', now() - interval '400 days'
       FROM generate_series(1, $1::int) AS i""",
    """INSERT INTO history (request_id, occurred_at, kind, message, message_id)
       SELECT md5('r' || i)::uuid, now() - interval '420 days',
              (ARRAY['submitted', 'validated'])[k],
              CASE WHEN k = 1 THEN 'Les lampadaires de la rue ' || i
                   ELSE 'Recevable, KOUASSI' || i END,
              gen_random_uuid()
       FROM generate_series(1, $1::int) AS i, generate_series(1, 2) AS k""",
]

_SEED_TREATMENT = [
    """INSERT INTO treatments (request_id, code, nature, body_id, body_name, message,
                              analyst_message, submitted_at, validated_at, status, treated_at,
                              opinion, closed_at, contact)
       SELECT md5('r' || i)::uuid, lpad(i::text, 10, '0'), 'reclamation', 'ministere-budget',
              'Budget', 'Les lampadaires de la rue ' || i || ' clignotent.',
              'Recevable, KOUASSI' || i, now() - interval '420 days',
              now() - interval '419 days', 'closed', now() - interval '401 days',
              'not_satisfied', now() - interval '400 days',
              jsonb_build_object('last_name', 'KOUASSI' || i, 'first_names', 'Aya',
                                 'email', 'aya' || i || '@example.ci',
                                 'phone', '+22507' || lpad(i::text, 8, '0'))
       FROM generate_series(1, $1::int) AS i""",
    """INSERT INTO history (request_id, occurred_at, kind, message, details, message_id)
       SELECT md5('r' || i)::uuid, now() - interval '419 days',
              (ARRAY['validated', 'assigned', 'treated', 'opinion_given'])[k],
              CASE k WHEN 3 THEN 'Bonjour Aya KOUASSI' || i WHEN 4 THEN 'Pas réparé' END,
              CASE WHEN k = 2 THEN jsonb_build_object('acknowledgement', jsonb_build_object(
                  'subject', 'Prise en compte', 'text', 'Bonjour Aya KOUASSI' || i))
                   ELSE '{}' END,
              gen_random_uuid()
       FROM generate_series(1, $1::int) AS i, generate_series(1, 4) AS k""",
    """INSERT INTO answers (id, request_id, kind, message, actor_id, answered_at)
       SELECT md5('an' || i)::uuid, md5('r' || i)::uuid, 'treated',
              'Bonjour Aya KOUASSI' || i || ', la rue est réparée.', 'pf', now()
       FROM generate_series(1, $1::int) AS i""",
    """INSERT INTO opinions (request_id, opinion, comment, given_at)
       SELECT md5('r' || i)::uuid, 'not_satisfied', 'Pas réparé rue ' || i, now()
       FROM generate_series(1, $1::int) AS i""",
]

_SEED_NOTIFY = [
    """INSERT INTO recipients (request_id, code, email, phone, last_name, first_names)
       SELECT md5('r' || i)::uuid, lpad(i::text, 10, '0'), 'aya' || i || '@example.ci',
              '+22507' || lpad(i::text, 8, '0'), 'KOUASSI' || i, 'Aya'
       FROM generate_series(1, $1::int) AS i""",
    """INSERT INTO deliveries (id, request_id, about_message_id, about_message_type, medium,
                              recipient, recipient_name, subject, body_text, body_html, status,
                              sent_at)
       SELECT gen_random_uuid(), md5('r' || i)::uuid, gen_random_uuid(), 'request.treated.v1',
              'email', 'aya' || i || '@example.ci', 'Aya KOUASSI' || i, 'Votre requête',
              repeat('Bonjour Aya KOUASSI' || i || '. ', 40), '<p>Bonjour</p>', 'sent', now()
       FROM generate_series(1, $1::int) AS i, generate_series(1, 3) AS k""",
]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000, help="requests due for purge")
    parser.add_argument("--open", type=int, default=20_000, help="requests it must leave")
    parser.add_argument("--batch", type=int, default=100, help="intake: requests per transaction")
    parser.add_argument("--consumer-batch", type=int, default=16, help="messages per transaction")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    return parser.parse_args(argv)


async def _seed(pools: dict[str, asyncpg.Pool], due: int, kept: int) -> float:
    started = time.perf_counter()
    async with pools["intake"].acquire() as conn:
        await catalogue.load(conn)
        await conn.fetchval(_SEED_INTAKE, due, kept)
        for sql in _SEED_INTAKE_REST:
            await conn.execute(sql, due + kept)
    for service, statements in (
        ("triage", _SEED_TRIAGE),
        ("treatment", _SEED_TREATMENT),
        ("notify", _SEED_NOTIFY),
    ):
        async with pools[service].acquire() as conn:
            for sql in statements:
                await conn.execute(sql, due)
    for pool in pools.values():
        async with pool.acquire() as conn:
            await conn.execute("ANALYZE")
    return time.perf_counter() - started


async def _apply(pool: asyncpg.Pool, service: str, events, batch: int) -> float:
    """The events applied as the service's consumer applies a batch: one transaction, the inbox
    claimed, then the run of purges in one call (``shared.consumer.Batched``). Seconds taken."""
    handler = HANDLERS[service]
    started = time.perf_counter()
    for start in range(0, len(events), batch):
        chunk = events[start : start + batch]
        async with pool.acquire() as conn, conn.transaction():
            new = await inbox.claim_many(conn, ((i, e.type_name()) for i, e in chunk))
            run = [
                (
                    event,
                    Delivery(
                        message_id=message_id,
                        message_type=event.type_name(),
                        routing_key=event.name,
                        correlation_id=None,
                        reply_to=None,
                    ),
                )
                for message_id, event in chunk
                if message_id in new
            ]
            await handler.apply(conn, run)
    return time.perf_counter() - started


async def run(args: argparse.Namespace) -> int:
    async with bench_run(keep=args.keep) as bench:
        say(f"machine: {os.cpu_count()} CPUs, Python {host.python_version()}")
        say(
            f"requests due: {args.requests}, left alone: {args.open}, intake batch: "
            f"{args.batch}, consumer batch: {args.consumer_batch}"
        )
        pools: dict[str, asyncpg.Pool] = {}
        try:
            for schema, folder in SCHEMAS.items():
                conn = await asyncpg.connect(bench.database_url)
                try:
                    await migrate(conn, schema, folder)
                finally:
                    await conn.close()
                pools[schema] = await create_pool(
                    bench.database_url, schema, min_size=1, max_size=2, command_timeout=600
                )
            seeded = await _seed(pools, args.requests, args.open)
            say(f"seeded in {seeded:.1f} s")

            settings = IntakeSettings(_env_file=None, purge_batch=args.batch)
            started = time.perf_counter()
            codes = await intake_purge.sweep(pools["intake"], settings, datetime.now(UTC))
            took = time.perf_counter() - started
            say(f"intake: {len(codes)} requests purged in {took:.2f} s, {len(codes) / took:.0f}/s")
            rows = await pools["intake"].fetch(
                "SELECT message_id, body::text AS body FROM outbox WHERE message_type = $1",
                RequestPersonalDataPurgedV1.type_name(),
            )
            events = [
                (r["message_id"], RequestPersonalDataPurgedV1.model_validate_json(r["body"]))
                for r in rows
            ]
            problems = []
            if len(codes) != args.requests or len(events) != args.requests:
                problems.append(f"{len(codes)} purged, {len(events)} events")
            left = await pools["intake"].fetchval(
                "SELECT count(*) FROM requests WHERE purged_at IS NOT NULL AND closed_at > "
                "now() - interval '2 days'"
            )
            if left:
                problems.append(f"{left} requests purged before their time")
            for service in HANDLERS:
                took = await _apply(pools[service], service, events, args.consumer_batch)
                say(
                    f"{service}: {len(events)} purges applied in {took:.2f} s, "
                    f"{len(events) / took:.0f}/s"
                )
            checks = {
                "intake": "SELECT count(*) FROM contacts c JOIN requests r ON r.id = c.request_id"
                " WHERE r.purged_at IS NOT NULL",
                "triage": "SELECT count(*) FROM queue_items WHERE message <> ''",
                "treatment": "SELECT count(*) FROM treatments WHERE contact <> '{}'",
                "notify": "SELECT count(*) FROM recipients",
            }
            for service, sql in checks.items():
                if count := await pools[service].fetchval(sql):
                    problems.append(f"{service}: {count} rows still personal")
            # A second sweep finds nothing.
            if await intake_purge.sweep(pools["intake"], settings, datetime.now(UTC)):
                problems.append("a second sweep purged again")
        finally:
            for pool in pools.values():
                await pool.close()
        for problem in problems:
            say(f"PROBLEM: {problem}")
        return 1 if problems else 0


main = main_of(parse_args, run)

if __name__ == "__main__":
    sys.exit(main())
