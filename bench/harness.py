"""What every benchmark here shares: a database and a broker namespace of the run's own, an
SMTP server on the benchmark's event loop, the platform's processes, the CPU each process used
(from ``/proc``), the processes' ``/metrics`` and the database's counters, percentiles and
printing.

A run is ``async with bench_run(keep=..., env={...}) as run:``; it removes what it created on the
way out (also on Ctrl-C or an error). ``main_of(parse_args, run)`` turns SIGTERM into the same
clean cancellation as Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import aio_pika
import aiohttp
import asyncpg
import uvloop
from aiosmtpd.smtp import SMTP
from prometheus_client.parser import text_string_to_metric_families

from deploy.local.platform import PROCESSES, Platform
from shared.topology import Topology

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/milie"
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
# Queues and exchanges a run may create under its namespace (see shared/topology.py).
QUEUE_OWNERS = ("intake", "triage", "treatment", "notify", "stats", "gateway")
EXCHANGES = ("events", "commands", "dead-letter")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


async def create_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def drop_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def delete_namespace(amqp_url: str, namespace: str) -> None:
    """Remove the run's queues and exchanges. A channel per call: a refused delete closes it."""
    topology = Topology(namespace)
    connection = await aio_pika.connect(amqp_url)
    try:
        for owner in QUEUE_OWNERS:
            for name in (topology.queue(owner), topology.dead_letter_queue(owner)):
                channel = await connection.channel()
                with contextlib.suppress(Exception):
                    # Quorum queues refuse the conditional delete (and close the channel).
                    await channel.queue_delete(name, if_unused=False, if_empty=False)
        for logical in EXCHANGES:
            channel = await connection.channel()
            with contextlib.suppress(Exception):
                await channel.exchange_delete(topology.exchange(logical))
    finally:
        await connection.close()


async def queue_depths(amqp_url: str, namespace: str, owners: tuple[str, ...]) -> dict[str, int]:
    """Messages ready in each service's queue (a passive declare)."""
    topology = Topology(namespace)
    out: dict[str, int] = {}
    connection = await aio_pika.connect(amqp_url)
    try:
        for owner in owners:
            channel = await connection.channel()
            try:
                queue = await channel.declare_queue(topology.queue(owner), passive=True)
                out[owner] = queue.declaration_result.message_count or 0
            except Exception:
                continue
    finally:
        await connection.close()
    return out


# -- CPU accounting (Linux /proc) ------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_by_pid() -> dict[int, tuple[str, float]]:
    """pid → (command name, CPU seconds used so far, every thread included)."""
    out: dict[int, tuple[str, float]] = {}
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as f:
                    data = f.read()
            except OSError:
                continue
            close = data.rfind(b")")
            comm = data[data.find(b"(") + 1 : close].decode(errors="replace")
            fields = data[close + 2 :].split()
            out[int(entry.name)] = (comm, (int(fields[11]) + int(fields[12])) / CLOCK_TICKS)
    return out


def machine_cpu() -> tuple[float, float]:
    """(busy, idle) CPU seconds of the whole machine so far, every core (``/proc/stat``). Unlike
    :func:`cpu_by_pid` it also counts processes that started and ended between two readings
    (a test run's short-lived children), which no per-process snapshot sees."""
    try:
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:9]]
    except OSError:
        return 0.0, 0.0
    idle = values[3] + values[4]  # idle, iowait
    return (sum(values) - idle) / CLOCK_TICKS, idle / CLOCK_TICKS


def cpu_used(
    before: dict[int, tuple[str, float]],
    after: dict[int, tuple[str, float]],
    labels: dict[int, str],
) -> list[tuple[str, float]]:
    """CPU seconds used between two snapshots, grouped, largest first; the processes that are
    not the platform's, PostgreSQL's or RabbitMQ's last, as one group naming the top three."""
    used: Counter[str] = Counter()
    for pid, (comm, total) in after.items():
        start = before.get(pid, (comm, 0.0))[1]
        if pid in labels:
            group = labels[pid]
        elif comm in ("postgres", "postmaster"):
            group = "postgresql"
        elif comm == "beam.smp":
            group = "rabbitmq"
        else:
            group = f"other: {comm}"
        used[group] += max(0.0, total - start)
    ours = [(g, s) for g, s in used.most_common() if not g.startswith("other: ") and s > 0]
    others = [
        (g.removeprefix("other: "), s) for g, s in used.most_common() if g.startswith("other")
    ]
    if sum(s for _, s in others) > 0:
        top = ", ".join(g for g, s in others[:3] if s > 0)
        ours.append((f"other processes ({top})", sum(s for _, s in others)))
    return ours


# -- metrics ---------------------------------------------------------------------------------


async def scrape(http: aiohttp.ClientSession, url: str) -> dict[tuple[str, tuple], float]:
    """A process's ``/metrics`` (``url``) as {(sample name, sorted labels): value}; empty if
    the process is silent."""
    try:
        async with http.get(url, timeout=aiohttp.ClientTimeout(total=5)) as resp:
            text = await resp.text()
    except (aiohttp.ClientError, TimeoutError):
        return {}
    out: dict[tuple[str, tuple], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def total(samples: dict[tuple[str, tuple], float], name: str, **labels: str) -> float:
    want = set(labels.items())
    return sum(v for (n, lab), v in samples.items() if n == name and want <= set(lab))


def delta(after: dict, before: dict, name: str, **labels: str) -> float:
    return total(after, name, **labels) - total(before, name, **labels)


def mean_ms(after: dict, before: dict, name: str, **labels: str) -> str:
    count = delta(after, before, f"{name}_count", **labels)
    if not count:
        return "-"
    return f"{1000 * delta(after, before, f'{name}_sum', **labels) / count:.0f} ms"


async def database_activity(url: str) -> dict[str, int]:
    """This database's counters from pg_stat_database (flushed by the server within a second);
    empty when the server cannot be asked (too many clients, say)."""
    try:
        conn = await asyncpg.connect(url)
    except Exception:
        return {}
    try:
        row = await conn.fetchrow(
            """SELECT xact_commit + xact_rollback AS transactions, tup_inserted, tup_updated,
                      tup_fetched
               FROM pg_stat_database WHERE datname = current_database()"""
        )
    finally:
        await conn.close()
    return dict(row)


# Intake's submission limits lifted (to the highest value intake accepts): a benchmark sends
# thousands of submissions from one address.
UNLIMITED_SUBMISSIONS = {
    "submissions_per_client": 10_000_000,
    "submissions_per_email": 10_000_000,
    "submissions_per_phone": 10_000_000,
    "suspicion_per_client": 10_000_000,
}


class MailSink:
    """aiosmtpd handler: accepts every message and keeps, per recipient, arrival times and bytes.

    Served on the benchmark's own event loop rather than in aiosmtpd's Controller thread: a
    thread would wait for the GIL (up to the 5 ms switch interval) at each SMTP reply whenever
    the clients keep the main thread busy, and so slow notify's sending down.
    """

    def __init__(self) -> None:
        self.by_recipient: dict[str, list[tuple[float, bytes]]] = {}

    async def handle_DATA(self, server, session, envelope) -> str:
        now = time.perf_counter()
        for rcpt in envelope.rcpt_tos:
            self.by_recipient.setdefault(rcpt.lower(), []).append((now, envelope.original_content))
        return "250 OK"

    def arrived(self, recipients: set[str]) -> int:
        return len(recipients & self.by_recipient.keys())


class MailDirectory:
    """The emails that ``make up``'s development mail server (``deploy/local/mailserver.py``)
    wrote to ``directory``, read as :class:`MailSink` keeps them: per recipient (its
    ``X-RcptTo`` header), the time the file was written (on ``time.perf_counter``'s clock) and
    the bytes. The directory is read again whenever :meth:`arrived` is asked."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.by_recipient: dict[str, list[tuple[float, bytes]]] = {}
        self._seen: set[str] = set()
        # mtime (wall clock) → perf_counter
        self._offset = time.perf_counter() - time.time()

    def read(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            for entry in os.scandir(self.directory):
                if not entry.name.endswith(".eml") or entry.name in self._seen:
                    continue
                self._seen.add(entry.name)
                written = entry.stat().st_mtime + self._offset
                data = Path(entry.path).read_bytes()
                head, _, content = data.partition(b"\r\n\r\n")
                recipients: list[str] = []
                lines = head.split(b"\r\n")
                for line in lines[:3]:  # X-Peer, X-MailFrom, X-RcptTo, then the message
                    if line.startswith(b"X-RcptTo: "):
                        recipients = line[10:].decode().split(", ")
                message = b"\r\n".join(lines[3:]) + b"\r\n\r\n" + content
                for rcpt in recipients:
                    self.by_recipient.setdefault(rcpt.lower(), []).append((written, message))

    def arrived(self, recipients: set[str]) -> int:
        self.read()
        return len(recipients & self.by_recipient.keys())


async def start_mail_server(
    stack: contextlib.AsyncExitStack, directory: Path, port: int
) -> asyncio.subprocess.Process:
    """``deploy/local/mailserver.py`` as ``make up`` starts it, writing to ``directory``; stopped
    (SIGTERM) when ``stack`` closes. Returns once it accepts connections."""
    os.makedirs(directory, exist_ok=True)
    log = (directory.parent / "mailserver.log").open("ab")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "deploy.local.mailserver",
        "--port",
        str(port),
        "--dir",
        str(directory),
        cwd=ROOT,
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    log.close()

    async def stop() -> None:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
            await process.wait()

    stack.push_async_callback(stop)
    for _ in range(200):
        with contextlib.suppress(OSError):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return process
        if process.returncode is not None:
            break
        await asyncio.sleep(0.05)
    raise RuntimeError(f"the development mail server did not start; see {log.name}")


async def start_smtp(sink: MailSink) -> tuple[asyncio.Server, int]:
    """An SMTP server for ``sink`` on a free port of 127.0.0.1. Port 0 works here: the trap with
    aiosmtpd's ``Controller(port=0)`` is the Controller's own check, not used here."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(sink, hostname="127.0.0.1", enable_SMTPUTF8=True), "127.0.0.1", 0
    )
    return server, server.sockets[0].getsockname()[1]


async def wait_for_mail(
    sink: MailSink | MailDirectory, recipients: set[str], timeout: float
) -> tuple[int, float]:
    """(how many of ``recipients`` got mail, when the wait ended); polls every 20 ms."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        got = sink.arrived(recipients)
        if got == len(recipients) or loop.time() > deadline:
            return got, time.perf_counter()
        await asyncio.sleep(0.02)


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, round(p / 100 * len(sorted_values) + 0.5 - 1e-9))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def process_env(parser: argparse.ArgumentParser, items: list[str]) -> dict[str, dict[str, str]]:
    """``--set [PROCESS:]KEY=VALUE`` items as {process name, "" for every one: {KEY: VALUE}};
    a malformed item ends the program through ``parser.error``."""
    env: dict[str, dict[str, str]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        target, _, key = key.rpartition(":")
        if not sep or not key or (target and target not in PROCESSES):
            parser.error(
                f"--set wants [PROCESS:]KEY=VALUE with PROCESS among {', '.join(PROCESSES)}"
            )
        env.setdefault(target, {})[key] = value
    return env


def say(text: str = "") -> None:
    print(text, flush=True)


def logging_quiet() -> None:
    import logging

    # aiosmtpd logs every SMTP command at INFO on "mail.log".
    logging.getLogger("mail.log").setLevel(logging.WARNING)


@dataclass
class BenchRun:
    """One run's names and what it started: a database, a namespace, an SMTP sink, the env."""

    run_id: str
    database_url: str  # the run's own database
    amqp_url: str
    admin_url: str
    namespace: str
    log_dir: Path
    sink: MailSink | MailDirectory
    smtp_port: int
    env: dict[str, str]
    stack: contextlib.AsyncExitStack = field(repr=False)
    # make up's development mail server, when the run uses it instead of the in-process sink.
    mail_server: asyncio.subprocess.Process | None = None

    async def start_platform(
        self,
        extra: dict[str, str] | None = None,
        per_process: dict[str, dict[str, str]] | None = None,
    ) -> Platform:
        """The six processes, one of each, ready; stopped when the run ends. ``per_process``:
        environment for one process only (``--set PROCESS:KEY=VALUE``)."""
        platform = Platform(
            env={**self.env, **(extra or {})},
            ports={name: free_port() for name in PROCESSES},
            log_dir=self.log_dir,
            gateway_metrics_port=free_port(),
        )
        self.stack.push_async_callback(platform.stop_all)
        for name in PROCESSES:
            await platform.start(name, (per_process or {}).get(name))
        await platform.wait_ready(timeout=120)
        return platform


@contextlib.asynccontextmanager
async def bench_run(
    *, keep: bool = False, env: dict[str, str] | None = None, dev_mail_server: bool = False
) -> AsyncIterator[BenchRun]:
    """A fresh database and broker namespace, an SMTP server, and the processes' environment
    (``env`` added last). ``DATABASE_URL``/``AMQP_URL`` come from the environment (``make
    bench`` sets them), else the local default servers. The SMTP server is the benchmark's
    own, in its event loop, or with ``dev_mail_server`` the development mail server that
    ``make up`` starts, as a process of its own writing to ``<log dir>/mail`` (removed at the
    end unless ``keep``)."""
    run_id = uuid.uuid4().hex[:10]
    server_url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    amqp_url = os.environ.get("AMQP_URL") or DEFAULT_AMQP_URL
    admin_url = with_database(server_url, "postgres")
    db_name = f"milie_bench_{run_id}"
    namespace = f"b{run_id}"
    async with contextlib.AsyncExitStack() as stack:
        await create_database(admin_url, db_name)
        if not keep:
            stack.push_async_callback(drop_database, admin_url, db_name)
            stack.push_async_callback(delete_namespace, amqp_url, namespace)
        log_dir = ROOT / ".run" / "bench" / run_id
        mail_server = None
        sink: MailSink | MailDirectory
        if dev_mail_server:
            mail_dir = log_dir / "mail"
            if not keep:
                stack.callback(shutil.rmtree, mail_dir, ignore_errors=True)
            smtp_port = free_port()
            mail_server = await start_mail_server(stack, mail_dir, smtp_port)
            sink = MailDirectory(mail_dir)
        else:
            sink = MailSink()
            logging_quiet()
            smtp, smtp_port = await start_smtp(sink)
            stack.callback(smtp.close)
        database_url = with_database(server_url, db_name)
        yield BenchRun(
            run_id=run_id,
            database_url=database_url,
            amqp_url=amqp_url,
            admin_url=admin_url,
            namespace=namespace,
            log_dir=log_dir,
            sink=sink,
            smtp_port=smtp_port,
            env={
                "DATABASE_URL": database_url,
                "AMQP_URL": amqp_url,
                "MILIE_BROKER_NAMESPACE": namespace,
                "MILIE_ENV": "test",
                # A benchmark sends thousands of submissions from one address.
                "MILIE_SUBMISSION_LIMITS": json.dumps(UNLIMITED_SUBMISSIONS),
                "MILIE_LOG_LEVEL": "WARNING",
                "MILIE_SMTP_HOST": "127.0.0.1",
                "MILIE_SMTP_PORT": str(smtp_port),
                "MILIE_OUTBOX_POLL_SECONDS": "0.2",
                "MILIE_DB_POOL_MIN": "1",
                **(env or {}),
            },
            stack=stack,
            mail_server=mail_server,
        )


def main_of(
    parse_args: Callable[[list[str] | None], argparse.Namespace],
    run: Callable[[argparse.Namespace], Awaitable[int]],
) -> Callable[[list[str] | None], int]:
    """The ``main(argv)`` of a benchmark: parse, run, and stop cleanly on Ctrl-C or SIGTERM."""

    def main(argv: list[str] | None = None) -> int:
        args = parse_args(argv)

        async def guarded() -> int:
            task = asyncio.current_task()
            assert task is not None
            # SIGTERM as Ctrl-C: cancel the run so that its cleanup runs.
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
            return await run(args)

        try:
            # uvloop, as the services use: the clients' own CPU is taken from the platform's.
            return uvloop.run(guarded())
        except (KeyboardInterrupt, asyncio.CancelledError):
            print("\ninterrupted: the platform was stopped and the run cleaned up", file=sys.stderr)
            return 130

    return main
