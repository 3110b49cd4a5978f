"""Benchmark of the analysts' queue: triage's API over 200,000 requests, figures printed.

    python -m bench.triage_queue [--requests 200000] [--waiting 0.2] [--calls 200]

It starts the triage service as its own process (``python -m services.triage``) on a fresh
database and broker namespace, lets it apply its migrations, fills its queue with ``--requests``
varied requests in one COPY (natures, 40 bodies, themes, places, channels, messages drawn from
a French vocabulary, submissions spread over a year, ``--waiting`` of them still waiting, the rest
decided), runs ANALYZE, then times ``--calls`` calls of each kind, one after the other, through
the HTTP API with a signed analyst identity:

- the queue's first page (oldest first, 25 rows, with the total);
- the first page sorted by deadline, and the overdue ones only;
- a search by words of the message (a different word each call, common and rare);
- a search by criteria (body + nature + a submission month, then theme + channel);
- words and criteria together; a code typed in the search box.

It prints p50/p95/p99/max per kind, once just after the load and once after a VACUUM (what
autovacuum soon does to such a table: the counts can then use index-only scans), and removes
what it created (also on Ctrl-C or an error; ``--keep`` keeps the database).
``DATABASE_URL``/``AMQP_URL`` come from the environment, else the local default servers.
Not a test: nothing here is collected by pytest.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform as host
import random
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import aiohttp
import asyncpg

from bench.harness import say
from bench.one_service import measure, service_alone
from shared.codes import new_code
from shared.identity import Identity, Role
from shared.lifecycle import QueueStatus as Q

ANALYST = Identity(staff_id="bench", role=Role.ANALYST, login="bench")
NATURES = (
    "reclamation",
    "suggestion",
    "observation",
    "motion_felicitations",
    "demande_information",
)
CHANNELS = ("web", "web", "web", "phone", "api", "broker")
THEMES = (
    ("accueil-environnement", "ACCUEIL : Environnement d'accueil / Salle d'attente"),
    ("accueil-agent", "ACCUEIL : Problème avec agent d'accueil"),
    ("accueil-espace", "ACCUEIL : Espace d'accueil"),
    ("accueil-renseignements", "ACCUEIL : Absence de renseignements"),
    (None, None),
)
SUBJECTS = (
    "le guichet des passeports",
    "l'état civil",
    "la mairie",
    "le centre de santé",
    "l'hôpital général",
    "la préfecture",
    "le tribunal",
    "le bureau des impôts",
    "le service des pensions",
    "la caisse de retraite",
    "l'école primaire",
    "le lycée moderne",
    "la sous-préfecture",
    "le commissariat",
    "le service des permis de conduire",
    "la direction des examens",
    "le centre des impôts fonciers",
    "l'agence de l'emploi",
)
COMPLAINTS = (
    "est fermé depuis une semaine",
    "ne répond pas au téléphone",
    "demande des frais non prévus",
    "fait attendre les usagers des heures",
    "a perdu mon dossier",
    "refuse de me recevoir",
    "n'affiche aucun horaire",
    "exige un rendez-vous introuvable",
    "accueille mal les personnes âgées",
    "manque de chaises dans la salle d'attente",
    "ouvre en retard chaque matin",
    "a un agent désagréable",
    "ne délivre pas les extraits de naissance",
    "est très propre",
    "a un personnel aimable et compétent",
    "traite les dossiers rapidement",
)
DETAILS = (
    "Merci de faire le nécessaire.",
    "Je demande une solution rapide.",
    "C'est inacceptable.",
    "Je souhaite être informé de la suite.",
    "Les usagers sont découragés.",
    "Félicitations à toute l'équipe.",
    "Il faudrait afficher les pièces à fournir.",
    "J'attends depuis trois mois.",
    "Pourquoi aucune information n'est donnée ?",
)
WORDS = (
    "guichet",
    "passeport",
    "pension",
    "retraite",
    "chaises",
    "extraits",
    "naissance",
    "dossier",
    "horaire",
    "rendez-vous",
    "décevant",
    "aimable",
    "attente",
    "impôts",
    "permis",
    "tribunal",
    "hôpital",
    "préfecture",
    "agent",
    "frais",
)
COLUMNS = (
    "request_id", "code", "nature", "body_id", "body_name", "theme_id", "theme_label",
    "place_id", "place_label", "channel", "message", "contact", "attachments", "submitted_at",
    "status", "admissibility_deadline", "queued_at", "decided_at", "decided_by",
)  # fmt: skip


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--waiting", type=float, default=0.2, help="share still waiting (0-1)")
    parser.add_argument("--calls", type=int, default=200, help="calls of each kind")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the database at the end")
    return parser.parse_args(argv)


def rows(count: int, waiting: float, seed: int) -> tuple[list[tuple], list[str]]:
    """The queue's rows (COPY records) and their codes."""
    rnd = random.Random(seed)
    now = datetime.now(UTC)
    bodies = [(f"organisme-{i:02d}", f"Organisme public n° {i}") for i in range(40)]
    places = [(f"commune-{i:03d}", f"Commune {i}") for i in range(200)]
    out, codes = [], []
    seen: set[str] = set()
    for _ in range(count):
        submitted = now - timedelta(seconds=rnd.randrange(365 * 86400))
        nature = rnd.choice(NATURES)
        body_id, body_name = rnd.choice(bodies)
        theme_id, theme_label = rnd.choice(THEMES)
        place_id, place_label = rnd.choice(places) if rnd.random() < 0.7 else (None, None)
        message = " ".join(
            [rnd.choice(SUBJECTS).capitalize(), rnd.choice(COMPLAINTS) + ".", rnd.choice(DETAILS)]
        )
        decided = rnd.random() >= waiting
        status = rnd.choice((Q.VALIDATED, Q.VALIDATED, Q.REJECTED, Q.REFORMULATION_REQUESTED))
        code = new_code()
        while code in seen:  # 200,000 draws among 900 million codes: a few collide
            code = new_code()
        seen.add(code)
        codes.append(code)
        contact = {
            "last_name": "KOUASSI",
            "first_names": "Aya",
            "country": "CI",
            "phone": "+2250707123456",
            "email": f"usager{len(codes)}@example.ci",
        }
        out.append(
            (
                uuid.uuid4(),
                code,
                nature,
                body_id,
                body_name,
                theme_id,
                theme_label,
                place_id,
                place_label,
                rnd.choice(CHANNELS),
                message,
                json.dumps(contact),
                "[]",
                submitted,
                (status if decided else Q.WAITING).value,
                submitted + timedelta(days=15),
                submitted,
                submitted + timedelta(days=3) if decided else None,
                "awa.kone" if decided else None,
            )
        )
    return out, codes


def kinds(calls: int, codes: list[str], seed: int) -> dict[str, list[dict]]:
    rnd = random.Random(seed + 1)
    now = datetime.now(UTC).date()

    def month() -> dict:
        start = now - timedelta(days=rnd.randrange(30, 360))
        return {"from": start.isoformat(), "to": (start + timedelta(days=30)).isoformat()}

    return {
        "first page (oldest first)": [{"limit": "25"}] * calls,
        "first page by deadline": [{"limit": "25", "sort": "deadline"}] * calls,
        "overdue only": [{"limit": "25", "overdue": "true"}] * calls,
        "page 40 (offset 975)": [{"limit": "25", "offset": "975"}] * calls,
        "words": [{"limit": "25", "q": rnd.choice(WORDS)} for _ in range(calls)],
        "two words, every status": [
            {"limit": "25", "q": f"{rnd.choice(WORDS)} {rnd.choice(WORDS)}", "status": "all"}
            for _ in range(calls)
        ],
        "body + nature + month": [
            {
                "limit": "25",
                "body_id": f"organisme-{rnd.randrange(40):02d}",
                "nature": rnd.choice(NATURES),
                **month(),
            }
            for _ in range(calls)
        ],
        "theme + channel, every status": [
            {
                "limit": "25",
                "theme_id": rnd.choice(THEMES[:4])[0],
                "channel": rnd.choice(CHANNELS),
                "status": "all",
            }
            for _ in range(calls)
        ],
        "words + body + place": [
            {
                "limit": "25",
                "q": rnd.choice(WORDS),
                "body_id": f"organisme-{rnd.randrange(40):02d}",
                "place_id": f"commune-{rnd.randrange(200):03d}",
                "status": "all",
            }
            for _ in range(calls)
        ],
        "a code": [{"q": rnd.choice(codes)} for _ in range(calls)],
    }


async def run(args: argparse.Namespace) -> int:
    say(f"machine: {os.cpu_count()} CPUs, Python {host.python_version()}, load {os.getloadavg()}")
    say(f"requests: {args.requests} ({args.waiting:.0%} waiting), {args.calls} calls per kind")
    async with service_alone("triage", keep=args.keep) as triage:
        started = time.perf_counter()
        records, codes = rows(args.requests, args.waiting, args.seed)
        conn = await asyncpg.connect(triage.database_url)
        try:
            await conn.copy_records_to_table(
                "queue_items", schema_name="triage", records=records, columns=COLUMNS
            )
            await conn.execute("ANALYZE triage.queue_items")
            waiting = await conn.fetchval(
                "SELECT count(*) FROM triage.queue_items WHERE status = $1", Q.WAITING.value
            )
            size = await conn.fetchval(
                "SELECT pg_size_pretty(pg_total_relation_size('triage.queue_items'))"
            )
        finally:
            await conn.close()
        say(
            f"filled in {time.perf_counter() - started:.1f} s: {len(records)} rows, "
            f"{waiting} waiting, table and indexes {size}"
        )
        async with aiohttp.ClientSession() as http:
            queries = {
                kind: [("/queue", params, ANALYST) for params in calls]
                for kind, calls in kinds(args.calls, codes, args.seed).items()
            }
            await measure(http, triage, queries, "just after the load (ANALYZE only)")
            # What autovacuum does soon after such a load: the visibility map lets the counts
            # use index-only scans.
            conn = await asyncpg.connect(triage.database_url)
            try:
                await conn.execute("VACUUM ANALYZE triage.queue_items")
            finally:
                await conn.close()
            await measure(http, triage, queries, "after VACUUM (as autovacuum leaves it)")
        return 0


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(run(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
