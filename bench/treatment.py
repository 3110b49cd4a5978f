"""Benchmark of the focal point's work (issue 11): 200,000 requests across 11 bodies.

    python -m bench.treatment [--requests 200000] [--agents 8] [--calls 100] [--answers 150]
                              [--through api|pages] [--explain] [--drop-index S.I] [--keep]

It starts the six processes (``bench.harness``: the run's own database, broker namespace and SMTP
server), waits until they have migrated their schemas, then seeds straight into the schemas
(``INSERT … SELECT`` over the codes' ``unnest … WITH ORDINALITY``, no event): treatment's requests,
history, answers, opinions and reopenings; stats' facts and daily counters (what the counters
read); notify's recipients of the requests that can still be answered (so that an answer's email
goes out). The mix per body (the catalogue's 11 bodies): 70 % réclamations and demandes
d'information, of which about 16 % in treatment (half of them held by the body's agent), 3 % on
hold, 2.5 % reopened, 8 % treated, the rest closed with or without an opinion; 30 % suggestions,
observations and motions (« Consultations »). Messages are drawn from a French vocabulary, every
citizen's contact in ``contact``. One focal-point account per body is created in the gateway's
schema (``gateway.staff.account_actions.create``, as ``milie users create`` does).

Then, with ``--agents`` agents of different bodies at once (each one after the other in its
own calls), ``--calls`` calls of each kind per agent:

- ``--through api``: treatment's ``GET /requests?view=en_cours`` first page and page 10, a
  search by code (``code=``) and by words (``q=``), stats' ``GET /stats/body-dashboard`` (the
  focal point's counters, the last twelve months or two) and ``/stats/body-waiting`` (the
  « En attente » badge), each signed as the gateway signs it (``gateway.clients.treatment``,
  ``gateway.clients.stats`` on a ``gateway.clients.transport.Services`` with the development
  identity secret); then answers through ``POST /requests/{code}/answer``, each agent answering
  ``--answers`` distinct requests of its body in treatment, each after reading the request as
  the form does (``GET /requests/{code}``);
- ``--through pages``: the same through the gateway like a browser, each agent signed in on
  « Connectez-vous » (CSRF token and session cookie): ``GET /admin/traitements/en-cours`` (25
  rows), ``…?q=<code>``, ``…?q=<word>``, the dashboard ``GET /admin/`` (its counters), and the
  answer form: ``GET /admin/requetes/{code}``, ``POST /admin/requetes/{code}/repondre``
  (multipart, the form's CSRF token and version, the file input empty, « Répondre avec envoi
  de mail »), then the 303 followed to « La réponse est enregistrée. … ». Every page is checked
  (rows, the code found or not, the counters shown).

It prints p50/p95/p99/max per kind, the answers per second, how long the answers' events took to
reach stats and the emails the SMTP server (the answers are checked in the database: every one
treated, once), the CPU of the machine and of each process while measuring, and with
``--explain`` the plans (EXPLAIN ANALYZE) of « En cours » and its searches (built by treatment's
repository) and of ``/stats/body-dashboard``'s queries.
``--drop-index SCHEMA.INDEX`` drops an index once the services have migrated: the figures
before a migration, on the same code (bench/README.md). Exit status 0 when every call succeeded
and every answer was recorded, whatever the speed.
Not a test: nothing here is collected by pytest.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform as host
import random
import re
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from bench.harness import (
    BenchRun,
    bench_run,
    cpu_by_pid,
    cpu_used,
    machine_cpu,
    main_of,
    percentile,
    say,
)
from bench.triage_queue import COMPLAINTS, DETAILS, SUBJECTS, WORDS
from deploy.local.platform import Platform
from gateway.clients.stats import Stats
from gateway.clients.transport import Services
from gateway.clients.treatment import Treatment
from gateway.staff import account_actions, accounts, audit, passwords
from services.stats import body_dashboard
from services.treatment import focal_api, repository
from shared import codes
from shared.identity import Identity, Role
from shared.settings import DEVELOPMENT_IDENTITY_SECRET

ROOT = Path(__file__).resolve().parents[1]
BODIES = json.loads((ROOT / "services/intake/catalogue/bodies.json").read_text())
THEMES = [
    (child["id"], f"{theme['label']} : {child['label']}")
    for theme in json.loads((ROOT / "services/intake/catalogue/themes.json").read_text())
    for child in theme["children"]
]
PASSWORD = "Banc d'essai 2026 : traitement !"  # a benchmark's throwaway accounts
LAST_NAMES = ("KOUASSI", "KONÉ", "TRAORÉ", "YAO", "BAMBA", "OUATTARA", "DIALLO", "N'GUESSAN")
FIRST_NAMES = ("Aya", "Awa", "Koffi", "Mariam", "Seydou", "Adjoua", "Ibrahim", "Affoué")
CHANNELS = ("web", "web", "web", "phone", "api", "broker")
ANSWER = (
    "Bonjour, votre requête a été examinée par nos services : le nécessaire a été fait et "
    "l'accueil sera amélioré. Merci de votre confiance."
)
PAGE_SIZE = "20"
POOL = 10  # the services' default pool size, opened at start here


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--bodies", type=int, default=len(BODIES), choices=range(1, 12))
    parser.add_argument("--agents", type=int, default=8, help="agents at once, one per body")
    parser.add_argument("--calls", type=int, default=100, help="calls of each kind per agent")
    parser.add_argument("--answers", type=int, default=150, help="answers per agent")
    parser.add_argument("--through", choices=("api", "pages"), default="api")
    parser.add_argument("--explain", action="store_true", help="print the « En cours » plans")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--drop-index",
        action="append",
        default=[],
        metavar="SCHEMA.INDEX",
        help="drop this index once the services have migrated (repeatable): the figures "
        "before a migration that adds it, on the same code",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database at the end")
    args = parser.parse_args(argv)
    for name in args.drop_index:
        if not re.fullmatch(r"[a-z_]+\.[a-z0-9_]+", name):
            parser.error(f"--drop-index wants schema.index, got {name!r}")
    args.agents = max(1, min(args.agents, args.bodies))
    return args


# -- seeding ---------------------------------------------------------------------------------


def fresh_codes(count: int, seed: int) -> list[str]:
    """``count`` distinct well-formed codes (Damm check digit), reproducible for one seed."""
    rnd = random.Random(seed)
    out: set[str] = set()
    while len(out) < count:
        body = str(rnd.randrange(10**8, 10**9))
        out.add(body + codes.check_digit(body))
    return sorted(out, key=lambda _: rnd.random())


# One statement: every request of treatment, its columns drawn from the row's own random values
# (setseed makes a run reproducible). $1 codes, $2 body ids, $3 body names, $4 agent ids, $5 agent
# logins (one per body), $6 subjects, $7 complaints, $8 details, $9 theme ids, $10 theme labels,
# $11 last names, $12 first names.
TREATMENTS = """
INSERT INTO treatment.treatments (request_id, code, nature, body_id, body_name, theme_id,
    theme_label, place_label, message, attachments, analyst_message, submitted_at, validated_at,
    status, assignee_id, assignee_login, on_hold_since, treated_at, opinion, closed_at, version,
    updated_at, contact)
SELECT gen_random_uuid(), code,
       CASE WHEN rn < 0.60 THEN 'reclamation' WHEN rn < 0.70 THEN 'demande_information'
            WHEN rn < 0.80 THEN 'suggestion' WHEN rn < 0.90 THEN 'observation'
            ELSE 'motion_felicitations' END,
       ($2::text[])[b], ($3::text[])[b],
       CASE WHEN rt < 0.9 THEN ($9::text[])[1 + (n % cardinality($9::text[]))] END,
       CASE WHEN rt < 0.9 THEN ($10::text[])[1 + (n % cardinality($10::text[]))] END,
       CASE WHEN rt < 0.6 THEN 'Commune ' || (n % 200) END,
       ($6::text[])[1 + (n * 7 % cardinality($6::text[]))] || ' '
         || ($7::text[])[1 + (n * 13 % cardinality($7::text[]))] || '. '
         || ($8::text[])[1 + (n * 17 % cardinality($8::text[]))]
         || CASE WHEN n % 5 = 0 THEN ' Dossier n° ' || (n * 31 % 99991) || '.' ELSE '' END,
       '[]', CASE WHEN n % 4 = 0 THEN 'Requête recevable, transmise à l''organisme.' END,
       submitted, validated,
       status,
       CASE WHEN status <> 'acknowledged' AND (status <> 'in_treatment' OR ra < 0.5)
            THEN ($4::text[])[b] END,
       CASE WHEN status <> 'acknowledged' AND (status <> 'in_treatment' OR ra < 0.5)
            THEN ($5::text[])[b] END,
       CASE WHEN status = 'on_hold' THEN validated + interval '2 days' END,
       CASE WHEN status IN ('treated', 'reopened', 'closed') THEN treated END,
       CASE WHEN status = 'closed' AND ro < 0.55 THEN 'satisfied'
            WHEN status = 'closed' AND ro < 0.72 THEN 'partly_satisfied'
            WHEN status = 'closed' AND ro < 0.90 THEN 'not_satisfied' END,
       CASE WHEN status IN ('closed', 'acknowledged')
            THEN least(now(), treated + interval '5 days') END,
       CASE WHEN status = 'in_treatment' THEN 1 + (ra < 0.5)::int ELSE 3 END,
       validated,
       jsonb_strip_nulls(jsonb_build_object(
           'last_name', ($11::text[])[1 + (n % cardinality($11::text[]))],
           'first_names', ($12::text[])[1 + (n * 3 % cardinality($12::text[]))],
           'country', 'CI',
           'phone', CASE WHEN n % 3 <> 0 THEN '+22507' || lpad((n % 100000000)::text, 8, '0') END,
           'email', CASE WHEN n % 6 <> 0 THEN 'usager' || n || '@example.ci' END))
FROM (
    SELECT code, n, 1 + (n % cardinality($2::text[]))::int AS b, rn, rt, ra, ro,
           submitted, submitted + interval '1 day' * (1 + rt * 3) AS validated,
           least(now(), submitted + interval '1 day' * (5 + ra * 20)) AS treated,
           CASE WHEN rn >= 0.70 THEN 'acknowledged'
                WHEN rs < 0.16 THEN 'in_treatment' WHEN rs < 0.19 THEN 'on_hold'
                WHEN rs < 0.215 THEN 'reopened' WHEN rs < 0.295 THEN 'treated'
                ELSE 'closed' END AS status
    FROM (
        SELECT c.code, c.n::int AS n, random() AS rn, random() AS rs, random() AS rt,
               random() AS ra, random() AS ro,
               now() - interval '1 second' * (random() * 365 * 86400) AS submitted
        FROM unnest($1::text[]) WITH ORDINALITY AS c (code, n)
    ) drawn
) r"""

HISTORY = [
    """INSERT INTO treatment.history (request_id, occurred_at, kind, actor_role, details)
       SELECT request_id, validated_at, 'validated', 'analyst',
              jsonb_build_object('status', CASE WHEN nature IN ('reclamation',
                  'demande_information') THEN 'in_treatment' ELSE 'acknowledged' END,
                  'body_id', body_id)
       FROM treatment.treatments""",
    """INSERT INTO treatment.history (request_id, occurred_at, kind, actor_id, actor_login,
           actor_role)
       SELECT request_id, validated_at + interval '1 hour', 'assigned', assignee_id,
              assignee_login, 'focal-point'
       FROM treatment.treatments WHERE assignee_id IS NOT NULL""",
    """INSERT INTO treatment.history (request_id, occurred_at, kind, actor_id, actor_login,
           actor_role)
       SELECT request_id, on_hold_since, 'put_on_hold', assignee_id, assignee_login,
              'focal-point'
       FROM treatment.treatments WHERE status = 'on_hold'""",
    """INSERT INTO treatment.history (request_id, occurred_at, kind, actor_id, actor_login,
           actor_role, message)
       SELECT request_id, treated_at, 'treated', assignee_id, assignee_login, 'focal-point',
              'Votre requête a été traitée : ' || left(message, 60)
       FROM treatment.treatments WHERE treated_at IS NOT NULL""",
    """INSERT INTO treatment.history (request_id, occurred_at, kind, message)
       SELECT request_id, treated_at + interval '2 days', 'reopened',
              'La réponse ne règle pas mon problème.'
       FROM treatment.treatments WHERE status = 'reopened'""",
    """INSERT INTO treatment.history (request_id, occurred_at, kind, details)
       SELECT request_id, closed_at, 'opinion_given', jsonb_build_object('opinion', opinion)
       FROM treatment.treatments WHERE status = 'closed' AND opinion IS NOT NULL""",
    """INSERT INTO treatment.answers (id, request_id, kind, message, actor_id, actor_login,
           answered_at)
       SELECT gen_random_uuid(), request_id, 'treated',
              'Votre requête a été traitée : ' || left(message, 60), assignee_id,
              assignee_login, treated_at
       FROM treatment.treatments WHERE treated_at IS NOT NULL""",
    """INSERT INTO treatment.opinions (request_id, opinion, comment, given_at)
       SELECT request_id, opinion, CASE WHEN opinion <> 'satisfied'
                  THEN 'Toujours pas de solution.' END, closed_at
       FROM treatment.treatments WHERE status = 'closed' AND opinion IS NOT NULL""",
    """INSERT INTO treatment.reopenings (request_id, message, reopened_at)
       SELECT request_id, 'La réponse ne règle pas mon problème.', treated_at + interval '2 days'
       FROM treatment.treatments WHERE status = 'reopened'""",
]

# What stats would have built from the events: one fact per request, the daily counters derived
# from the facts, the opinions and their counters. $1 the channels.
STATS = [
    """INSERT INTO stats.bodies (body_id, body_name)
       SELECT DISTINCT body_id, body_name FROM treatment.treatments""",
    # outcome (stats 0050): how a closed request ended, its opinion or 'none' (« sans retour »).
    """INSERT INTO stats.request_facts (request_id, body_id, body_name, nature, theme_id, channel,
           status, submitted_on, outcome)
       SELECT request_id, body_id, body_name, nature, theme_id,
              (ARRAY['web', 'web', 'web', 'phone', 'api', 'broker'])[1 + abs(hashtext(code)) % 6],
              status, submitted_at::date,
              CASE WHEN status = 'closed' THEN coalesce(opinion, 'none') END
       FROM treatment.treatments""",
    """INSERT INTO stats.outcome_counts (body_id, day, nature, outcome, count)
       SELECT body_id, submitted_on, nature, outcome, count(*)
       FROM stats.request_facts WHERE outcome IS NOT NULL GROUP BY 1, 2, 3, 4""",
    """INSERT INTO stats.daily_counts (day, body_id, nature, theme_id, status, count)
       SELECT submitted_on, body_id, nature, coalesce(theme_id, ''), status, count(*)
       FROM stats.request_facts GROUP BY 1, 2, 3, 4, 5""",
    """INSERT INTO stats.request_opinions (request_id, body_id, opinion, given_on)
       SELECT request_id, body_id, opinion, closed_at::date
       FROM treatment.treatments WHERE status = 'closed' AND opinion IS NOT NULL""",
    """INSERT INTO stats.opinion_counts (day, body_id, opinion, count)
       SELECT given_on, body_id, opinion, count(*) FROM stats.request_opinions GROUP BY 1, 2, 3""",
    # notify's copy of the contact, for the requests an agent may still answer.
    """INSERT INTO notify.recipients (request_id, code, email, phone, last_name, first_names)
       SELECT request_id, code, contact ->> 'email', contact ->> 'phone',
              contact ->> 'last_name', contact ->> 'first_names'
       FROM treatment.treatments WHERE status IN ('in_treatment', 'reopened')""",
]


@dataclass
class Agent:
    """A body's focal point: the account, and what it answers."""

    body_id: str
    body_name: str
    login: str
    staff_id: str
    identity: Identity
    to_answer: list[tuple[str, int]] = field(default_factory=list)  # (code, version)
    en_cours_codes: list[str] = field(default_factory=list)
    other_codes: list[str] = field(default_factory=list)
    session: aiohttp.ClientSession | None = None


async def create_agents(conn: asyncpg.Connection, count: int) -> list[Agent]:
    """One focal-point account per body, as ``milie users create`` makes it, with its password
    set as if the agent had followed the first sign-in link."""
    await conn.execute("SET search_path TO gateway, public")
    actor = account_actions.Actor(login="bench", address=audit.CLI_ADDRESS)
    agents = []
    for i, body in enumerate(BODIES[:count]):
        login = f"pf.bench{i:02d}"
        account, _ = await account_actions.create(
            conn,
            actor,
            role=Role.FOCAL_POINT.value,
            login=login,
            email=f"{login}@bench.milie.ci",
            public_url="http://127.0.0.1:8080",
            body_id=body["id"],
            display_name=f"Point focal {i}",
        )
        await accounts.set_password_hash(conn, account.id, await passwords.hash_password(PASSWORD))
        identity = Identity(
            staff_id=str(account.id), role=Role.FOCAL_POINT, body_id=body["id"], login=login
        )
        agents.append(Agent(body["id"], body["name"], login, str(account.id), identity))
    await conn.execute("SET search_path TO public")
    return agents


async def seed(conn: asyncpg.Connection, args: argparse.Namespace, agents: list[Agent]) -> None:
    started = time.perf_counter()
    await conn.execute("SELECT setseed($1)", (args.seed % 1000) / 1000)
    await conn.execute(
        TREATMENTS,
        fresh_codes(args.requests, args.seed),
        [a.body_id for a in agents],
        [a.body_name for a in agents],
        [a.staff_id for a in agents],
        [a.login for a in agents],
        [s.capitalize() for s in SUBJECTS],
        list(COMPLAINTS),
        list(DETAILS),
        [t[0] for t in THEMES],
        [t[1] for t in THEMES],
        list(LAST_NAMES),
        list(FIRST_NAMES),
    )
    say(f"  treatments: {time.perf_counter() - started:.1f} s")
    step = time.perf_counter()
    for sql in HISTORY:
        await conn.execute(sql)
    say(f"  history, answers, opinions, reopenings: {time.perf_counter() - step:.1f} s")
    step = time.perf_counter()
    for sql in STATS:
        await conn.execute(sql)
    say(f"  stats' facts and counters, notify's recipients: {time.perf_counter() - step:.1f} s")
    step = time.perf_counter()
    # What autovacuum soon does after such a load (visibility map, statistics).
    for table in (
        "treatment.treatments",
        "treatment.history",
        "treatment.answers",
        "stats.request_facts",
        "stats.daily_counts",
        "stats.outcome_counts",
        "stats.request_opinions",
        "stats.opinion_counts",
        "notify.recipients",
    ):
        await conn.execute(f"VACUUM ANALYZE {table}")
    say(f"  VACUUM ANALYZE: {time.perf_counter() - step:.1f} s")
    say(f"seeded in {time.perf_counter() - started:.1f} s")


async def describe(conn: asyncpg.Connection, agents: list[Agent], args: argparse.Namespace):
    rows = await conn.fetch(
        """SELECT body_id, count(*) AS total,
                  count(*) FILTER (WHERE status = 'in_treatment') AS in_treatment,
                  count(*) FILTER (WHERE status = 'on_hold') AS on_hold,
                  count(*) FILTER (WHERE status = 'reopened') AS reopened,
                  count(*) FILTER (WHERE status = 'treated') AS treated,
                  count(*) FILTER (WHERE status = 'closed') AS closed,
                  count(*) FILTER (WHERE status = 'acknowledged') AS acknowledged
           FROM treatment.treatments GROUP BY body_id ORDER BY body_id"""
    )
    size = await conn.fetchval(
        "SELECT pg_size_pretty(pg_total_relation_size('treatment.treatments'))"
    )
    history = await conn.fetchval("SELECT count(*) FROM treatment.history")
    say(
        f"treatment.treatments: {sum(r['total'] for r in rows)} rows ({size} with its indexes),"
        f" treatment.history: {history} rows; per body:"
    )
    say("  body                         total  in_treat on_hold reopened treated  closed  ack.")
    for r in rows:
        say(
            f"  {r['body_id'][:27]:27} {r['total']:7} {r['in_treatment']:8} {r['on_hold']:7}"
            f" {r['reopened']:8} {r['treated']:7} {r['closed']:7} {r['acknowledged']:5}"
        )
    rnd = random.Random(args.seed + 2)
    for agent in agents:
        mine = await conn.fetch(
            """SELECT code, version FROM treatment.treatments
               WHERE body_id = $1 AND status = 'in_treatment' ORDER BY code""",
            agent.body_id,
        )
        mine = [(r["code"], r["version"]) for r in mine]
        rnd.shuffle(mine)
        agent.to_answer = mine[: args.answers]
        agent.en_cours_codes = [c for c, _ in mine[args.answers :]]
        agent.other_codes = [
            r["code"]
            for r in await conn.fetch(
                """SELECT code FROM treatment.treatments
                   WHERE body_id = $1 AND status = 'closed' ORDER BY code LIMIT 500""",
                agent.body_id,
            )
        ]


async def explain(conn: asyncpg.Connection, body_id: str, code: str, word: str) -> None:
    """The plans of what the timed calls run: treatment's « En cours » (``repository.list_page``'s
    count and page, built by its own functions), without and with a code or words, and stats'
    ``/stats/body-dashboard`` (``services.stats.body_dashboard``'s queries) over twelve months."""
    today = datetime.now(UTC).date()
    year_ago = today - timedelta(days=365)
    statuses = tuple(s.value for s in focal_api.LISTS["en_cours"].statuses or ())
    plans: list[tuple[str, str, tuple]] = []
    for title, f in (
        ("« En cours »", repository.ListFilter(statuses=statuses, body_id=body_id)),
        (
            "« En cours », a code",
            repository.ListFilter(statuses=statuses, body_id=body_id, code=code),
        ),
        (
            f"« En cours », q={word}",
            repository.ListFilter(statuses=statuses, body_id=body_id, words=word),
        ),
    ):
        where, args = repository._list_where(f, f.words)
        source = f"""(SELECT {repository.COLUMNS} FROM treatments WHERE {where}
                      ORDER BY {repository._list_order(f)} LIMIT 25 OFFSET 0)"""
        page_sql = (
            f"SELECT t.*, {repository._LIST_EXTRAS.format(source=source)} "
            f"ORDER BY {repository._list_order(f, 't.')}"
        )
        plans.append((f"{title}: count", f"SELECT count(*) FROM treatments WHERE {where}", args))
        plans.append((f"{title}: first page", page_sql, args))
    period = (body_id, year_ago, today)
    waiting = [s.value for s in body_dashboard.WAITING]
    plans += [
        ("body-dashboard: counts", body_dashboard.PERIOD_COUNTS, period),
        ("body-dashboard: outcomes", body_dashboard.PERIOD_OUTCOMES, period),
        ("body-dashboard / body-waiting: waiting", body_dashboard.WAITING_COUNTS,
         (body_id, waiting)),
    ]  # fmt: skip
    say()
    say(f"EXPLAIN (ANALYZE, BUFFERS) for {body_id}:")
    try:
        for title, sql, params in plans:
            schema = "stats" if title.startswith("body-") else "treatment"
            await conn.execute(f"SET search_path TO {schema}, public")  # as each service has it
            # As treatment plans its lists (a custom plan for each search's own values).
            await conn.execute("SET plan_cache_mode = force_custom_plan")
            plan = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", *params)
            say(f"  -- {title}")
            for line in plan:
                say(f"     {line[0]}")
    finally:
        await conn.execute("SET search_path TO public")
        await conn.execute("RESET plan_cache_mode")


# -- measuring ---------------------------------------------------------------------------------


class Skipped(Exception):
    """A kind that cannot be measured here (a page not built yet): said, not failed."""


Call = Callable[[Agent, int], Awaitable[None]]


async def concurrently(agents: list[Agent], calls: int, call: Call) -> tuple[list[float], float]:
    """Each agent makes ``calls`` calls one after the other, every agent at once: the sorted
    milliseconds of each call and the wall time."""
    took: list[float] = []

    async def one(agent: Agent) -> None:
        for i in range(calls):
            started = time.perf_counter()
            await call(agent, i)
            took.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(one(a) for a in agents))
    return sorted(took), time.perf_counter() - started


def report(kind: str, took: list[float], wall: float) -> None:
    p50, p95, p99 = (percentile(took, p) for p in (50, 95, 99))
    say(f"  {kind:44} {p50:8.1f} {p95:8.1f} {p99:8.1f} {took[-1]:8.1f} {len(took) / wall:8.0f}")


def header(title: str) -> None:
    say()
    say(f"{title}:")
    say(f"  {'kind':44} {'p50':>8} {'p95':>8} {'p99':>8} {'max':>8} {'calls/s':>8}   (ms)")


async def measure(agents: list[Agent], calls: int, kinds: dict[str, Call]) -> bool:
    """Every kind, warmed up first (a few calls each); False if one failed."""
    ok = True
    for kind, call in kinds.items():
        try:
            await concurrently(agents, 3, call)  # plans cached, pages read
            took, wall = await concurrently(agents, calls, call)
        except Skipped as exc:
            say(f"  {kind:44} skipped: {exc}")
            continue
        except AssertionError as exc:
            say(f"  {kind:44} FAILED: {exc}")
            ok = False
            continue
        report(kind, took, wall)
    return ok


def api_kinds(treatment: Treatment, stats: Stats, args: argparse.Namespace) -> dict[str, Call]:
    rnd = random.Random(args.seed + 3)
    today = datetime.now(UTC).date()

    def expect(status: int, body: Any, what: str) -> Any:
        if status != 200:
            raise AssertionError(f"{what}: {status} {str(body)[:200]}")
        return body

    async def first_page(agent: Agent, i: int) -> None:
        status, body = await treatment.requests(
            "en_cours", identity=agent.identity, params={"limit": PAGE_SIZE}
        )
        expect(status, body, "en_cours")
        if len(body["items"]) != int(PAGE_SIZE):
            raise AssertionError(f"en_cours: {len(body['items'])} items")

    async def page_10(agent: Agent, i: int) -> None:
        status, body = await treatment.requests(
            "en_cours", identity=agent.identity, params={"limit": PAGE_SIZE, "offset": "180"}
        )
        expect(status, body, "en_cours page 10")

    async def by_code(agent: Agent, i: int) -> None:
        # Half the codes typed are in « En cours », half are the body's closed ones (no row).
        hit = i % 2 == 0
        code = rnd.choice(agent.en_cours_codes if hit else agent.other_codes)
        status, body = await treatment.requests(
            "en_cours", identity=agent.identity, params={"limit": PAGE_SIZE, "code": code}
        )
        expect(status, body, "code")
        if body["total"] != (1 if hit else 0):
            raise AssertionError(f"code {code}: total {body['total']}")

    async def by_words(agent: Agent, i: int) -> None:
        status, body = await treatment.requests(
            "en_cours", identity=agent.identity, params={"limit": PAGE_SIZE, "q": rnd.choice(WORDS)}
        )
        expect(status, body, "words")

    async def dashboard(agent: Agent, i: int) -> None:
        # « PERIODE DU … au … »: the last twelve months, or the last two.
        start = today - timedelta(days=365) if i % 2 == 0 else today - timedelta(days=60)
        status, body = await stats.body_dashboard(start, today, identity=agent.identity)
        expect(status, body, "stats body-dashboard")
        if body["body_id"] != agent.body_id or not body["total"]:
            raise AssertionError(f"body-dashboard: {str(body)[:200]}")

    async def badge(agent: Agent, i: int) -> None:
        status, body = await stats.body_waiting(identity=agent.identity)
        expect(status, body, "stats body-waiting")

    return {
        "« En cours » first page (treatment API)": first_page,
        "« En cours » page 10": page_10,
        "search: a code (half in « En cours »)": by_code,
        "search: words (q=)": by_words,
        "dashboard: stats /stats/body-dashboard": dashboard,
        "« En attente » badge: /stats/body-waiting": badge,
    }


async def words_supported(treatment: Treatment, agent: Agent) -> bool:
    """Whether treatment's list reads ``q``: a word found in no message must find nothing."""
    status, body = await treatment.requests(
        "en_cours", identity=agent.identity, params={"limit": "1", "q": "zzqxjwv"}
    )
    return status == 200 and body["total"] == 0


async def answer_api(treatment: Treatment, agent: Agent, code: str, version: int) -> None:
    """The form's round: the request read (as « Traiter » shows it), then the answer."""
    status, body = await treatment.item(code, identity=agent.identity)
    if status != 200 or not body["may"]["answer"]:
        raise AssertionError(f"{code}: {status} {str(body)[:200]}")
    status, body = await treatment.act(
        code, "answer", {"message": ANSWER, "version": body["version"]}, identity=agent.identity
    )
    if status != 200:
        raise AssertionError(f"answer {code}: {status} {str(body)[:200]}")


# -- through the gateway's pages ----------------------------------------------------------------

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
_FORM = re.compile(r"(<form\b[^>]*action=\"([^\"]*repondre[^\"]*)\"[^>]*>)(.*?)</form>", re.S)
_HIDDEN = re.compile(r"<input\b[^>]*type=\"hidden\"[^>]*>", re.S)
_ATTR = re.compile(r'(name|value)="([^"]*)"')
_TEXTAREA = re.compile(r'<textarea\b[^>]*name="([^"]+)"')


async def sign_in(gateway: str, agent: Agent) -> aiohttp.ClientSession:
    """A browser-like session signed in on « Connectez-vous » (CSRF token, session cookie)."""
    session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with session.get(f"{gateway}/admin/connexion") as resp:
        match = _TOKEN.search(await resp.text())
    if match is None:
        await session.close()
        raise RuntimeError("no CSRF token on /admin/connexion")
    form = {"csrf_token": match.group(1), "login": agent.login, "password": PASSWORD}
    async with session.post(
        f"{gateway}/admin/connexion", data={**form, "next": "/admin/"}, allow_redirects=False
    ) as resp:
        if resp.status != 303:
            await session.close()
            raise RuntimeError(f"sign-in of {agent.login} refused: {resp.status}")
    return session


async def page(agent: Agent, url: str) -> str:
    assert agent.session is not None
    async with agent.session.get(url, allow_redirects=False) as resp:
        text = await resp.text()
        if resp.status == 404:
            route = "/admin" + url.split("/admin", 1)[1].split("?", 1)[0]
            raise Skipped(f"{route} answers 404 (not built yet)")
        if resp.status != 200:
            raise AssertionError(f"{url}: {resp.status}")
        return text


_ROW = re.compile(r'href="/admin/requetes/([0-9]{10})"')
_EMPTY = "Pas d'enregistrement"


def page_kinds(gateway: str, args: argparse.Namespace) -> dict[str, Call]:
    rnd = random.Random(args.seed + 3)
    en_cours = f"{gateway}/admin/traitements/en-cours"

    async def first_page(agent: Agent, i: int) -> None:
        html = await page(agent, en_cours)
        if len(set(_ROW.findall(html))) != 25:
            raise AssertionError(f"en-cours: {len(set(_ROW.findall(html)))} rows, not 25")

    async def by_code(agent: Agent, i: int) -> None:
        # Half the codes typed are in « En cours », half are the body's closed ones (no row).
        hit = i % 2 == 0
        code = rnd.choice(agent.en_cours_codes if hit else agent.other_codes)
        html = await page(agent, f"{en_cours}?q={code}")
        if set(_ROW.findall(html)) != ({code} if hit else set()):
            raise AssertionError(f"en-cours?q={code}: {set(_ROW.findall(html))}")

    async def by_words(agent: Agent, i: int) -> None:
        html = await page(agent, f"{en_cours}?q={rnd.choice(WORDS)}")
        if not _ROW.search(html) and _EMPTY not in html:
            raise AssertionError("en-cours?q=<word>: neither rows nor « Pas d'enregistrement »")

    async def dashboard(agent: Agent, i: int) -> None:
        html = await page(agent, f"{gateway}/admin/")
        if "Réclamations à traiter" not in html:
            raise AssertionError("/admin/: no « Réclamations à traiter » (stats did not answer?)")

    return {
        "GET /admin/traitements/en-cours": first_page,
        "GET …/en-cours?q=<a code>": by_code,
        "GET …/en-cours?q=<a word>": by_words,
        "GET /admin/ (Tableau de bord)": dashboard,
    }


async def answer_page(gateway: str, agent: Agent, code: str, version: int) -> None:
    """« Traiter » then « Répondre avec envoi de mail »: the request's page read, its answer
    form's hidden fields (CSRF token, version) sent back with the message, as a browser sends
    it (multipart, the file input empty, the button's name and value); the 303 to the page's
    notice (``?fait=repondre``), followed as the browser follows it."""
    assert agent.session is not None
    html = await page(agent, f"{gateway}/admin/requetes/{code}")
    form = _FORM.search(html)
    if form is None:
        raise AssertionError(f"no answer form (action …/repondre) on /admin/requetes/{code}")
    tag, action, inner = form.group(1), unescape(form.group(2)), form.group(3)
    fields: dict[str, str] = {}
    for hidden in _HIDDEN.findall(inner):
        attrs = dict(_ATTR.findall(hidden))
        if "name" in attrs:
            fields[attrs["name"]] = unescape(attrs.get("value", ""))
    textarea = _TEXTAREA.search(inner)
    fields[textarea.group(1) if textarea else "message"] = ANSWER
    fields["bouton"] = "envoyer"  # « Répondre avec envoi de mail », not « Editer »
    target = action if action.startswith("http") else gateway + action
    data: Any = fields
    if "multipart/form-data" in tag:
        data = aiohttp.FormData(default_to_multipart=True)
        for name, value in fields.items():
            data.add_field(name, value)
        # No document chosen: a browser still sends the part, with an empty file name.
        data.add_field("document", b"", filename="", content_type="application/octet-stream")
    async with agent.session.post(target, data=data, allow_redirects=False) as resp:
        where = resp.headers.get("Location", "")
        if resp.status != 303 or "fait=repondre" not in where:
            text = await resp.text()
            raise AssertionError(f"POST {action}: {resp.status} {where} {text[:300]}")
    # The page the browser follows the 303 to, with « La réponse est enregistrée. … ».
    notice = await page(agent, where if where.startswith("http") else gateway + where)
    if "La réponse est enregistrée" not in notice:
        raise AssertionError(f"{where}: no « La réponse est enregistrée »")


# -- the answers -----------------------------------------------------------------------------


async def answers(
    conn: asyncpg.Connection,
    run: BenchRun,
    agents: list[Agent],
    answer: Callable[[Agent, str, int], Awaitable[None]],
    stats_before: int,
) -> bool:
    say()
    count = sum(len(a.to_answer) for a in agents)
    say(f"answers: {len(agents)} agents at once, {count} distinct requests in treatment:")

    async def one(agent: Agent, i: int) -> None:
        code, version = agent.to_answer[i]
        await answer(agent, code, version)

    calls = min(len(a.to_answer) for a in agents)
    try:
        took, wall = await concurrently(agents, calls, one)
    except Skipped as exc:
        say(f"  skipped: {exc}")
        return True
    except AssertionError as exc:
        say(f"  FAILED: {exc}")
        return False
    done = time.perf_counter()
    say(f"  {'kind':44} {'p50':>8} {'p95':>8} {'p99':>8} {'max':>8} {'calls/s':>8}   (ms)")
    report("read the request + answer (one form)", took, wall)
    say(f"  answers per second: {len(took) / wall:.1f} ({len(took)} in {wall:.2f} s)")
    answered = [c for a in agents for c, _ in a.to_answer[:calls]]
    treated = await conn.fetchval(
        """SELECT count(*) FROM treatment.treatments
           WHERE code = ANY($1::text[]) AND status = 'treated'""",
        answered,
    )
    lines = await conn.fetchval(
        """SELECT count(*) FROM treatment.answers a JOIN treatment.treatments t
               USING (request_id)
           WHERE t.code = ANY($1::text[]) AND a.answered_at > now() - interval '1 hour'""",
        answered,
    )
    emails = {
        r["email"]
        for r in await conn.fetch(
            """SELECT contact ->> 'email' AS email FROM treatment.treatments
               WHERE code = ANY($1::text[]) AND contact ? 'email'""",
            answered,
        )
    }
    ok = treated == len(answered) and lines == len(answered)
    say(f"  in the database: {treated}/{len(answered)} treated, {lines} answers written")
    # Downstream: the events relayed, stats' counters moved, the emails at the SMTP server.
    deadline = time.perf_counter() + 120
    relayed = stats_moved = mailed = None
    while time.perf_counter() < deadline and None in (relayed, stats_moved, mailed):
        now = time.perf_counter()
        if relayed is None and not await conn.fetchval(
            "SELECT count(*) FROM treatment.outbox WHERE sent_at IS NULL"
        ):
            relayed = now - done
        if stats_moved is None and (
            await conn.fetchval("SELECT count(*) FROM stats.request_facts WHERE status = 'treated'")
            - stats_before
            >= len(answered)
        ):
            stats_moved = now - done
        if mailed is None and run.sink.arrived(emails) == len(emails):
            mailed = now - done
        await asyncio.sleep(0.05)

    def after(value: float | None) -> str:
        return f"{value:.2f} s" if value is not None else "not within 120 s"

    say(f"  after the last answer: treatment's outbox empty {after(relayed)}, stats' counters")
    say(f"  moved {after(stats_moved)}, the {len(emails)} answer emails at the SMTP server")
    say(f"  {after(mailed)} ({run.sink.arrived(emails)} arrived)")
    return ok


# -- the run -----------------------------------------------------------------------------------


async def show_counters(stats: Stats, agent: Agent) -> None:
    """One body's dashboard over the last twelve months, as the focal point reads it."""
    today = datetime.now(UTC).date()
    status, c = await stats.body_dashboard(
        today - timedelta(days=365), today, identity=agent.identity
    )
    say()
    if status != 200:
        say(f"/stats/body-dashboard for {agent.body_id}: {status} {str(c)[:200]}")
        return
    say(f"{agent.body_id}'s « Tableau de bord », the last twelve months (/stats/body-dashboard):")
    say(
        f"  Total requêtes {c['total']}, Réclamations validées "
        f"{c['validated']['reclamation']['count']} ({c['validated']['reclamation']['percent']} %),"
        f" à traiter {c['to_treat']}, traitées {c['treated']}, Avis attendus "
        f"{c['opinions_expected']}, exprimés {c['opinions_given']}, d'insatisfaction "
        f"{c['not_satisfied']}, Sans retour {c['without_opinion']}, En attente {c['waiting']}"
    )


async def measure_all(
    conn: asyncpg.Connection,
    bench: BenchRun,
    platform: Platform,
    agents: list[Agent],
    stats_before: int,
    args: argparse.Namespace,
) -> bool:
    """The timed calls and the answers, through the API or the pages; False if one failed."""
    working = agents[: args.agents]
    async with aiohttp.ClientSession() as http:
        services = Services(
            http,
            {name: platform.url(name) for name in ("treatment", "stats")},
            DEVELOPMENT_IDENTITY_SECRET.encode(),
        )
        treatment, stats = Treatment(services), Stats(services)
        answer: Callable[[Agent, str, int], Awaitable[None]]
        await show_counters(stats, working[0])
        try:
            if args.through == "api":
                kinds = api_kinds(treatment, stats, args)
                if not await words_supported(treatment, working[0]):
                    say()
                    say("search by words: treatment's GET /requests ignores q= today: skipped")
                    kinds.pop("search: words (q=)")
                header(f"treatment's and stats' APIs, {len(working)} agents at once")
                ok = await measure(working, args.calls, kinds)

                async def answer(agent: Agent, code: str, version: int) -> None:
                    await answer_api(treatment, agent, code, version)

            else:
                gateway = platform.url("gateway")
                for agent in working:
                    agent.session = await sign_in(gateway, agent)
                header(f"the gateway's pages, {len(working)} agents signed in at once")
                ok = await measure(working, args.calls, page_kinds(gateway, args))

                async def answer(agent: Agent, code: str, version: int) -> None:
                    await answer_page(gateway, agent, code, version)

            ok = await answers(conn, bench, working, answer, stats_before) and ok
        finally:
            for agent in working:
                if agent.session is not None:
                    await agent.session.close()
    return ok


async def run(args: argparse.Namespace) -> int:
    say(f"machine: {os.cpu_count()} CPUs, Python {host.python_version()}, load {os.getloadavg()}")
    say(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; requests {args.requests} across "
        f"{args.bodies} bodies; {args.agents} agents at once, {args.calls} calls of each kind "
        f"each, {args.answers} answers each; through {args.through}"
    )
    async with bench_run(keep=args.keep) as bench:
        # The measured processes open their whole pool at start: on a server shared with others'
        # tests, a connection opened mid-run may find PostgreSQL full (503 from the service).
        warm = {"MILIE_DB_POOL_MIN": str(POOL), "MILIE_DB_POOL_MAX": str(POOL)}
        # The agents sign in with the password alone: the benchmark times the pages, not TOTP.
        platform = await bench.start_platform(
            per_process={
                "treatment": warm,
                "stats": warm,
                "gateway": {**warm, "MILIE_SECOND_FACTOR_REQUIRED": "false"},
            }
        )
        say("the six processes are up and have migrated their schemas")
        conn = await asyncpg.connect(bench.database_url)
        try:
            for name in args.drop_index:
                await conn.execute(f"DROP INDEX {name}")
                say(f"dropped {name} (--drop-index)")
            agents = await create_agents(conn, args.bodies)
            await seed(conn, args, agents)
            await describe(conn, agents, args)
            if args.explain:
                await explain(conn, agents[0].body_id, agents[0].en_cours_codes[0], WORDS[0])
            stats_before = await conn.fetchval(
                "SELECT count(*) FROM stats.request_facts WHERE status = 'treated'"
            )
            labels = {proc.pid: name for name, proc in platform.processes.items()}
            labels[os.getpid()] = "bench (agents + SMTP)"
            cpu_before, machine_before, started = cpu_by_pid(), machine_cpu(), time.perf_counter()
            ok = await measure_all(conn, bench, platform, agents, stats_before, args)
            seconds = time.perf_counter() - started
            busy = machine_cpu()[0] - machine_before[0]
            say()
            say(
                f"CPU while measuring ({seconds:.0f} s), % of one core ({os.cpu_count()} cores = "
                f"{100 * (os.cpu_count() or 1)} %): the whole machine {100 * busy / seconds:.0f}; "
                + ", ".join(
                    f"{g} {100 * used / seconds:.0f}"
                    for g, used in cpu_used(cpu_before, cpu_by_pid(), labels)
                )
            )
        finally:
            await conn.close()
        say()
        say(f"load average at the end {os.getloadavg()}")
        return 0 if ok else 1


main = main_of(parse_args, run)

if __name__ == "__main__":
    sys.exit(main())
