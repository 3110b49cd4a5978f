"""What a change of « Délais » costs treatment: every open request's answer deadline computed
again in the administrator's transaction, with a deadlines.answer_due_set event for each one
that moved (services/treatment/policy.py).

    .venv/bin/python -m bench.deadline_policy [--open 50000] [--bodies 40]

Creates a database ``milie_bench_delais_<hex>`` (dropped at the end), applies treatment's
migrations, fills ``treatments`` with ``--open`` requests awaiting their answer (réclamations and
demandes d'information, validated over the last year, across ``--bodies`` bodies) whose deadline
is computed once, then times three changes, one after the other, as the API runs them: the
answer deadline of the réclamations (half of them move), a body's own value (one body's move), a
day declared off (every deadline after it moves). Prints seconds per change and rows moved.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from services.treatment import policy
from shared.identity import Identity, Role
from shared.messages import DeadlineKind, Nature
from shared.migrations import migrate

SQL = Path(__file__).resolve().parents[1] / "services" / "treatment" / "sql"
ADMIN = Identity(staff_id="bench-admin", role=Role.ADMINISTRATOR, login="bench.admin")
FILL = """
INSERT INTO treatments (request_id, code, nature, body_id, body_name, message, submitted_at,
    validated_at, status, contact)
SELECT gen_random_uuid(), lpad(i::text, 10, '0'),
    (ARRAY['reclamation', 'demande_information'])[1 + i % 2],
    'body-' || (i % $2), 'Organisme ' || (i % $2), 'Message ' || i,
    now() - make_interval(mins => (i::bigint * 525600 / $1)::int),
    now() - make_interval(mins => (i::bigint * 525600 / $1)::int),
    'in_treatment', '{}'::jsonb
FROM generate_series(1, $1) AS i
"""


async def _timed(conn: asyncpg.Connection, label: str, work) -> None:
    start = time.perf_counter()
    async with conn.transaction():
        done = await work(conn)
    took = time.perf_counter() - start
    print(f"{label:52} {took:7.2f} s   {done['moved']:>7} moved")


async def main(open_requests: int, bodies: int) -> None:
    base = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    name = f"milie_bench_delais_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(base)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = base.rsplit("/", 1)[0] + "/" + name
        conn = await asyncpg.connect(url, server_settings={"search_path": "treatment,public"})
        try:
            await conn.execute("CREATE SCHEMA treatment")
            await migrate(conn, "treatment", SQL)
            await conn.execute("SET search_path TO treatment, public")
            start = time.perf_counter()
            await conn.execute(FILL, open_requests, bodies)
            await conn.execute("VACUUM ANALYZE treatments")
            print(f"{open_requests} open requests, {bodies} bodies, filled in "
                  f"{time.perf_counter() - start:.1f} s")  # fmt: skip
            await _timed(
                conn,
                "first computation (every deadline set)",
                lambda c: policy.set_rule(
                    c, ADMIN, "bench", kind=DeadlineKind.ANSWER,
                    nature=Nature.DEMANDE_INFORMATION, body_id=None, days=60,
                ),
            )  # fmt: skip
            await _timed(
                conn,
                "réclamations: 60 → 45 working days",
                lambda c: policy.set_rule(
                    c, ADMIN, "bench", kind=DeadlineKind.ANSWER, nature=Nature.RECLAMATION,
                    body_id=None, days=45,
                ),
            )  # fmt: skip
            await _timed(
                conn,
                "one body's own value (réclamations, 30)",
                lambda c: policy.set_rule(
                    c, ADMIN, "bench", kind=DeadlineKind.ANSWER, nature=Nature.RECLAMATION,
                    body_id="body-4", days=30,
                ),
            )  # fmt: skip
            soon = (datetime.now(UTC) + timedelta(days=10)).date()
            while soon.weekday() >= 5:
                soon += timedelta(days=1)
            await _timed(
                conn,
                f"a day declared off ({soon.isoformat()})",
                lambda c: policy.declare_day_off(
                    c, ADMIN, "bench", day=soon, label="Deuil national"
                ),
            )
            events = await conn.fetchval(
                "SELECT count(*) FROM outbox WHERE message_type = 'deadlines.answer_due_set.v1'"
            )
            print(f"deadlines.answer_due_set events in the outbox: {events}")
        finally:
            await conn.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--open", type=int, default=50_000, dest="open_requests")
    parser.add_argument("--bodies", type=int, default=40)
    args = parser.parse_args()
    asyncio.run(main(args.open_requests, args.bodies))
