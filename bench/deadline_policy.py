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
import time
from datetime import UTC, datetime, timedelta

import asyncpg

from bench.one_service import migrated_database
from services.treatment import policy
from shared.identity import Identity, Role
from shared.messages import DeadlineKind, Nature

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
    async with migrated_database("treatment", "delais") as conn:
        start = time.perf_counter()
        await conn.execute(FILL, open_requests, bodies)
        await conn.execute("VACUUM ANALYZE treatments")
        print(f"{open_requests} open requests, {bodies} bodies, filled in "
              f"{time.perf_counter() - start:.1f} s")  # fmt: skip
        # The answer deadline's changes: (what, nature, body or None for every body, days).
        for label, nature, body_id, days in (
            ("first computation (every deadline set)", Nature.DEMANDE_INFORMATION, None, 60),
            ("réclamations: 60 → 45 working days", Nature.RECLAMATION, None, 45),
            ("one body's own value (réclamations, 30)", Nature.RECLAMATION, "body-4", 30),
        ):
            await _timed(
                conn,
                label,
                lambda c, nature=nature, body_id=body_id, days=days: policy.set_rule(
                    c, ADMIN, "bench", kind=DeadlineKind.ANSWER, nature=nature, body_id=body_id,
                    days=days,
                ),
            )  # fmt: skip
        soon = (datetime.now(UTC) + timedelta(days=10)).date()
        while soon.weekday() >= 5:
            soon += timedelta(days=1)
        await _timed(
            conn,
            f"a day declared off ({soon.isoformat()})",
            lambda c: policy.declare_day_off(c, ADMIN, "bench", day=soon, label="Deuil national"),
        )
        events = await conn.fetchval(
            "SELECT count(*) FROM outbox WHERE message_type = 'deadlines.answer_due_set.v1'"
        )
        print(f"deadlines.answer_due_set events in the outbox: {events}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--open", type=int, default=50_000, dest="open_requests")
    parser.add_argument("--bodies", type=int, default=40)
    args = parser.parse_args()
    asyncio.run(main(args.open_requests, args.bodies))
