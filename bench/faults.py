"""The fault campaign: the platform under a steady stream of work while its processes, its broker,
its database, its mail server and its network fail; then a count of what was lost or done twice.

    python -m bench.faults            # the whole campaign (about 8 minutes)
    python -m bench.faults --short    # four kills and one broker restart (what CI runs)

It runs the six processes as ``make up`` does (``deploy.local.platform``), on a PostgreSQL
cluster and a RabbitMQ node of its own (``deploy.local.private_servers``: the ones it may stop and
kill, never the machine's), with an in-process SMTP server it can stop. A submitter posts
citizens' requests to the gateway's JSON API at a steady rate; an analyst validates or rejects
them through triage's signed API; the body answers the validated réclamations through the
ministry API and the citizens give their opinion, reopen (« Relancer ») or let the window pass
for treatment's clock to close « sans retour » (``bench.faults_treatment``, the ministries'
half). Meanwhile it injects, spread over the run:

1. ``kill -9`` of service processes, each at least twice (the gateway too), restarted at once;
2. broker restarts and a ``kill -9`` of the broker node;
3. a PostgreSQL restart (``-m fast``) and a ``kill -9`` of the postmaster;
4. the SMTP server down for minutes;
5. poison messages among the valid ones: a wrong type, missing fields, bad UTF-8, 1 MiB, a
   submission command for an unknown body, a duplicate message id;
6. a network cut between one service (triage) and the broker: the node also listens on
   127.0.0.3, triage alone connects there, and nftables drops that address's packets (a table of
   its own, loopback only; skipped and said so without root or ``nft``).

Then it waits until nothing is left to do and checks, from the databases and the mail received:
every accepted submission has exactly one request, one queue entry, one statistics fact and
count, and at least one acknowledgement email (emails received twice, by Message-ID, are
counted); every decision has its effect once (one history line, the body's row for a validation,
the citizen's tracking view); every answer, opinion, reopening and closure has its effect once
in treatment, intake's tracking view and stats, and each answer its email
(``bench.faults_treatment``); no valid message was dead-lettered;
every poison message was dead-lettered with its reason (the duplicate id is ignored by the inboxes
instead, the unknown body answered with an error); every process is ready. It prints the table and
the recovery time after each fault, writes them as JSON beside the logs, and exits 1 on any loss
or duplicated effect, or when the work has not settled within ``settle_timeout``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from email import message_from_bytes
from pathlib import Path

import aio_pika
import aiohttp
import asyncpg
from aiosmtpd.smtp import SMTP

from bench import faults_treatment
from bench.faults_treatment import CLOCK, UNLIMITED_TRACKING, TreatmentHalf
from bench.harness import UNLIMITED_SUBMISSIONS, MailSink, percentile, queue_depths, say
from deploy.local import dead_letters
from deploy.local.platform import PROCESSES, Platform
from deploy.local.private_servers import PrivatePostgres, PrivateRabbitMQ, free_port
from shared.codes import new_code
from shared.identity import Identity, Role
from shared.messages import IntakeSubmitV1, RequestSubmittedV1
from shared.signing import sign_call
from shared.topology import COMMANDS, EVENTS, Topology

BODY = "ministere-education-nationale"
SERVICES = ("intake", "triage", "treatment", "notify", "stats")
CUT_SERVICE = "triage"
CUT_ADDRESS = "127.0.0.3"
NFT_TABLE = "milie_faults"
ANALYST = Identity("faults-analyst", Role.ANALYST, login="analyste.campagne")


@dataclass(frozen=True)
class Plan:
    kills: int = 20
    broker_restarts: int = 3
    broker_kills: int = 1
    pg_restarts: int = 1
    pg_kills: int = 1
    smtp_down_seconds: float = 300.0
    poison: int = 100
    cut_seconds: float = 60.0
    rate: float = 3.0  # submissions per second
    decision_every: float = 0.7  # seconds between an analyst's decisions
    gap: float = 8.0  # seconds of calm between two faults
    settle_timeout: float = 600.0
    # The ministries' half (bench.faults_treatment): the body's answers, the citizens' opinions
    # and reopenings, the clock's « sans retour », under the same faults.
    ministries: bool = True


SHORT = Plan(
    kills=4,
    broker_restarts=1,
    broker_kills=0,
    pg_restarts=0,
    pg_kills=0,
    smtp_down_seconds=0.0,
    poison=12,
    cut_seconds=0.0,
    rate=3.0,
    gap=3.0,
    settle_timeout=240.0,
)


@dataclass
class Results:
    machine: str = ""
    plan: dict = field(default_factory=dict)
    faults: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    submissions_sent: int = 0
    submissions_accepted: int = 0
    submissions_refused: dict[str, int] = field(default_factory=dict)
    decisions_sent: int = 0
    decisions_accepted: int = 0  # answered 200 (others: not queued yet, decided, unavailable)
    decisions_applied: int = 0
    lost: dict[str, int] = field(default_factory=dict)
    duplicated: dict[str, int] = field(default_factory=dict)
    emails_sent_twice: int = 0
    valid_dead_lettered: int = 0
    poison_sent: int = 0
    poison_dead_lettered: int = 0
    poison_not_dead_lettered: list[str] = field(default_factory=list)
    duplicate_ids_ignored: int = 0
    cut_backlog: tuple[int, int] = (0, 0)  # triage's unsent events, its queue, as the cut ended
    unknown_body_answered: int = 0
    recovery: dict[str, list[float]] = field(default_factory=dict)
    processes_ready: bool = False
    seconds: float = 0.0
    treatment: dict = field(default_factory=dict)  # faults_treatment.TreatmentFigures
    settled: bool = True  # every outbox, queue and delivery done within settle_timeout
    drivers_failed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            not any(self.lost.values())
            and not any(self.duplicated.values())
            and self.valid_dead_lettered == 0
            and not self.poison_not_dead_lettered
            and self.processes_ready
            and self.settled
            and not self.drivers_failed
        )


def submission(email: str, phone: str) -> dict:
    return {
        "nature": "reclamation",
        "body_id": BODY,
        "message": "Les bulletins de notes ne sont pas arrivés à l'école.",
        "contact": {"country": "CI", "phone": phone, "email": email},
    }


class Smtp:
    """The in-process mail server, which the campaign stops (closing its open sessions too, as
    a crashed server would) and starts again on the same port."""

    def __init__(self, sink: MailSink) -> None:
        self.sink = sink
        self.port = free_port()
        self.server: asyncio.Server | None = None
        self.sessions: list[SMTP] = []

    def _protocol(self) -> SMTP:
        protocol = SMTP(self.sink, hostname="127.0.0.1", enable_SMTPUTF8=True)
        self.sessions.append(protocol)
        return protocol

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(self._protocol, "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            for protocol in self.sessions:
                if protocol.transport is not None:
                    protocol.transport.close()
            self.sessions.clear()
            await self.server.wait_closed()
            self.server = None


class Campaign:
    def __init__(self, plan: Plan, workdir: Path, seed: int) -> None:
        self.plan = plan
        self.workdir = workdir
        self.random = random.Random(seed)
        self.secret = uuid.uuid4().hex
        self.results = Results(plan=asdict(plan))
        self.accepted: dict[str, str] = {}  # email → code
        self.decided: dict[str, str] = {}  # code → validate | reject
        self.poison_ids: dict[str, str] = {}  # message id → kind
        self.duplicate_requests: list[uuid.UUID] = []  # in bodies sent under applied ids
        self.stopping = asyncio.Event()
        self.refused: Counter[str] = Counter()
        self.recovery: dict[str, list[float]] = defaultdict(list)
        self.sink = MailSink()
        self.smtp = Smtp(self.sink)
        self.pg: PrivatePostgres | None = None
        self.mq: PrivateRabbitMQ | None = None
        self.platform: Platform | None = None
        self.database_url = ""
        self.extra_env: dict[str, dict[str, str]] = {}
        self.can_cut = os.geteuid() == 0 and shutil.which("nft") is not None
        self.treatment = TreatmentHalf(self, BODY) if plan.ministries else None

    # -- the platform ---------------------------------------------------------------------------

    async def start(self) -> None:
        self.pg = PrivatePostgres()
        await self.pg.init()
        await self.pg.start()
        self.database_url = await self.pg.create_database("milie")
        self.mq = PrivateRabbitMQ(extra_addresses=(CUT_ADDRESS,))
        await self.mq.start()
        await self.smtp.start()
        env = {
            "DATABASE_URL": self.database_url,
            "AMQP_URL": self.mq.url,
            "MILIE_ENV": "test",
            "MILIE_SMTP_HOST": "127.0.0.1",
            "MILIE_SMTP_PORT": str(self.smtp.port),
            "MILIE_OUTBOX_POLL_SECONDS": "0.2",
            "MILIE_DB_POOL_MIN": "1",
            "MILIE_IDENTITY_SECRET": self.secret,
            # The campaign measures faults, not the anonymous channels' limits (tests/abuse).
            "MILIE_SUBMISSION_LIMITS": json.dumps(UNLIMITED_SUBMISSIONS),
        }
        self.extra_env[CUT_SERVICE] = {"AMQP_URL": self.mq.url.replace("127.0.0.1", CUT_ADDRESS)}
        if self.treatment is not None:
            self.extra_env["intake"] = dict(UNLIMITED_TRACKING)
            self.extra_env["treatment"] = dict(CLOCK)
        self.platform = Platform(
            env=env,
            ports={name: free_port() for name in PROCESSES},
            log_dir=self.workdir / "logs",
            gateway_metrics_port=free_port(),
        )
        for name in PROCESSES:
            await self.platform.start(name, self.extra_env.get(name))
        await self.platform.wait_ready(timeout=180)
        if self.treatment is not None:
            await self.treatment.prepare()

    async def stop(self) -> None:
        if self.platform is not None:
            await self.platform.stop_all()
        await self.smtp.stop()
        self._uncut()
        if self.mq is not None:
            await self.mq.destroy()
        if self.pg is not None:
            await self.pg.destroy()

    async def _all_ready(self, names=None, timeout: float = 300.0) -> float:
        """Seconds until every process (or ``names``) answers ready."""
        t0 = time.perf_counter()
        await self.platform.wait_ready(list(names or PROCESSES), timeout=timeout)
        return time.perf_counter() - t0

    # -- the work -------------------------------------------------------------------------------

    async def submitter(self) -> None:
        url = self.platform.url("gateway") + "/api/v1/requests"
        run = uuid.uuid4().hex[:6]
        i = 0
        loop = asyncio.get_running_loop()
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
            while not self.stopping.is_set():
                i += 1
                started = loop.time()
                email = f"c{i}.{run}@example.ci"
                phone = f"07{self.random.randrange(10**8):08d}"
                self.results.submissions_sent += 1
                try:
                    async with http.post(url, json=submission(email, phone)) as resp:
                        body = await resp.json(content_type=None)
                        status = resp.status
                except (aiohttp.ClientError, TimeoutError, ValueError):
                    status, body = 0, None
                if status == 201:
                    self.accepted[email] = body["code"]
                else:
                    self.refused[str(status or "connection")] += 1
                await asyncio.sleep(max(0.0, 1 / self.plan.rate - (loop.time() - started)))

    async def _signed(self, http, method: str, service: str, path: str, payload=None):
        body = b"" if payload is None else json.dumps(payload).encode()
        headers = sign_call(
            self.secret.encode(),
            service,
            method,
            path,
            body,
            identity=ANALYST,
            client_address="127.0.0.1",
        )
        headers["Content-Type"] = "application/json"
        async with http.request(
            method, self.platform.url(service) + path, data=body, headers=headers
        ) as resp:
            return resp.status, await resp.json(content_type=None)

    async def decider(self) -> None:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
            while not self.stopping.is_set():
                await asyncio.sleep(self.plan.decision_every)
                waiting = [c for c in list(self.accepted.values())[-60:] if c not in self.decided]
                if not waiting:
                    continue
                code = self.random.choice(waiting)
                kind = "validate" if self.random.random() < 0.7 else "reject"
                self.results.decisions_sent += 1
                try:
                    status, _ = await self._signed(
                        http,
                        "POST",
                        "triage",
                        f"/queue/{code}/{kind}",
                        {"message": "Décision de la campagne de pannes."},
                    )
                except (aiohttp.ClientError, TimeoutError, ValueError):
                    continue
                if status == 200:
                    self.decided[code] = kind

    # -- the faults -----------------------------------------------------------------------------

    def schedule(self) -> list[tuple[str, str | None]]:
        plan = self.plan
        if plan.kills >= 2 * len(PROCESSES):  # each process twice, then at random
            kills = [name for name in PROCESSES for _ in range(2)]
        else:  # a short campaign: the gateway first, then the services that consume most
            kills = ["gateway", "intake", "treatment", "notify", "stats", "triage"]
            kills = kills[: plan.kills]
        while len(kills) < plan.kills:
            kills.append(self.random.choice(list(PROCESSES)))
        faults: list[tuple[str, str | None]] = [("kill", name) for name in kills]
        faults += [("broker restart", None)] * plan.broker_restarts
        faults += [("broker kill -9", None)] * plan.broker_kills
        faults += [("postgres restart", None)] * plan.pg_restarts
        faults += [("postgres kill -9", None)] * plan.pg_kills
        if plan.cut_seconds:
            faults.append(("network cut", CUT_SERVICE))
        self.random.shuffle(faults)
        if plan.poison:  # in the middle of the run
            faults.insert(len(faults) // 2, ("poison", None))
        return faults

    async def inject(self, kind: str, target: str | None) -> None:
        platform, started = self.platform, time.perf_counter()
        if kind == "kill":
            await platform.kill(target)
            await platform.start(target, self.extra_env.get(target))
            await self._all_ready([target])
            recovered = time.perf_counter() - started
            self.recovery[f"kill -9 {target}"].append(recovered)
            self.recovery["kill -9 (every process)"].append(recovered)
        elif kind in ("broker restart", "broker kill -9"):
            await (self.mq.stop() if kind == "broker restart" else self.mq.kill())
            await self.mq.start()
            await self._all_ready()
            self.recovery[kind].append(time.perf_counter() - started)
        elif kind in ("postgres restart", "postgres kill -9"):
            await (self.pg.stop("fast") if kind == "postgres restart" else self.pg.kill())
            await self.pg.start()
            await self._all_ready()
            self.recovery[kind].append(time.perf_counter() - started)
        elif kind == "network cut":
            if not self.can_cut:
                self.results.skipped.append(
                    "network cut: needs root and nft (apt-get install nftables)"
                )
                return
            self._cut()
            try:
                await asyncio.sleep(self.plan.cut_seconds)
            finally:
                self._uncut()
            back, ended_at = time.perf_counter(), await self._db_now()
            # What the cut held back: triage's events not yet published, its queue not read.
            self.results.cut_backlog = await self._cut_backlog(ended_at)

            async def caught_up() -> bool:
                return sum(await self._cut_backlog(ended_at)) == 0

            await self._all_ready([target])
            await _until(caught_up, self.plan.settle_timeout)
            self.recovery["network cut (backlog drained after it ends)"].append(
                time.perf_counter() - back
            )
        elif kind == "poison":
            await self.poison()
            return
        self.results.faults[kind] = self.results.faults.get(kind, 0) + 1

    async def _cut_backlog(self, before) -> tuple[int, int]:
        """(triage's outbox rows written before ``before`` and still unsent, messages waiting
        in triage's queue)."""
        unsent = await self._fetchval(
            "SELECT count(*) FROM triage.outbox WHERE sent_at IS NULL AND created_at < $1", before
        )
        depths = await queue_depths(self.mq.url, "", (CUT_SERVICE,))
        return unsent, depths.get(CUT_SERVICE, 0)

    def _nft(self, script: str) -> None:
        subprocess.run(["nft", "-f", "-"], input=script, text=True, check=True)

    def _cut(self) -> None:
        port = self.mq.port
        self._nft(
            f"table inet {NFT_TABLE} {{\n chain output {{\n"
            "  type filter hook output priority 0; policy accept;\n"
            f"  ip daddr {CUT_ADDRESS} tcp dport {port} drop\n"
            f"  ip saddr {CUT_ADDRESS} tcp sport {port} drop\n }}\n}}\n"
        )

    def _uncut(self) -> None:
        if self.can_cut:
            subprocess.run(
                ["nft", "delete", "table", "inet", NFT_TABLE], capture_output=True, check=False
            )

    async def smtp_outage(self) -> None:
        """The mail server down for a while, in parallel with the other faults."""
        seconds = self.plan.smtp_down_seconds
        await asyncio.sleep(self.plan.gap)
        await self.smtp.stop()
        await asyncio.sleep(seconds)
        await self.smtp.start()
        back = time.perf_counter()
        restarted_at = await self._db_now()

        async def drained() -> bool:
            return not await self._fetchval(
                """SELECT count(*) FROM notify.deliveries
                   WHERE medium = 'email' AND status <> 'sent' AND created_at < $1""",
                restarted_at,
            )

        await _until(drained, self.plan.settle_timeout)
        self.recovery["SMTP down (backlog sent after it is back)"].append(
            time.perf_counter() - back
        )
        self.results.faults["SMTP down"] = 1

    async def poison(self) -> None:
        """Bad messages among the valid ones, published as another channel would."""
        topology = Topology("")
        connection = await aio_pika.connect(self.mq.url)
        conn = await asyncpg.connect(self.database_url)
        try:
            applied_ids = [
                str(row["message_id"])
                for row in await conn.fetch(
                    """SELECT message_id FROM intake.outbox
                       WHERE message_type = $1 AND sent_at IS NOT NULL LIMIT $2""",
                    RequestSubmittedV1.type_name(),
                    self.plan.poison,
                )
            ]
        finally:
            await conn.close()
        try:
            channel = await connection.channel(publisher_confirms=True)
            events = await channel.get_exchange(topology.exchange(EVENTS))
            commands = await channel.get_exchange(topology.exchange(COMMANDS))
            # The channel's own reply queue: intake answers nowhere else.
            reply = await channel.declare_queue("guichet-unique.replies.faults", exclusive=True)
            kinds = ["wrong type", "missing fields", "bad UTF-8", "1 MiB", "unknown body"]
            kinds += ["duplicate message id"] if applied_ids else []
            for i in range(self.plan.poison):
                kind = kinds[i % len(kinds)]
                message_id = str(uuid.uuid4())
                good = _valid_submitted()
                body, type_name, exchange = (
                    good.model_dump_json().encode(),
                    good.type_name(),
                    events,
                )
                if kind == "wrong type":
                    type_name = "request.teleported.v1"
                elif kind == "missing fields":
                    data = json.loads(body)
                    del data["code"], data["contact"]
                    body = json.dumps(data).encode()
                elif kind == "bad UTF-8":
                    body = body.replace(b"Les", b"L\xff\xfes", 1)
                elif kind == "1 MiB":
                    data = json.loads(body)
                    data["message"] = "x" * (1024 * 1024)
                    body = json.dumps(data).encode()
                elif kind == "unknown body":
                    exchange, type_name = commands, IntakeSubmitV1.type_name()
                    body = (
                        IntakeSubmitV1(
                            channel="guichet-unique",
                            external_id=message_id,
                            nature="reclamation",
                            body_id="organisme-inconnu",
                            message="Un organisme que le catalogue ne connaît pas.",
                            contact={"country": "CI", "phone": "0707123456"},
                        )
                        .model_dump_json()
                        .encode()
                    )
                elif kind == "duplicate message id":
                    # An event already applied everywhere, its id on another body: ignored.
                    message_id = applied_ids[(i // len(kinds)) % len(applied_ids)]
                    self.duplicate_requests.append(good.request_id)
                self.poison_ids[message_id] = kind
                await exchange.publish(
                    aio_pika.Message(
                        body,
                        message_id=message_id,
                        type=type_name,
                        content_type="application/json",
                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                        reply_to=reply.name if kind == "unknown body" else None,
                        # A channel is the RabbitMQ user that publishes (guest is the test
                        # environment's « guichet-unique »).
                        user_id="guest" if kind == "unknown body" else None,
                        app_id="faults",
                    ),
                    routing_key=IntakeSubmitV1.name
                    if kind == "unknown body"
                    else RequestSubmittedV1.name,
                )
                self.results.poison_sent += 1
            # The answers to the unknown body's commands: each an error, nothing stored.
            expected = sum(1 for k in self.poison_ids.values() if k == "unknown body")
            deadline = time.monotonic() + 120
            while self.results.unknown_body_answered < expected and time.monotonic() < deadline:
                message = await reply.get(fail=False, no_ack=True)
                if message is None:
                    await asyncio.sleep(0.2)
                    continue
                if b"organisme" in message.body.lower() or b"errors" in message.body:
                    self.results.unknown_body_answered += 1
        finally:
            await connection.close()

    # -- the end --------------------------------------------------------------------------------

    async def _fetchval(self, sql: str, *args):
        conn = await asyncpg.connect(self.database_url)
        try:
            return await conn.fetchval(sql, *args)
        finally:
            await conn.close()

    async def _db_now(self):
        return await self._fetchval("SELECT now()")

    async def settled(self) -> bool:
        conn = await asyncpg.connect(self.database_url)
        try:
            for schema in SERVICES:
                if await conn.fetchval(
                    f"SELECT count(*) FROM {schema}.outbox WHERE sent_at IS NULL"
                ):
                    return False
            if await conn.fetchval(
                """SELECT count(*) FROM notify.deliveries
                   WHERE medium = 'email' AND status = 'pending'"""
            ):
                return False
            facts = await conn.fetchval("SELECT count(*) FROM stats.request_facts")
            queued = await conn.fetchval("SELECT count(*) FROM triage.queue_items")
            if facts < len(self.accepted) or queued < len(self.accepted):
                return False
            if self.treatment is not None and not await self.treatment.settled(conn):
                return False
        finally:
            await conn.close()
        depths = await queue_depths(self.mq.url, "", SERVICES)
        return not any(depths.values())

    async def quiet(self) -> bool:
        """Settled three probes in a row: a message taken from a queue and not yet applied
        leaves the queue empty for an instant."""
        for _ in range(3):
            if not await self.settled():
                return False
            await asyncio.sleep(0.5)
        return True

    async def check(self) -> None:
        r = self.results
        codes = list(self.accepted.values())
        conn = await asyncpg.connect(self.database_url)
        try:

            async def per_code(sql: str) -> Counter:
                rows = await conn.fetch(sql, codes)
                return Counter({row["code"].strip(): row["n"] for row in rows})

            found = {
                "intake request": await per_code(
                    """SELECT code, count(*) AS n FROM intake.requests
                       WHERE code = ANY($1) GROUP BY code"""
                ),
                "analysts' queue entry": await per_code(
                    """SELECT code, count(*) AS n FROM triage.queue_items
                       WHERE code = ANY($1) GROUP BY code"""
                ),
                "statistics fact": await per_code(
                    """SELECT r.code, count(*) AS n FROM stats.request_facts f
                       JOIN intake.requests r ON r.id = f.request_id
                       WHERE r.code = ANY($1) GROUP BY r.code"""
                ),
            }
            for what, counts in found.items():
                r.lost[what] = sum(1 for c in codes if counts[c] == 0)
                r.duplicated[what] = sum(1 for c in codes if counts[c] > 1)
            counted = await conn.fetchval("SELECT coalesce(sum(count), 0) FROM stats.daily_counts")
            facts = await conn.fetchval("SELECT count(*) FROM stats.request_facts")
            r.duplicated["statistics count"] = max(0, counted - facts)
            r.lost["statistics count"] = max(0, facts - counted)

            decided = list(self.decided)
            history = await conn.fetch(
                """SELECT q.code, h.kind, count(*) AS n FROM triage.history h
                   JOIN triage.queue_items q ON q.request_id = h.request_id
                   WHERE q.code = ANY($1) AND h.kind IN ('validated', 'rejected')
                   GROUP BY q.code, h.kind""",
                decided,
            )
            by_code = Counter({row["code"]: row["n"] for row in history})
            r.decisions_applied = sum(1 for c in decided if by_code[c] >= 1)
            r.lost["decision"] = sum(1 for c in decided if by_code[c] == 0)
            # The citizen's tracking view holds a row once an analyst decided (before, the
            # request itself answers): one per decided request.
            tracked = Counter(
                {
                    row["code"].strip(): row["n"]
                    for row in await conn.fetch(
                        """SELECT r.code, count(*) AS n FROM intake.request_tracking t
                           JOIN intake.requests r ON r.id = t.request_id
                           WHERE r.code = ANY($1) GROUP BY r.code""",
                        decided,
                    )
                }
            )
            r.lost["decision in the tracking view"] = sum(1 for c in decided if not tracked[c])
            r.duplicated["decision"] = sum(1 for c in decided if by_code[c] > 1)
            # A body sent under an id already applied must have no effect anywhere.
            r.duplicated["poison under a duplicate id"] = sum(
                [
                    await conn.fetchval(
                        f"SELECT count(*) FROM {table} WHERE request_id = ANY($1)",
                        self.duplicate_requests,
                    )
                    for table in ("stats.request_facts", "triage.queue_items")
                ]
            )
            validated = [c for c, k in self.decided.items() if k == "validate"]
            treated = Counter(
                {
                    row["code"]: row["n"]
                    for row in await conn.fetch(
                        """SELECT t.code, count(*) AS n FROM treatment.history h
                           JOIN treatment.treatments t ON t.request_id = h.request_id
                           WHERE t.code = ANY($1) AND h.kind = 'validated' GROUP BY t.code""",
                        validated,
                    )
                }
            )
            r.lost["validation reaching the body"] = sum(1 for c in validated if treated[c] == 0)
            r.duplicated["validation reaching the body"] = sum(
                1 for c in validated if treated[c] > 1
            )
            if self.treatment is not None:
                await self.treatment.check(conn, self.sink, r.lost, r.duplicated)
                r.treatment = asdict(self.treatment.figures)
        finally:
            await conn.close()

        missing_mail = [e for e in self.accepted if not self.sink.by_recipient.get(e.lower())]
        r.lost["acknowledgement email"] = len(missing_mail)
        seen: Counter[str] = Counter()
        for messages in self.sink.by_recipient.values():
            for _, data in messages:
                seen[message_from_bytes(data).get("Message-ID", "")] += 1
        r.emails_sent_twice = sum(n - 1 for mid, n in seen.items() if mid and n > 1)

        place = dead_letters.Place(self.database_url, self.mq.url, Topology(""))
        await dead_letters.collect(place, SERVICES)
        letters = await dead_letters.waiting(place)
        lettered = {row["message_id"]: row for row in letters}
        r.valid_dead_lettered = sum(1 for mid in lettered if mid not in self.poison_ids)
        for mid, kind in self.poison_ids.items():
            if kind in ("duplicate message id", "unknown body"):
                continue
            row = lettered.get(mid)
            if row is not None and row["reason"]:
                r.poison_dead_lettered += 1
            else:
                r.poison_not_dead_lettered.append(f"{kind} {mid}")
        r.duplicate_ids_ignored = sum(
            1
            for mid, kind in self.poison_ids.items()
            if kind == "duplicate message id" and mid not in lettered
        ) and len(self.duplicate_requests)
        unknown = sum(1 for k in self.poison_ids.values() if k == "unknown body")
        if r.unknown_body_answered < unknown:
            r.poison_not_dead_lettered.append(
                f"unknown body: {unknown - r.unknown_body_answered} of {unknown} never answered"
            )
        try:
            await self.platform.wait_ready(timeout=60)
            r.processes_ready = all(p.returncode is None for p in self.platform.processes.values())
        except (TimeoutError, RuntimeError):
            r.processes_ready = False

    async def run(self) -> Results:
        t0 = time.perf_counter()
        await self.start()
        say(f"platform ready; logs under {self.workdir / 'logs'}")
        faults = self.schedule()  # drawn before the load draws: the same order for a seed
        load = [asyncio.create_task(self.submitter()), asyncio.create_task(self.decider())]
        if self.treatment is not None:
            load += [
                asyncio.create_task(self.treatment.body()),
                asyncio.create_task(self.treatment.citizens()),
            ]
        outage = asyncio.create_task(self.smtp_outage()) if self.plan.smtp_down_seconds else None
        try:
            await asyncio.sleep(self.plan.gap)
            for kind, target in faults:
                say(f"  {time.perf_counter() - t0:6.1f} s  {kind} {target or ''}")
                await self.inject(kind, target)
                await asyncio.sleep(self.plan.gap)
            if outage is not None:
                await outage
        finally:
            self.stopping.set()
            for task, outcome in zip(
                load, await asyncio.gather(*load, return_exceptions=True), strict=True
            ):
                if isinstance(outcome, BaseException):  # a driver's own bug: said, and a failure
                    say(f"{task.get_coro().__qualname__} failed: {outcome!r}")
                    self.results.drivers_failed.append(repr(outcome))
        say(f"load stopped after {time.perf_counter() - t0:.0f} s; waiting for the work to settle")
        try:
            await _until(self.quiet, self.plan.settle_timeout)
        except TimeoutError:  # checked all the same: the table says what is missing
            self.results.settled = False
            say(f"not settled after {self.plan.settle_timeout:.0f} s")
        await self.check()
        r = self.results
        r.submissions_accepted = len(self.accepted)
        r.submissions_refused = dict(self.refused)
        r.decisions_accepted = len(self.decided)
        r.recovery = {k: sorted(v) for k, v in self.recovery.items()}
        r.seconds = round(time.perf_counter() - t0, 1)
        return r


def _valid_submitted() -> RequestSubmittedV1:
    return RequestSubmittedV1(
        request_id=uuid.uuid4(),
        code=new_code(),
        nature="reclamation",
        body_id=BODY,
        body_name="Ministère de l'Éducation nationale",
        channel="web",
        message="Les bulletins ne sont pas arrivés.",
        contact={"country": "CI", "phone": "0707123456", "email": "poison@example.ci"},
        submitted_at="2026-12-01T10:00:00+00:00",
    )


async def _until(probe, timeout: float, interval: float = 0.5) -> None:
    deadline = time.monotonic() + timeout
    while not await probe():
        if time.monotonic() > deadline:
            raise TimeoutError("not settled in time")
        await asyncio.sleep(interval)


def table(r: Results) -> str:
    lines = ["| figure | value |", "|---|---|"]
    faults = ", ".join(f"{k} ×{n}" for k, n in r.faults.items())
    lines += [
        f"| faults injected | {faults} |",
        f"| submissions sent / accepted | {r.submissions_sent} / {r.submissions_accepted} |",
        f"| submissions refused (by answer) | {r.submissions_refused or 'none'} |",
        f"| decisions sent / accepted / applied | {r.decisions_sent} / {r.decisions_accepted}"
        f" / {r.decisions_applied} |",
        f"| lost | {sum(r.lost.values())} ({', '.join(f'{k} {v}' for k, v in r.lost.items())}) |",
        f"| duplicated effects | {sum(r.duplicated.values())} "
        f"({', '.join(f'{k} {v}' for k, v in r.duplicated.items())}) |",
        f"| emails received twice (same Message-ID) | {r.emails_sent_twice} |",
        f"| valid messages dead-lettered | {r.valid_dead_lettered} |",
        f"| poison sent / dead-lettered with reason | {r.poison_sent} / {r.poison_dead_lettered}"
        " (the others: duplicate ids and unknown bodies, below) |",
        f"| duplicate ids ignored by the inboxes | {r.duplicate_ids_ignored} |",
        f"| unknown-body commands answered with an error | {r.unknown_body_answered} |",
        f"| every process ready at the end | {'yes' if r.processes_ready else 'NO'} |",
        f"| all work settled in time | {'yes' if r.settled else 'NO'} |",
        f"| held back by the network cut as it ended (triage's unsent events, queued messages)"
        f" | {r.cut_backlog[0]}, {r.cut_backlog[1]} |",
    ]
    if r.treatment:
        lines += faults_treatment.rows(faults_treatment.TreatmentFigures(**r.treatment))
    if r.poison_not_dead_lettered:
        lines.append(f"| poison NOT handled | {'; '.join(r.poison_not_dead_lettered[:10])} |")
    for failed in r.drivers_failed:
        lines.append(f"| campaign driver FAILED | {failed} |")
    for skipped in r.skipped:
        lines.append(f"| skipped | {skipped} |")
    lines += ["", "| recovery after | n | p50 s | max s |", "|---|---|---|---|"]
    for kind, values in sorted(r.recovery.items()):
        lines.append(
            f"| {kind} | {len(values)} | {percentile(values, 50):.1f} | {max(values):.1f} |"
        )
    return "\n".join(lines)


def machine() -> str:
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} cores, {cpu}, Python {sys.version.split()[0]}"


async def main_async(plan: Plan, seed: int, keep: bool) -> Results:
    workdir = Path(tempfile.mkdtemp(prefix="milie-faults-"))
    campaign = Campaign(plan, workdir, seed)
    try:
        results = await campaign.run()
    finally:
        await campaign.stop()
    results.machine = machine()
    (workdir / "results.json").write_text(json.dumps(asdict(results), indent=2, default=str))
    if not keep and results.ok:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        say(f"logs and results kept in {workdir}")
    return results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.faults", description=__doc__.splitlines()[0])
    p.add_argument("--short", action="store_true", help="a few kills and one broker restart")
    p.add_argument("--seed", type=int, default=14)
    p.add_argument("--keep", action="store_true", help="keep the logs even when all went well")
    args = p.parse_args(argv)
    plan = SHORT if args.short else Plan()
    results = asyncio.run(main_async(plan, args.seed, args.keep))
    say(
        f"python -m bench.faults{' --short' if args.short else ''} on {results.machine}, "
        f"{results.seconds:.0f} s"
    )
    say(table(results))
    say("OK: nothing lost, nothing done twice" if results.ok else "FAILED: see the table")
    return 0 if results.ok else 1


if __name__ == "__main__":
    sys.exit(main())
