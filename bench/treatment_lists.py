"""The focal point's lists at 200,000 requests across 11 bodies: the first page of each list,
a search by words and by code, for one body (a focal point) and every body (an analyst), and the
CSV export's read, p50/p99 as treatment's repository runs them (the SQL, no HTTP).

    .venv/bin/python -m bench.treatment_lists [--rows 200000] [--runs 50]

Creates a database ``milie_bench_lists_<hex>`` (dropped at the end), applies treatment's
migrations, fills ``treatments`` (with answers and opinions for the answered rows) with
``generate_series``, ANALYZEs, then times each query.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import UTC, datetime, timedelta

from bench.one_service import migrated_database
from services.treatment import repository
from services.treatment.focal_api import LISTS

BODIES = 11
# Status shares: most requests are closed, some in treatment, a few reopened or on hold.
FILL = """
INSERT INTO treatments (request_id, code, nature, body_id, body_name, theme_label, message,
    submitted_at, validated_at, status, opinion, contact, assignee_id, assignee_login)
SELECT gen_random_uuid(), lpad(i::text, 10, '0'),
    (ARRAY['reclamation','reclamation','reclamation','suggestion','observation',
           'motion_felicitations','demande_information'])[1 + i % 7],
    'body-' || (i % $2), 'Organisme ' || (i % $2), 'ACCUEIL',
    'Message ' || i || (ARRAY[' accueil décevant',' pension en retard',' route abîmée',
        ' guichet fermé',' document perdu'])[1 + i % 5] || ' au service numéro ' || (i % 97),
    now() - make_interval(mins => i), now() - make_interval(mins => i),
    s.status,
    CASE WHEN s.status = 'closed' THEN (ARRAY[NULL,'satisfied','not_satisfied',
        'partly_satisfied'])[1 + i % 4] END,
    jsonb_build_object('email', 'usager' || i || '@example.ci', 'last_name', 'NOM' || i),
    CASE WHEN i % 3 = 0 THEN 'fp-' || (i % $2) END,
    CASE WHEN i % 3 = 0 THEN 'agent.' || (i % $2) END
FROM generate_series(1, $1) i,
LATERAL (SELECT CASE
    WHEN i % 7 IN (3, 4, 5) THEN 'acknowledged'
    WHEN i % 20 = 0 THEN 'in_treatment'
    WHEN i % 20 = 1 THEN 'on_hold'
    WHEN i % 20 = 2 THEN 'reopened'
    WHEN i % 20 = 6 THEN 'treated'
    ELSE 'closed' END AS status) s
"""
ANSWERS = """
INSERT INTO answers (id, request_id, kind, message, actor_id, actor_login, answered_at)
SELECT gen_random_uuid(), request_id, 'treated', 'Réponse ' || code, 'fp', 'agent', validated_at
FROM treatments WHERE status IN ('treated', 'closed', 'reopened')
"""
OPINIONS = """
INSERT INTO opinions (request_id, opinion, comment, given_at)
SELECT request_id, opinion, 'Commentaire', validated_at FROM treatments WHERE opinion IS NOT NULL
"""


def _filter(view: str, body_id: str | None, **more) -> repository.ListFilter:
    return LISTS[view].filter(body_id=body_id, **more)


async def _time(conn, f: repository.ListFilter, runs: int) -> tuple[float, float, int]:
    took = []
    total = 0
    for _ in range(runs):
        start = time.perf_counter()
        total, _rows = await repository.list_page(conn, f, limit=25, offset=0)
        took.append((time.perf_counter() - start) * 1000)
    took.sort()
    return statistics.median(took), took[min(len(took) - 1, int(len(took) * 0.99))], total


async def main(rows: int, runs: int) -> None:
    async with migrated_database("treatment", "lists") as conn:
        start = time.perf_counter()
        await conn.execute(FILL, rows, BODIES)
        await conn.execute(ANSWERS)
        await conn.execute(OPINIONS)
        await conn.execute("VACUUM ANALYZE")  # as autovacuum leaves it
        print(f"{rows} requests, {BODIES} bodies, filled in {time.perf_counter() - start:.1f} s")
        print(f"{'list':24} {'who':12} {'rows':>7} {'p50 ms':>8} {'p99 ms':>8}")
        cases = [(view, "body-3", {}) for view in LISTS]
        cases += [(view, None, {}) for view in ("en_cours", "insatisfaits", "reclamations")]
        cases += [
            ("en_cours", "body-3", {"words": "pension"}),
            ("reclamations", "body-3", {"words": "décevant"}),
            ("reclamations", None, {"words": "pension retard"}),
            ("reclamations", "body-3", {"code": "0000000003"}),
            ("reclamations", "body-3", {"sort": "code", "descending": True}),
        ]
        # The dashboard's period (« PERIODE DU … au … »), on the day of submission: a month.
        month = {
            "submitted_from": datetime.now(UTC) - timedelta(days=60),
            "submitted_before": datetime.now(UTC) - timedelta(days=30),
        }
        cases += [(view, "body-3", month) for view in ("en_cours", "reclamations", "recues")]
        cases += [("reclamations", None, month)]
        for view, body, more in cases:
            p50, p99, total = await _time(conn, _filter(view, body, **more), runs)
            who = "focal point" if body else "analyst"
            label = view + (" month" if "submitted_from" in more else f" q={more}" if more else "")
            print(f"{label[:40]:40} {who:12} {total:>7} {p50:8.1f} {p99:8.1f}")
        async with conn.transaction():
            start = time.perf_counter()
            count = 0
            async for _row in repository.list_stream(
                conn, _filter("reclamations", "body-3"), 250_000
            ):
                count += 1
            took = time.perf_counter() - start
        print(f"export read (reclamations, one body): {count} rows in {took:.2f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(main(args.rows, args.runs))
