"""Submissions with a 1 Mo attachment, through the citizen's web pages, figures printed.

    python -m bench.attachments [--requests 200] [--concurrency 16] [--size 1048576]

Each virtual citizen opens « Exprimez votre préoccupation » once (its form cookie and token),
then, for every submission: posts the form with the file (multipart, streamed by the gateway
into intake's draft), follows the redirection to « Etes-vous sûr… ? », posts « OK », follows the
redirection to the page with the code. One submission is timed from the form's POST to the code
page. The six processes start as ``make up`` starts them (``bench.load``'s helpers), on a fresh
database and broker namespace removed at the end; the acknowledgement emails are awaited at an
in-process SMTP server; the database is checked for one stored file per request and no draft
file left. Not a test: run it by hand (or ``make bench``-style with DATABASE_URL/AMQP_URL set).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import platform as host
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field

import aiohttp
import asyncpg
import pikepdf

from bench.harness import ROOT, bench_run, main_of, percentile, say, wait_for_mail

FORM = "/soumettre/formulaire"
BODY = "ministere-budget"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
CODE = re.compile(r'id="code">(\d{10})<')


def attachment(size: int) -> bytes:
    """A readable PDF of about ``size`` bytes that compresses no better than a real scan (intake
    opens every PDF it keeps: random bytes in a stream of a real document)."""
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.Root.Scan = pdf.make_stream(os.urandom(max(size - 600, 1)))
    out = io.BytesIO()
    pdf.save(out, compress_streams=False)
    return out.getvalue()


@dataclass
class Phase:
    latencies: list[float] = field(default_factory=list)
    codes: dict[str, str] = field(default_factory=dict)  # email → code
    errors: Counter[str] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)
    started: float = 0.0
    ended: float = 0.0


async def submit_once(
    http: aiohttp.ClientSession, gateway: str, token: str, email: str, data: bytes, i: int
) -> str:
    """One submission through the pages; returns the code."""
    form = aiohttp.FormData()
    form.add_field("csrf_token", token)
    form.add_field("draft_id", "")
    form.add_field("body_id", BODY)
    for name, value in (
        ("place_id", "abidjan-plateau"),
        ("nature", "reclamation"),
        ("theme_id", "accueil-espace"),
        ("message", f"L'accueil est décevant, la file d'attente est longue (essai {i})."),
    ):
        form.add_field(name, value)
    form.add_field("attachments", data, filename=f"scan-{i}.pdf", content_type="application/pdf")
    for name, value in (
        ("last_name", "KOUASSI"),
        ("first_names", "Aya"),
        ("country", "CI"),
        ("phone", "07 07 12 34 56"),
        ("email", email),
        ("terms_accepted", "on"),
    ):
        form.add_field(name, value)
    async with http.post(gateway + FORM, data=form) as resp:  # → 303 → the confirmation
        page = await resp.text()
        if resp.status != 200 or "/soumettre/confirmer" not in str(resp.url):
            raise RuntimeError(f"form: HTTP {resp.status} at {resp.url}: {page[:200]!r}")
        draft_id = str(resp.url).rsplit("brouillon=", 1)[1]
    async with http.post(
        gateway + "/soumettre/confirmer", data={"csrf_token": token, "draft_id": draft_id}
    ) as resp:  # → 303 → the code
        page = await resp.text()
        found = CODE.search(page)
        if resp.status != 200 or found is None:
            raise RuntimeError(f"OK: HTTP {resp.status} at {resp.url}: {page[:200]!r}")
        return found.group(1)


async def fire(
    gateway: str, count: int, concurrency: int, data: bytes, run_id: str, prefix: str
) -> Phase:
    phase = Phase()
    indexes = iter(range(count))

    async def client() -> None:
        jar = aiohttp.CookieJar(unsafe=True)  # the gateway answers on an IP address
        timeout = aiohttp.ClientTimeout(total=120)
        async with aiohttp.ClientSession(cookie_jar=jar, timeout=timeout) as http:
            async with http.get(gateway + FORM + f"?nature=reclamation&organisme={BODY}") as r:
                token = TOKEN.search(await r.text()).group(1)
            for i in indexes:
                email = f"bench.{run_id}.{prefix}{i}@example.ci"
                started = time.perf_counter()
                try:
                    code = await submit_once(http, gateway, token, email, data, i)
                except (aiohttp.ClientError, TimeoutError, RuntimeError) as exc:
                    phase.errors[type(exc).__name__] += 1
                    if len(phase.samples) < 3:
                        phase.samples.append(str(exc)[:300])
                    continue
                phase.latencies.append(time.perf_counter() - started)
                phase.codes[email] = code

    phase.started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    phase.ended = time.perf_counter()
    return phase


async def stored(url: str) -> tuple[int, int, int]:
    """(requests, attachments, draft files left) in the run's database."""
    conn = await asyncpg.connect(url)
    try:
        return (
            await conn.fetchval("SELECT count(*) FROM intake.requests"),
            await conn.fetchval("SELECT count(*) FROM intake.attachments"),
            await conn.fetchval("SELECT count(*) FROM intake.draft_files"),
        )
    finally:
        await conn.close()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench.attachments", description=__doc__.split("\n")[0]
    )
    p.add_argument("--requests", type=int, default=200, help="submissions measured (200)")
    p.add_argument("--concurrency", type=int, default=16, help="concurrent citizens (16)")
    p.add_argument("--warmup", type=int, default=10, help="submissions before measuring (10)")
    p.add_argument("--size", type=int, default=1024 * 1024, help="attachment bytes (1 Mio)")
    p.add_argument("--mail-timeout", type=float, default=120.0, help="seconds to await emails")
    p.add_argument("--keep", action="store_true", help="keep the database and namespace")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="environment for every process, e.g. MILIE_DB_POOL_MAX=10 (repeatable)",
    )
    args = p.parse_args(argv)
    if args.requests < 1 or args.concurrency < 1 or not 16 <= args.size <= 5 * 1024 * 1024:
        p.error("--requests and --concurrency ≥ 1, 16 ≤ --size ≤ 5 Mio")
    for item in args.set:
        if "=" not in item:
            p.error(f"--set wants KEY=VALUE, got {item!r}")
    return args


async def run(args: argparse.Namespace) -> int:
    say(
        f"Miliê attachments benchmark — {os.cpu_count()} CPU(s), Python "
        f"{host.python_version()}, load average {os.getloadavg()[0]:.2f} at start"
    )
    extra = dict(item.split("=", 1) for item in args.set)
    async with bench_run(keep=args.keep, env=extra) as bench:
        say(
            f"parameters: requests={args.requests} concurrency={args.concurrency} "
            f"warmup={args.warmup} attachment={args.size} bytes; "
            f"logs {bench.log_dir.relative_to(ROOT)}/"
        )
        sink, run_id = bench.sink, bench.run_id
        platform = await bench.start_platform()
        gateway = platform.url("gateway")
        data = attachment(args.size)
        warmed = 0

        if args.warmup:
            warm = await fire(
                gateway, args.warmup, min(args.concurrency, args.warmup), data, run_id, "w"
            )
            warmed = len(warm.codes)
            say(f"warm-up: {warmed}/{args.warmup} stored")
        phase = await fire(gateway, args.requests, args.concurrency, data, run_id, "")
        seconds = phase.ended - phase.started
        accepted = len(phase.codes)
        say()
        say(
            f"submissions  {args.requests} sent, {accepted} stored, "
            f"{sum(phase.errors.values())} errors, in {seconds:.2f} s → "
            f"{accepted / seconds:.1f} submissions/s, "
            f"{accepted * args.size / seconds / 1024**2:.1f} Mio/s of attachments"
        )
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
                + "  (form POST with the file → code page, both redirections followed)"
            )
        recipients = set(phase.codes)
        got, _ = await wait_for_mail(sink, recipients, args.mail_timeout)
        say(f"emails       {got}/{len(recipients)} acknowledgements arrived")
        requests, files, left = await stored(bench.database_url)
        expected = accepted + warmed
        say(
            f"database     {requests} requests, {files} attachments (expected {expected} each), "
            f"{left} draft files left"
        )
        ok = not phase.errors and got == len(recipients) and files == requests == expected
        return 0 if ok and left == 0 else 1
    return 1


main = main_of(parse_args, run)


if __name__ == "__main__":
    sys.exit(main())
