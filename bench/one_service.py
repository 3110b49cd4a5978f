"""What the benchmarks of one service alone share: the service's tables in a database of the
run's own, either migrated here (:func:`migrated_database`, for the benchmarks that call the
repository's SQL) or by the service's own process started on it (:func:`service_alone`, for those
that go through its HTTP API), then signed calls timed and their percentiles printed.

Each removes what it created on the way out, also on Ctrl-C or an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import asyncpg
from yarl import URL

from bench.harness import (
    DEFAULT_AMQP_URL,
    DEFAULT_DATABASE_URL,
    create_database,
    delete_namespace,
    drop_database,
    free_port,
    percentile,
    say,
    with_database,
)
from shared.identity import Identity
from shared.migrations import migrate
from shared.signing import sign_call

ROOT = Path(__file__).resolve().parents[1]
# The identity secret the service is started with, and the benchmark signs with.
SECRET = "bench-identity-secret"

# A timed call: the path, its query, who makes it.
Call = tuple[str, dict, Identity]


@contextlib.asynccontextmanager
async def migrated_database(service: str, prefix: str) -> AsyncIterator[asyncpg.Connection]:
    """A database ``milie_bench_<prefix>_<hex>`` (dropped at the end) holding ``service``'s
    schema, migrated here; the connection's search path is that schema, then public."""
    base = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    name = f"milie_bench_{prefix}_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(base)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = base.rsplit("/", 1)[0] + "/" + name
        conn = await asyncpg.connect(url, server_settings={"search_path": f"{service},public"})
        try:
            await conn.execute(f"CREATE SCHEMA {service}")
            await migrate(conn, service, ROOT / "services" / service / "sql")
            await conn.execute(f"SET search_path TO {service}, public")
            yield conn
        finally:
            await conn.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@dataclass(frozen=True)
class Alone:
    """The service started alone: where it answers, and its database."""

    name: str
    url: str
    database_url: str


@contextlib.asynccontextmanager
async def service_alone(service: str, *, keep: bool = False) -> AsyncIterator[Alone]:
    """``python -m services.<service>`` as its own process on a fresh database and broker
    namespace, ready (its migrations applied); at the end the process stops, the database is
    dropped (unless ``keep``) and the namespace removed. ``DATABASE_URL``/``AMQP_URL`` come from
    the environment, else the local default servers."""
    base_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    amqp_url = os.environ.get("AMQP_URL", DEFAULT_AMQP_URL)
    run_id = uuid.uuid4().hex[:8]
    name, namespace = f"milie_bench_{run_id}", f"b{run_id}"
    admin_url = with_database(base_url, "postgres")
    database_url = with_database(base_url, name)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    await create_database(admin_url, name)
    process = None
    try:
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "AMQP_URL": amqp_url,
            "MILIE_BROKER_NAMESPACE": namespace,
            "MILIE_HTTP_PORT": str(port),
            "MILIE_ENV": "test",
            "MILIE_LOG_LEVEL": "WARNING",
            "MILIE_IDENTITY_SECRET": SECRET,
            "PYTHONPATH": str(ROOT),
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", f"services.{service}", cwd=ROOT, env=env
        )
        await _wait_ready(service, url, process)
        yield Alone(service, url, database_url)
    finally:
        if process is not None and process.returncode is None:
            process.terminate()
            await process.wait()
        if not keep:
            await drop_database(admin_url, name)
        await delete_namespace(amqp_url, namespace)


async def _wait_ready(service: str, url: str, process: asyncio.subprocess.Process) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(600):
            if process.returncode is not None:
                raise RuntimeError(f"{service} exited with {process.returncode}")
            try:
                async with http.get(f"{url}/health/ready") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{service} did not become ready")


async def timed(http: aiohttp.ClientSession, alone: Alone, calls: list[Call]) -> list[float]:
    """Milliseconds of each signed GET, one after the other, ascending; fails on any non-200."""
    took = []
    for path, params, who in calls:
        target = URL(f"{alone.url}{path}").extend_query(params)
        headers = sign_call(
            SECRET.encode(), alone.name, "GET", target.raw_path_qs, b"", identity=who
        )
        started = time.perf_counter()
        async with http.get(target, headers=headers) as resp:
            await resp.read()
            if resp.status != 200:
                raise RuntimeError(f"{path} {params}: {resp.status} {await resp.text()}")
        took.append((time.perf_counter() - started) * 1000)
    return sorted(took)


async def measure(
    http: aiohttp.ClientSession, alone: Alone, kinds: dict[str, list[Call]], title: str = ""
) -> None:
    """p50/p95/p99/max of each kind of call, a line each, after five calls to warm the plan
    cache and the pages."""
    say()
    if title:
        say(f"{title}:")
    say(f"  {'kind':34} {'p50':>8} {'p95':>8} {'p99':>8} {'max':>8}   (ms)")
    for kind, calls in kinds.items():
        await timed(http, alone, calls[:5])
        took = await timed(http, alone, calls)
        p50, p95, p99 = (percentile(took, p) for p in (50, 95, 99))
        say(f"  {kind:34} {p50:8.1f} {p95:8.1f} {p99:8.1f} {took[-1]:8.1f}")
