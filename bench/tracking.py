"""Tracking benchmark: look-ups per second through the gateway, with p50/p99, by kind.

    python -m bench.tracking [--requests 200] [--lookups 6000] [--page-lookups 1500]
                             [--concurrency 32] [--set KEY=VALUE]

It starts the six processes as ``make up`` does (``deploy.local.platform.Platform``, the way
``bench.load`` does) on a database and broker namespace of its own, submits ``--requests``
requests, then times:

- ``POST /api/v1/tracking``: right code + email, wrong code (well-formed, unknown), wrong email,
  mixed evenly, each from its own client address through a trusted proxy (``X-Forwarded-For``,
  the gateway trusting 127.0.0.1 here). The throttle runs on every look-up as in production;
  its limits are raised so that it counts without refusing: the benchmark measures the look-up
  and its counting, not the refusals;
- ``POST /suivre``: the HTML page, right pairs (with the CSRF cookie and field).

The wrong-code and wrong-email figures should match: both do one query and one comparison.
Never collected by pytest.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform as host
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field

import aiohttp
from yarl import URL

from bench.harness import ROOT, bench_run, main_of, percentile, say
from bench.load import body_maker, fire, load_catalogue
from shared.codes import new_code

KINDS = ("right", "wrong code", "wrong email")
EXPECTED = {"right": 200, "wrong code": 404, "wrong email": 404}


@dataclass
class Timings:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    started: float = 0.0
    ended: float = 0.0

    def add(self, kind: str, seconds: float) -> None:
        self.latencies.setdefault(kind, []).append(seconds)

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.latencies.values())


def client_address(rng: random.Random) -> str:
    return f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


async def api_lookups(
    http: aiohttp.ClientSession,
    gateway: str,
    pairs: list[tuple[str, str]],
    count: int,
    concurrency: int,
    seed: int,
) -> Timings:
    rng = random.Random(seed)
    timings = Timings()
    plan = iter(range(count))
    url = gateway + "/api/v1/tracking"

    async def client() -> None:
        for i in plan:
            kind = KINDS[i % len(KINDS)]
            code, email = rng.choice(pairs)
            if kind == "wrong code":
                code = new_code()
            elif kind == "wrong email":
                email = f"autre.{i}@example.ci"
            headers = {"X-Forwarded-For": client_address(rng)}
            started = time.perf_counter()
            try:
                async with http.post(
                    url, json={"code": code, "email": email}, headers=headers
                ) as resp:
                    await resp.read()
                    status = resp.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                timings.errors[type(exc).__name__] += 1
                continue
            if status != EXPECTED[kind]:
                timings.errors[f"{kind}: HTTP {status}"] += 1
                continue
            timings.add(kind, time.perf_counter() - started)

    timings.started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    timings.ended = time.perf_counter()
    return timings


async def page_lookups(
    gateway: str, pairs: list[tuple[str, str]], count: int, concurrency: int, seed: int
) -> Timings:
    """Each client keeps its cookie jar (the CSRF cookie), as a browser does."""
    rng = random.Random(seed)
    timings = Timings()
    plan = iter(range(count))

    async def client() -> None:
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as http:
            async with http.get(gateway + "/suivre") as resp:
                await resp.read()
            token = jar.filter_cookies(URL(gateway))["milie_csrf"].value
            for _ in plan:
                code, email = rng.choice(pairs)
                form = {"csrf_token": token, "code": code, "email": email}
                headers = {"X-Forwarded-For": client_address(rng)}
                started = time.perf_counter()
                try:
                    async with http.post(gateway + "/suivre", data=form, headers=headers) as resp:
                        await resp.read()
                        status = resp.status
                except (aiohttp.ClientError, TimeoutError) as exc:
                    timings.errors[type(exc).__name__] += 1
                    continue
                if status != 200:
                    timings.errors[f"HTTP {status}"] += 1
                    continue
                timings.add("page", time.perf_counter() - started)

    timings.started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    timings.ended = time.perf_counter()
    return timings


def report(title: str, timings: Timings) -> None:
    seconds = timings.ended - timings.started
    rate = timings.count / seconds if seconds else 0.0
    say(
        f"{title}: {timings.count} answered as expected in {seconds:.2f} s → {rate:.0f}/s"
        + (f"; errors: {dict(timings.errors)}" if timings.errors else "")
    )
    everything = sorted(v for values in timings.latencies.values() for v in values)
    groups = [("all", everything)]
    if len(timings.latencies) > 1:
        groups += [(k, sorted(v)) for k, v in timings.latencies.items()]
    for name, values in groups:
        if values:
            say(
                f"  {name:<12} n={len(values):<6} "
                + "  ".join(
                    f"{label} {1000 * percentile(values, p):.1f} ms"
                    for label, p in (("p50", 50), ("p90", 90), ("p99", 99), ("max", 100))
                )
            )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench.tracking", description=__doc__.splitlines()[0]
    )
    p.add_argument("--requests", type=int, default=200, help="requests submitted first (200)")
    p.add_argument("--lookups", type=int, default=6000, help="API look-ups measured (6000)")
    p.add_argument("--page-lookups", type=int, default=1500, help="page look-ups (1500)")
    p.add_argument("--concurrency", type=int, default=32, help="concurrent clients (32)")
    p.add_argument("--warmup", type=int, default=300, help="API look-ups before measuring")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = p.parse_args(argv)
    if min(args.requests, args.lookups, args.concurrency) < 1 or args.page_lookups < 0:
        p.error("--requests, --lookups and --concurrency must be ≥ 1")
    for item in args.set:
        if "=" not in item:
            p.error(f"--set wants KEY=VALUE, got {item!r}")
    return args


async def run(args: argparse.Namespace) -> int:
    say(
        f"Miliê tracking benchmark — {os.cpu_count()} CPU(s), Python {host.python_version()}, "
        f"load average {os.getloadavg()[0]:.2f} at start"
    )
    say(
        f"parameters: requests={args.requests} lookups={args.lookups} "
        f"page-lookups={args.page_lookups} concurrency={args.concurrency}"
    )
    env = {
        # The benchmark's clients play a load balancer's clients.
        "MILIE_TRUSTED_PROXIES": "127.0.0.1/32",
        # Counted on every look-up, never reached.
        "MILIE_TRACKING_PER_CODE": "1000000000",
        "MILIE_TRACKING_PER_EMAIL": "1000000000",
        "MILIE_TRACKING_PER_CLIENT": "1000000000",
        **dict(item.split("=", 1) for item in args.set),
    }
    async with bench_run(env=env) as bench:
        run_id, log_dir = bench.run_id, bench.log_dir
        platform = await bench.start_platform()
        gateway = platform.url("gateway")
        connector = aiohttp.TCPConnector(limit=args.concurrency)
        async with aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout(total=60)
        ) as http:
            catalogue = await load_catalogue(http, gateway)
            submitted = await fire(
                http,
                gateway + "/api/v1/requests",
                args.requests,
                args.concurrency,
                body_maker(catalogue, run_id, "t", args.seed),
            )
            pairs = [(code, email) for email, (code, _) in submitted.accepted.items()]
            if not pairs:
                say(f"no submission accepted: {dict(submitted.errors)}")
                return 1
            say(f"{len(pairs)} requests submitted; logs {log_dir.relative_to(ROOT)}/")
            if args.warmup:
                await api_lookups(http, gateway, pairs, args.warmup, args.concurrency, 0)
            api = await api_lookups(http, gateway, pairs, args.lookups, args.concurrency, args.seed)
        say()
        report("API  POST /api/v1/tracking", api)
        if args.page_lookups:
            page = await page_lookups(
                gateway, pairs, args.page_lookups, args.concurrency, args.seed + 1
            )
            report("page POST /suivre (right pairs)", page)
        return 0 if not api.errors else 1
    return 1


main = main_of(parse_args, run)


if __name__ == "__main__":
    sys.exit(main())
