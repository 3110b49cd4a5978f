"""Load benchmark: submissions through the gateway's JSON API, acknowledgement emails at a real
SMTP server, figures printed.

    python -m bench.load [--requests 3000 | --duration 15] [--concurrency 64] [--copies 1]
                         [--dev-mail-server] [--set [PROCESS:]KEY=VALUE]...
                         [--hold-consumers] [--keep]

It starts the six processes as ``make up`` does (``deploy.local.platform.Platform``) on a fresh
database and broker namespace of its own, with an in-process aiosmtpd server (or, with
``--dev-mail-server``, make up's development mail server, a process writing files), warms up,
fires the submissions, waits for every email, prints the figures, and removes what it created
(also on Ctrl-C or an error). ``DATABASE_URL``/``AMQP_URL`` come from the environment (``make
bench`` sets them), else the local default servers. Never collected by pytest (tests live in
``tests/``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import platform as host
import random
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from urllib.parse import urlsplit

import aiohttp
import asyncpg

from bench.harness import (
    ROOT,
    MailDirectory,
    MailSink,
    bench_run,
    cpu_by_pid,
    cpu_used,
    database_activity,
    delta,
    free_port,
    main_of,
    mean_ms,
    percentile,
    process_env,
    queue_depths,
    say,
    scrape,
    total,
    wait_for_mail,
)
from deploy.local.platform import PROCESSES, Platform

# The targets this benchmark reports against (2-core machine).
GOAL_RATE = 300.0
GOAL_MAIL_SECONDS = 5.0
NATURES = (
    "reclamation",
    "suggestion",
    "observation",
    "motion_felicitations",
    "demande_information",
)
MESSAGES = (
    "L'accueil est décevant, la file d'attente est longue.",
    "Le guichet ferme avant l'heure affichée.",
    "Merci à l'agent qui m'a reçu, il a été patient et clair.",
    "Quels documents faut-il pour renouveler un passeport ?",
    "Ouvrir le guichet le samedi matin rendrait service aux travailleurs.",
    "La salle d'attente n'a pas de chaises en nombre suffisant.",
)
NAMES = (
    ("KOUASSI", "Aya"),
    ("KONÉ", "Mamadou"),
    ("TRAORÉ", "Awa"),
    ("N'GUESSAN", "Jean-Marc"),
    ("YAO", "Akissi"),
    ("", ""),
)


# -- load ------------------------------------------------------------------------------------


@dataclass
class Catalogue:
    bodies: list[str]
    themes: list[str]
    places: list[str]
    # The themes a body offers, when the catalogue maps some to it (otherwise every theme).
    body_themes: dict[str, list[str]] = field(default_factory=dict)


async def load_catalogue(http: aiohttp.ClientSession, gateway: str) -> Catalogue:
    async def get(path: str, key: str) -> list[dict]:
        async with http.get(gateway + path) as resp:
            resp.raise_for_status()
            return (await resp.json())[key]

    raw_bodies = await get("/api/v1/bodies", "bodies")
    themes = [t["id"] for t in await get("/api/v1/themes", "themes") if t.get("parent_id")]
    places = [p["id"] for p in await get("/api/v1/places", "places")]
    body_themes = {}
    for b in raw_bodies:
        offered = [t["id"] if isinstance(t, dict) else t for t in b.get("themes") or []]
        if offered:
            body_themes[b["id"]] = offered
    return Catalogue([b["id"] for b in raw_bodies], themes, places, body_themes)


def body_maker(catalogue: Catalogue, run_id: str, prefix: str, seed: int) -> Callable[[int], dict]:
    """A valid, varied submission for index ``i``, with an email address of its own."""
    rng = random.Random(seed)

    def make(i: int) -> dict:
        last, first = rng.choice(NAMES)
        body_id = rng.choice(catalogue.bodies)
        themes = catalogue.body_themes.get(body_id, catalogue.themes)
        body = {
            "nature": rng.choice(NATURES),
            "body_id": body_id,
            "message": f"{rng.choice(MESSAGES)} (essai de charge {prefix}{i})",
            "contact": {
                "last_name": last,
                "first_names": first,
                "country": "CI",
                "phone": f"+225{rng.choice(('01', '05', '07'))}{rng.randrange(10**8):08d}",
                "email": f"bench.{run_id}.{prefix}{i}@example.ci",
            },
            "terms_accepted": True,
        }
        if themes and rng.random() < 0.8:
            body["theme_id"] = rng.choice(themes)
        if catalogue.places and rng.random() < 0.6:
            body["place_id"] = rng.choice(catalogue.places)
        return body

    return make


@dataclass
class Phase:
    latencies: list[float] = field(default_factory=list)
    # email → (code, when the 201 came back)
    accepted: dict[str, tuple[str, float]] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)
    started: float = 0.0
    ended: float = 0.0
    last_accepted: float = 0.0
    sent: int = 0


async def fire(
    http: aiohttp.ClientSession,
    url: str,
    count: int,
    concurrency: int,
    make_body: Callable[[int], dict],
    duration: float | None = None,
) -> Phase:
    """``count`` submissions from ``concurrency`` clients, each sending the next when answered;
    with ``duration``, as many as they send in that many seconds instead."""
    phase = Phase()
    # shared: each index is taken by one client
    indexes = itertools.count() if duration else iter(range(count))
    deadline = time.perf_counter() + (duration or 0.0)

    async def client() -> None:
        for i in indexes:
            if duration and time.perf_counter() >= deadline:
                return
            phase.sent += 1
            body = make_body(i)
            started = time.perf_counter()
            try:
                async with http.post(url, json=body) as resp:
                    status, data = resp.status, await resp.read()
            except (aiohttp.ClientError, TimeoutError) as exc:
                phase.errors[type(exc).__name__] += 1
                continue
            answered = time.perf_counter()
            if status == 201:
                phase.latencies.append(answered - started)
                phase.accepted[body["contact"]["email"].lower()] = (
                    json.loads(data)["code"],
                    answered,
                )
                phase.last_accepted = max(phase.last_accepted, answered)
            else:
                phase.errors[f"HTTP {status}"] += 1
                if len(phase.samples) < 3:
                    phase.samples.append(f"HTTP {status}: {data[:300].decode(errors='replace')}")

    phase.started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    phase.ended = time.perf_counter()
    return phase


def check_codes(
    sink: MailSink | MailDirectory, accepted: dict[str, tuple[str, float]]
) -> tuple[int, int, int]:
    """(emails carrying their request's code, recipients with more than one email, recipients
    whose email lacks the code)."""
    good = duplicates = wrong = 0
    for recipient, (code, _) in accepted.items():
        got = sink.by_recipient.get(recipient, [])
        if not got:
            continue
        if len(got) > 1:
            duplicates += 1
        message = message_from_bytes(got[0][1], policy=policy.default)
        text = str(message["Subject"] or "")
        part = message.get_body(preferencelist=("plain",))
        if part is not None:
            text += part.get_content()
        if code in text:
            good += 1
        else:
            wrong += 1
    return good, duplicates, wrong


# -- the run ---------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=3000, help="submissions measured (3000)")
    p.add_argument(
        "--duration",
        type=float,
        default=None,
        metavar="SECONDS",
        help="submit for that many seconds instead of --requests submissions",
    )
    p.add_argument(
        "--dev-mail-server",
        action="store_true",
        help="send the emails to make up's development mail server (deploy/local/mailserver.py, "
        "a process writing each email to a file, read back here) instead of the benchmark's "
        "in-process SMTP server",
    )
    p.add_argument("--concurrency", type=int, default=64, help="concurrent clients (64)")
    p.add_argument("--warmup", type=int, default=50, help="submissions before measuring (50)")
    p.add_argument(
        "--mail-timeout", type=float, default=120.0, help="seconds to wait for the emails (120)"
    )
    p.add_argument(
        "--copies",
        type=int,
        default=1,
        help="copies of notify (1). Intake copies are not offered: the gateway takes one "
        "intake URL, so extra copies would only consume events, not take submissions",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="[PROCESS:]KEY=VALUE",
        help="environment for every process, or for one: notify:MILIE_SENDER_CONCURRENCY=8 "
        "(repeatable); to try settings without editing code",
    )
    p.add_argument(
        "--hold-consumers",
        action="store_true",
        help="diagnosis: pause (SIGSTOP) triage, treatment, stats and notify while the "
        "submissions run, to see what the front path (gateway, intake, PostgreSQL, outbox relay, "
        "RabbitMQ) accepts alone; the emails then time how fast notify drains the backlog",
    )
    p.add_argument(
        "--nice",
        action="append",
        default=[],
        metavar="PROCESS=N",
        help="diagnosis: run PROCESS at CPU priority N (1-19 is lower), e.g. stats=10, to see "
        "what serving the front path first does to the rate and the delays (repeatable)",
    )
    p.add_argument("--seed", type=int, default=1, help="seed of the submissions' contents")
    p.add_argument("--keep", action="store_true", help="keep the database and broker namespace")
    args = p.parse_args(argv)
    if (
        (args.duration is not None and args.duration <= 0)
        or args.requests < 1
        or args.concurrency < 1
        or args.copies < 1
        or args.warmup < 0
    ):
        p.error("--requests, --concurrency and --copies must be ≥ 1, --duration > 0, --warmup ≥ 0")
    args.env = process_env(p, args.set)  # process name ("" for every one) → {variable: value}
    nice: dict[str, int] = {}
    for item in args.nice:
        name, sep, value = item.partition("=")
        if not sep or name not in PROCESSES or not value.lstrip("-").isdigit():
            p.error(f"--nice wants PROCESS=N with PROCESS among {', '.join(PROCESSES)}")
        nice[name] = int(value)
    args.nice = nice
    return args


async def run(args: argparse.Namespace) -> int:
    say(
        f"Miliê load benchmark — {os.cpu_count()} CPU(s), Python {host.python_version()}, "
        f"{host.system()} {host.release()}, load average {os.getloadavg()[0]:.2f} at start"
    )
    say(
        "parameters: "
        + (f"duration={args.duration:g}s" if args.duration else f"requests={args.requests}")
        + f" concurrency={args.concurrency} "
        f"warmup={args.warmup} mail-timeout={args.mail_timeout:g}s notify copies={args.copies}"
        + (" SMTP=make up's development mail server" if args.dev_mail_server else "")
        + (f" set={' '.join(args.set)}" if args.set else "")
    )

    async with bench_run(
        keep=args.keep, env=args.env.get("", {}), dev_mail_server=args.dev_mail_server
    ) as bench:
        stack, sink, env, log_dir = bench.stack, bench.sink, bench.env, bench.log_dir
        run_id, amqp_url, namespace = bench.run_id, bench.amqp_url, bench.namespace
        smtp_port = bench.smtp_port
        where = urlsplit(bench.database_url)
        say(
            f"database {where.path.lstrip('/')} on {where.hostname}:{where.port or 5432}, "
            f"broker namespace {namespace}, logs {log_dir.relative_to(ROOT)}/"
        )

        ports = {name: free_port() for name in PROCESSES}
        main = Platform(env=env, ports=ports, log_dir=log_dir, gateway_metrics_port=free_port())
        # Platform keys its processes by name, one of each: every further copy of notify gets a
        # Platform of its own that shares the others' ports (so the same URLs) but its HTTP port.
        copies = [
            Platform(
                env=env, ports={**ports, "notify": free_port()}, log_dir=log_dir / f"notify-{i}"
            )
            for i in range(2, args.copies + 1)
        ]
        platforms = [main, *copies]

        async def stop_platforms() -> None:
            for p in reversed(platforms):
                await p.stop_all()

        stack.push_async_callback(stop_platforms)
        t0 = time.perf_counter()
        for name in PROCESSES:
            await main.start(name, args.env.get(name))
        for p in copies:
            await p.start("notify", args.env.get("notify"))
        for p in platforms:
            await p.wait_ready(timeout=120)
        held = [
            p.processes[n].pid
            for p in platforms
            for n in ("triage", "treatment", "stats", "notify")
            if args.hold_consumers and n in p.processes
        ]

        for p in platforms:
            for name, niceness in args.nice.items():
                if name in p.processes:
                    os.setpriority(os.PRIO_PROCESS, p.processes[name].pid, niceness)

        def resume() -> None:
            for pid in held:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGCONT)

        stack.callback(resume)  # before stopping: a stopped process cannot take its SIGTERM
        say(f"platform ready in {time.perf_counter() - t0:.1f} s; SMTP on 127.0.0.1:{smtp_port}")

        labels = {proc.pid: name for name, proc in main.processes.items()}
        for i, p in enumerate(copies, start=2):
            labels[p.processes["notify"].pid] = f"notify#{i}"
        if bench.mail_server is not None:
            labels[os.getpid()] = "bench (clients, reading the mail files)"
            labels[bench.mail_server.pid] = "mailserver"
        else:
            labels[os.getpid()] = "bench (clients + SMTP)"
        process_urls = {n: main.metrics_url(n) for n in PROCESSES} | {
            f"notify#{i}": p.metrics_url("notify") for i, p in enumerate(copies, start=2)
        }

        gateway = main.url("gateway")
        url = gateway + "/api/v1/requests"
        connector = aiohttp.TCPConnector(limit=args.concurrency)
        timeout = aiohttp.ClientTimeout(total=60)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
            catalogue = await load_catalogue(http, gateway)

            if args.warmup:
                warm = await fire(
                    http,
                    url,
                    args.warmup,
                    min(args.concurrency, args.warmup),
                    body_maker(catalogue, run_id, "w", args.seed + 1),
                )
                got, done = await wait_for_mail(sink, set(warm.accepted), 60)
                say(
                    f"warm-up: {len(warm.accepted)}/{args.warmup} accepted, "
                    f"{got} emails in {done - warm.ended:.1f} s after the last"
                )
                for sample in warm.samples:
                    say(f"  e.g. {sample}")

            before = {n: await scrape(http, u) for n, u in process_urls.items()}
            db_before = await database_activity(bench.database_url)
            for pid in held:
                os.kill(pid, signal.SIGSTOP)
            cpu_before = cpu_by_pid()
            phase = await fire(
                http,
                url,
                args.requests,
                args.concurrency,
                body_maker(catalogue, run_id, "", args.seed),
                args.duration,
            )
            cpu_after = cpu_by_pid()
            if held:
                resume()
                say("consumers held during the submissions, resumed now")
            at_end = {n: await scrape(http, u) for n, u in process_urls.items()}
            depths = await queue_depths(amqp_url, namespace, ("intake", "notify", "stats"))

            recipients = set(phase.accepted)
            got, waited_until = await wait_for_mail(sink, recipients, args.mail_timeout)
            cpu_mail = cpu_by_pid()
            # notify counts an email once its transaction committed, a moment after the SMTP
            # server has it.
            await asyncio.sleep(1.0)
            after = {n: await scrape(http, u) for n, u in process_urls.items()}
            db_after = await database_activity(bench.database_url)

        report(args, phase, sink, recipients, got, waited_until, at_end, depths)
        say()
        seconds = phase.ended - phase.started
        during = cpu_used(cpu_before, cpu_after, labels)
        say(
            f"CPU during the submissions, % of one core ({os.cpu_count()} cores = "
            f"{100 * (os.cpu_count() or 1)} %): "
            + ", ".join(f"{g} {100 * used / seconds:.0f}" for g, used in during)
        )
        per = max(1, len(phase.accepted))
        whole = cpu_used(cpu_before, cpu_mail, labels)
        ours = sum(used for g, used in whole if not g.startswith(("other", "bench")))
        say(
            f"CPU per accepted submission, submissions' start → last email: "
            f"{1000 * ours / per:.1f} ms for the platform, PostgreSQL and RabbitMQ: "
            + ", ".join(f"{g} {1000 * used / per:.2f}" for g, used in whole)
        )
        report_metrics(before, at_end, after)
        if db_before and db_after:
            say(
                "  PostgreSQL, per accepted submission, from its start to the last email: "
                + ", ".join(
                    f"{(db_after[k] - db_before[k]) / per:.1f} {k.replace('_', ' ')}"
                    for k in db_after
                )
            )
        await report_database(bench.database_url)
        say(f"\nlogs: {log_dir}")
        ok = not phase.errors and got == len(recipients) and len(phase.accepted) == phase.sent
        return 0 if ok else 1
    return 1  # not reached: the stack re-raises


def report(
    args: argparse.Namespace,
    phase: Phase,
    sink: MailSink | MailDirectory,
    recipients: set[str],
    got: int,
    waited_until: float,
    at_end: dict[str, dict],
    depths: dict[str, int],
) -> None:
    seconds = phase.ended - phase.started
    accepted = len(phase.accepted)
    rate = accepted / seconds if seconds else 0.0
    errors = sum(phase.errors.values())
    say()
    say(
        f"submissions  {phase.sent} sent, {accepted} accepted (201), {errors} errors, "
        f"in {seconds:.2f} s → {rate:.0f} accepted/s  "
        f"[goal ≥ {GOAL_RATE:.0f}/s: {'met' if rate >= GOAL_RATE else 'NOT met'}]"
    )
    if phase.errors:
        say("  errors: " + ", ".join(f"{k} × {v}" for k, v in phase.errors.most_common()))
        for sample in phase.samples:
            say(f"  e.g. {sample}")
    lat = sorted(phase.latencies)
    if lat:
        say(
            "latency      "
            + "  ".join(
                f"{name} {1000 * percentile(lat, p):.0f} ms"
                for name, p in (("p50", 50), ("p95", 95), ("p99", 99), ("max", 100))
            )
            + "  (201 answers, client side)"
        )

    arrivals = {r: sink.by_recipient[r][0][0] for r in recipients if r in sink.by_recipient}
    if arrivals:
        last_mail = max(arrivals.values())
        tail = last_mail - phase.last_accepted
        per_mail = sorted(arrivals[r] - phase.accepted[r][1] for r in arrivals)
        complete = got == len(recipients)
        verdict = "met" if complete and tail <= GOAL_MAIL_SECONDS else "NOT met"
        if complete:
            say(
                f"emails       {got}/{len(recipients)} arrived; the last {tail:.2f} s after the "
                f"last accepted submission  [goal ≤ {GOAL_MAIL_SECONDS:.0f} s: {verdict}]"
            )
        else:
            say(
                f"emails       {got}/{len(recipients)} arrived, {len(recipients) - got} MISSING "
                f"after waiting {waited_until - phase.last_accepted:.0f} s "
                f"(the last that came: {tail:.2f} s after the last submission)  "
                f"[goal ≤ {GOAL_MAIL_SECONDS:.0f} s: NOT met]"
            )
        first_mail = min(arrivals.values())
        say(
            f"             per email, 201 → SMTP: p50 {percentile(per_mail, 50):.2f} s, "
            f"p95 {percentile(per_mail, 95):.2f} s, max {per_mail[-1]:.2f} s; "
            f"delivery rate {len(arrivals) / max(last_mail - first_mail, 1e-9):.0f}/s"
        )
        good, duplicates, wrong = check_codes(sink, phase.accepted)
        say(
            f"             {good} carry their request's code, {wrong} do not; "
            f"{duplicates} recipients got more than one"
        )
    else:
        say(f"emails       0/{len(recipients)} arrived within {args.mail_timeout:g} s")

    notify_end = at_end.get("notify", {})
    backlog = [
        f"intake outbox {total(at_end.get('intake', {}), 'milie_outbox_waiting'):.0f} rows",
        f"notify queue {depths.get('notify', '?')} msgs",
        f"notify deliveries pending {total(notify_end, 'milie_notifications_pending'):.0f}",
        f"notify outbox {total(notify_end, 'milie_outbox_waiting'):.0f}",
        f"stats queue {depths.get('stats', '?')}",
        f"intake queue {depths.get('intake', '?')}",
    ]
    say("backlog when the last submission was answered: " + ", ".join(backlog))
    say("  (outbox gauges refresh each second, the pending-deliveries one every 2 s)")


def report_metrics(before: dict, at_end: dict, after: dict) -> None:
    """A few lines from the processes' /metrics that explain the figures above."""
    gw_before, gw_after = before.get("gateway", {}), at_end.get("gateway", {})
    in_before, in_after = before.get("intake", {}), at_end.get("intake", {})
    say("metrics (submission phase unless said):")
    say(
        "  gateway POST /api/v1/requests mean "
        + mean_ms(
            gw_after,
            gw_before,
            "milie_http_request_duration_seconds",
            route="/api/v1/requests",
            method="POST",
        )
        + "; intake POST /requests mean "
        + mean_ms(
            in_after,
            in_before,
            "milie_http_request_duration_seconds",
            route="/requests",
            method="POST",
        )
    )
    published = delta(after.get("intake", {}), in_before, "milie_messages_published_total")
    say(f"  intake: {published:.0f} events published by the outbox relay (until the end)")
    notifies = [n for n in after if n.startswith("notify")]
    for name in notifies:
        b, a = before.get(name, {}), after.get(name, {})
        consumed = delta(a, b, "milie_messages_consumed_total")
        sent = delta(a, b, "milie_notifications_sent_total", medium="email")
        errors = delta(a, b, "milie_notification_attempt_errors_total")
        say(
            f"  {name}: {consumed:.0f} events consumed, {sent:.0f} emails sent, "
            f"{errors:.0f} attempt errors; delivery row created → SMTP accepted mean "
            + mean_ms(a, b, "milie_notification_delivery_seconds", medium="email").replace(
                " ms", " ms (until the end)"
            )
        )
    for name in ("triage", "stats", "treatment"):
        b, a = before.get(name, {}), after.get(name, {})
        say(f"  {name}: {delta(a, b, 'milie_messages_consumed_total'):.0f} events consumed")


async def report_database(url: str) -> None:
    """What the run's database says about the emails: statuses, attempts, the last error."""
    try:
        conn = await asyncpg.connect(url)
    except Exception as exc:
        say(f"  (database not readable: {exc!r})")
        return
    try:
        rows = await conn.fetch(
            """SELECT status, count(*) AS n, max(attempts) AS attempts,
                      count(*) FILTER (WHERE attempts > 1) AS retried,
                      max(last_error) AS error
               FROM notify.deliveries GROUP BY status ORDER BY status"""
        )
        unsent = await conn.fetchval("SELECT count(*) FROM intake.outbox WHERE sent_at IS NULL")
    except Exception as exc:
        say(f"  (notify.deliveries not readable: {exc!r})")
        return
    finally:
        await conn.close()
    parts = [
        f"{r['status']} {r['n']} (max attempts {r['attempts']}, {r['retried']} retried"
        + (f", e.g. {r['error'][:200]}" if r["error"] else "")
        + ")"
        for r in rows
    ]
    say(f"  notify.deliveries: {'; '.join(parts) or 'none'}; intake outbox unsent {unsent}")


main = main_of(parse_args, run)


if __name__ == "__main__":
    sys.exit(main())
