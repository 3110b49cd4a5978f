"""Benchmark of the ministry API (issue 13): lists and answers per second with 64 clients.

    python -m bench.ministry_api [--requests 20000] [--clients 64] [--bodies 8] [--calls 20]
                                 [--answers 10] [--keep]

It starts the six processes (``bench.harness``), seeds treatment's requests straight into the
schemas as ``bench.treatment`` does (the same mix over the catalogue's bodies), makes one API key
per body (``gateway.staff.api_keys.create``, as « Clés d'API » does, with a limit no client
reaches), then with ``--clients`` clients at once, spread over the bodies' keys, each one call
after the other through the gateway (``Authorization: Bearer``: the key checked and counted, the
call logged, treatment called with the signed identity):

- ``list``: ``GET /api/ministeres/v1/requests?list=en_cours&limit=20&offset=…`` (``--calls``
  each, the first pages);
- ``answer``: ``POST /api/ministeres/v1/requests/{code}/answer`` on ``--answers`` distinct
  requests in treatment of the client's body each (the transaction in treatment, its history,
  event and audit line; the call's line in the gateway).

It prints p50/p95/p99/max and calls per second for each, checks that every answer was recorded
once (treatment's answers) and every call logged once (the gateway's ``api_calls``), and the CPU
of each process while measuring. Exit status 0 when every call succeeded. Not a test: nothing
here is collected by pytest.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp
import asyncpg

from bench import treatment as bench_treatment
from bench.harness import bench_run, cpu_by_pid, cpu_used, main_of, percentile, say
from gateway.staff import api_keys

BASE = "/api/ministeres/v1"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--bodies", type=int, default=8, choices=range(1, 12))
    parser.add_argument("--calls", type=int, default=20, help="list calls per client")
    parser.add_argument("--answers", type=int, default=10, help="answers per client")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--keep", action="store_true", help="keep the database at the end")
    return parser.parse_args(argv)


@dataclass
class Client:
    body_id: str
    key: str
    to_answer: list[str] = field(default_factory=list)


Call = Callable[[aiohttp.ClientSession, Client, int], Awaitable[None]]


async def seed(database_url: str, args: argparse.Namespace) -> list[Client]:
    conn = await asyncpg.connect(database_url)
    try:
        agents = await bench_treatment.create_agents(conn, args.bodies)
        seeding = argparse.Namespace(requests=args.requests, seed=args.seed)
        await bench_treatment.seed(conn, seeding, agents)
        keys = {}
        await conn.execute("SET search_path TO gateway, public")
        for agent in agents:
            _, keys[agent.body_id] = await api_keys.create(
                conn,
                body_id=agent.body_id,
                label=f"Banc d'essai {agent.body_id}",
                calls_per_minute=1_000_000,
                created_by="bench",
            )
        await conn.execute("SET search_path TO public")
        clients = [
            Client(agents[i % len(agents)].body_id, keys[agents[i % len(agents)].body_id])
            for i in range(args.clients)
        ]
        for agent in agents:
            mine = [c for c in clients if c.body_id == agent.body_id]
            codes = await conn.fetch(
                """SELECT code FROM treatment.treatments
                   WHERE body_id = $1 AND status = 'in_treatment' ORDER BY code LIMIT $2""",
                agent.body_id,
                len(mine) * args.answers,
            )
            for i, row in enumerate(codes):
                mine[i % len(mine)].to_answer.append(row["code"])
        short = [c for c in clients if len(c.to_answer) < args.answers]
        if short:
            say(f"  {len(short)} clients have fewer than {args.answers} requests to answer")
        return clients
    finally:
        await conn.close()


async def concurrently(
    http: aiohttp.ClientSession, clients: list[Client], calls: int, call: Call
) -> tuple[list[float], float, int]:
    took: list[float] = []
    failed = 0

    async def one(client: Client) -> None:
        nonlocal failed
        for i in range(calls):
            started = time.perf_counter()
            try:
                await call(http, client, i)
            except AssertionError as exc:
                failed += 1
                if failed <= 3:
                    say(f"  failed: {exc}")
                continue
            took.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(one(c) for c in clients))
    return sorted(took), time.perf_counter() - started, failed


def calls_of(gateway: str) -> dict[str, tuple[Call, str]]:
    async def listing(http: aiohttp.ClientSession, client: Client, i: int) -> None:
        url = f"{gateway}{BASE}/requests?list=en_cours&limit=20&offset={20 * (i % 5)}"
        async with http.get(url, headers={"Authorization": f"Bearer {client.key}"}) as resp:
            body = await resp.json(content_type=None)
            assert resp.status == 200 and body["items"], (resp.status, body)

    async def answer(http: aiohttp.ClientSession, client: Client, i: int) -> None:
        code = client.to_answer[i]
        async with http.post(
            f"{gateway}{BASE}/requests/{code}/answer",
            json={"message": f"Réponse du système de l'organisme à la requête {code}."},
            headers={"Authorization": f"Bearer {client.key}"},
        ) as resp:
            body = await resp.json(content_type=None)
            assert resp.status == 200 and body["action"] == "treated", (resp.status, body)

    return {"list": (listing, "calls"), "answer": (answer, "answers")}


async def run(args: argparse.Namespace) -> int:
    async with bench_run(keep=args.keep) as bench:
        say(f"run {bench.run_id}: starting the six processes")
        platform = await bench.start_platform()
        gateway = platform.url("gateway")
        say(f"seeding {args.requests:,} requests over {args.bodies} bodies".replace(",", " "))
        clients = await seed(bench.database_url, args)
        calls = calls_of(gateway)
        ok = True
        connector = aiohttp.TCPConnector(limit=args.clients * 2)
        async with aiohttp.ClientSession(connector=connector) as http:
            say()
            say(f"{args.clients} clients at once over {args.bodies} keys (one per body):")
            say(f"  {'kind':10} {'p50':>8} {'p95':>8} {'p99':>8} {'max':>8} {'per s':>8}   (ms)")
            labels = {proc.pid: name for name, proc in platform.processes.items()}
            labels[os.getpid()] = "bench (clients)"
            for kind, count in (("list", args.calls), ("answer", args.answers)):
                call, _ = calls[kind]
                if kind == "list":
                    await concurrently(http, clients, 2, call)  # warm: plans, pools
                    count_of = count
                else:
                    count_of = min(count, min(len(c.to_answer) for c in clients))
                before = cpu_by_pid()
                took, wall, failed = await concurrently(http, clients, count_of, call)
                after = cpu_by_pid()
                if not took:
                    say(f"  {kind:10} every call failed")
                    ok = False
                    continue
                p50, p95, p99 = (percentile(took, p) for p in (50, 95, 99))
                say(
                    f"  {kind:10} {p50:8.1f} {p95:8.1f} {p99:8.1f} {took[-1]:8.1f} "
                    f"{len(took) / wall:8.0f}   ({len(took)} in {wall:.1f} s, {failed} failed)"
                )
                ok = ok and failed == 0
                used = cpu_used(before, after, labels)
                say("             CPU s: " + ", ".join(f"{n} {s:.1f}" for n, s in used[:8]))
        conn = await asyncpg.connect(bench.database_url)
        try:
            answered = await conn.fetchval(
                """SELECT count(*) FROM treatment.answers WHERE actor_id LIKE 'cle-api:%'"""
            )
            twice = await conn.fetchval(
                """SELECT count(*) FROM (SELECT request_id FROM treatment.answers
                   WHERE actor_id LIKE 'cle-api:%' GROUP BY 1 HAVING count(*) > 1) t"""
            )
            logged = await conn.fetchval("SELECT count(*) FROM gateway.api_calls")
        finally:
            await conn.close()
        say()
        say(f"answers recorded: {answered}, twice: {twice}; calls logged: {logged}")
        ok = ok and twice == 0
    return 0 if ok else 1


main = main_of(parse_args, run)

if __name__ == "__main__":
    raise SystemExit(main())
