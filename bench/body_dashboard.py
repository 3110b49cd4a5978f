"""Benchmark of the focal point's dashboard: stats' counters of one body over 200,000 requests.

    python -m bench.body_dashboard [--requests 200000] [--bodies 11] [--calls 200]

It starts the stats service as its own process (``python -m services.stats``) on a fresh
database and broker namespace, lets it apply its migrations, fills its fact rows with
``--requests`` requests spread over ``--bodies`` bodies, the five natures, five themes and a year
of submissions, in the statuses the life cycle gives them (the analysts' decisions, the bodies'
treatment, the citizens' opinions and the « sans retour » closings), then derives the counters
the events would have left (``daily_counts``, ``outcome_counts``, ``opinion_counts``) and runs
ANALYZE. It then times ``--calls`` calls of each kind one after the other through the HTTP API,
signed as a focal point of a body drawn at random:

- ``/stats/body-dashboard`` over a month, and over the year to date (the page's default period);
- ``/stats/body-waiting`` (the « En attente » badge on every back-office page);
- ``/stats/bodies`` (the public « Statistiques »: every body, treated and satisfied).

It prints p50/p95/p99/max per kind and removes what it created (``--keep`` keeps the database).
``DATABASE_URL``/``AMQP_URL`` come from the environment, else the local default servers.
Not a test: nothing here is collected by pytest.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform as host
import random
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta

import aiohttp
import asyncpg

from bench.harness import say
from bench.one_service import Call, measure, service_alone
from shared.identity import Identity, Role
from shared.lifecycle import Status as S
from shared.messages import Nature, Opinion

THEMES = ("accueil-environnement", "accueil-agent", "accueil-espace", "delais", None)
# (status, weight) of a request that needs treatment, and of one that is read and forwarded.
TREATED_PATH = (
    (S.SUBMITTED, 5),
    (S.REJECTED, 3),
    (S.REFORMULATION_REQUESTED, 2),
    (S.IN_TREATMENT, 15),
    (S.ON_HOLD, 5),
    (S.REOPENED, 3),
    (S.TREATED, 20),
    (S.CLOSED, 47),
)
READ_PATH = (
    (S.SUBMITTED, 5),
    (S.REJECTED, 3),
    (S.REFORMULATION_REQUESTED, 2),
    (S.ACKNOWLEDGED, 90),
)
OUTCOMES = (
    (Opinion.SATISFIED.value, 40),
    (Opinion.PARTLY_SATISFIED.value, 20),
    (Opinion.NOT_SATISFIED.value, 20),
    ("none", 20),
)
COLUMNS = (
    "request_id",
    "body_id",
    "body_name",
    "nature",
    "theme_id",
    "channel",
    "status",
    "submitted_on",
    "outcome",
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--bodies", type=int, default=11)
    parser.add_argument("--calls", type=int, default=200, help="calls of each kind")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the database at the end")
    return parser.parse_args(argv)


def _pick(rnd: random.Random, weighted) -> object:
    values, weights = zip(*weighted, strict=True)
    return rnd.choices(values, weights)[0]


def rows(count: int, bodies: int, seed: int) -> list[tuple]:
    rnd = random.Random(seed)
    today = datetime.now(UTC).date()
    out = []
    for _ in range(count):
        nature = rnd.choice(list(Nature))
        status = _pick(rnd, TREATED_PATH if nature.needs_treatment else READ_PATH)
        body = rnd.randrange(bodies)
        out.append(
            (
                uuid.uuid4(),
                f"organisme-{body:02d}",
                f"Organisme public n° {body}",
                nature.value,
                rnd.choice(THEMES),
                rnd.choice(("web", "web", "phone", "api")),
                status.value,
                today - timedelta(days=rnd.randrange(365)),
                _pick(rnd, OUTCOMES) if status == S.CLOSED else None,
            )
        )
    return out


DERIVE = """
INSERT INTO stats.bodies (body_id, body_name)
    SELECT DISTINCT body_id, body_name FROM stats.request_facts;
INSERT INTO stats.daily_counts (day, body_id, nature, theme_id, status, count)
    SELECT submitted_on, body_id, nature, coalesce(theme_id, ''), status, count(*)
    FROM stats.request_facts GROUP BY 1, 2, 3, 4, 5;
INSERT INTO stats.outcome_counts (body_id, day, nature, outcome, count)
    SELECT body_id, submitted_on, nature, outcome, count(*)
    FROM stats.request_facts WHERE outcome IS NOT NULL GROUP BY 1, 2, 3, 4;
INSERT INTO stats.request_opinions (request_id, body_id, opinion, given_on)
    SELECT request_id, body_id, outcome, submitted_on + 20
    FROM stats.request_facts WHERE outcome IS NOT NULL AND outcome <> 'none';
INSERT INTO stats.opinion_counts (day, body_id, opinion, count)
    SELECT given_on, body_id, opinion, count(*) FROM stats.request_opinions GROUP BY 1, 2, 3;
ANALYZE stats.request_facts; ANALYZE stats.daily_counts; ANALYZE stats.outcome_counts;
ANALYZE stats.opinion_counts;
"""


def kinds(calls: int, bodies: int, seed: int) -> dict[str, list[Call]]:
    rnd = random.Random(seed + 1)
    today = datetime.now(UTC).date()

    def body() -> Identity:
        """A focal point of a body drawn at random."""
        body_id = f"organisme-{rnd.randrange(bodies):02d}"
        return Identity(staff_id="bench", role=Role.FOCAL_POINT, body_id=body_id, login="bench")

    def month() -> dict:
        start = today - timedelta(days=rnd.randrange(30, 360))
        return {"from": start.isoformat(), "to": (start + timedelta(days=30)).isoformat()}

    year = {"from": date(today.year, 1, 1).isoformat(), "to": today.isoformat()}
    return {
        "dashboard, a month": [("/stats/body-dashboard", month(), body()) for _ in range(calls)],
        "dashboard, year to date": [("/stats/body-dashboard", year, body()) for _ in range(calls)],
        "« En attente » badge": [("/stats/body-waiting", {}, body()) for _ in range(calls)],
        "public statistics (every body)": [("/stats/bodies", {}, body()) for _ in range(calls)],
    }


async def run(args: argparse.Namespace) -> int:
    say(f"machine: {os.cpu_count()} CPUs, Python {host.python_version()}, load {os.getloadavg()}")
    say(f"requests: {args.requests} over {args.bodies} bodies, {args.calls} calls per kind")
    async with service_alone("stats", keep=args.keep) as stats:
        started = time.perf_counter()
        conn = await asyncpg.connect(stats.database_url)
        try:
            await conn.copy_records_to_table(
                "request_facts",
                schema_name="stats",
                records=rows(args.requests, args.bodies, args.seed),
                columns=COLUMNS,
            )
            await conn.execute(DERIVE)
            counters = await conn.fetchval("SELECT count(*) FROM stats.daily_counts")
            size = await conn.fetchval(
                "SELECT pg_size_pretty(pg_total_relation_size('stats.daily_counts'))"
            )
        finally:
            await conn.close()
        say(
            f"filled in {time.perf_counter() - started:.1f} s: {args.requests} requests, "
            f"{counters} counter rows (daily_counts and its indexes: {size})"
        )
        async with aiohttp.ClientSession() as http:
            await measure(http, stats, kinds(args.calls, args.bodies, args.seed))
        return 0


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(run(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
