"""Private PostgreSQL and RabbitMQ servers that a test or the fault campaign may stop, kill and
start at will.

The shared servers (127.0.0.1:5432 and :5672) serve other engineers and CI at the same time: what
restarts a server runs its own, from the installed server programs, on free ports, with its data
in a temporary directory that is removed afterwards. A missing program raises :class:`Missing`
(the tests skip on it).
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import pwd
import random
import secrets
import shutil
import signal
import socket
import tempfile
import uuid
from pathlib import Path

import aio_pika
import asyncpg


class Missing(Exception):
    """The server programs are not installed here."""


def free_port() -> int:
    """A port nobody listens on now, below the kernel's ephemeral range (32768 and up), where
    outgoing connections would take it between the check and the bind."""
    for port in random.sample(range(20000, 32000), 50):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _until(probe, timeout: float, interval: float = 0.3) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await probe():
        if loop.time() > deadline:
            raise TimeoutError("the server did not answer in time")
        await asyncio.sleep(interval)


def _as_user(user: str | None, *command: str) -> list[str]:
    """``command`` run as ``user`` when we are root (initdb and postgres refuse root)."""
    if user is None:
        return list(command)
    return ["runuser", "-u", user, "--", *command]


async def _run(*command: str, timeout: float = 60.0) -> None:
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd="/"
    )
    try:
        out, _ = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        raise
    if process.returncode != 0:
        raise RuntimeError(f"{command[0]} … failed ({process.returncode}): {out.decode()[-2000:]}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _private_dir(prefix: str, owner: str | None) -> Path:
    base = Path(tempfile.mkdtemp(prefix=prefix))
    base.chmod(0o755)  # the server's own user must reach it
    if owner is not None:
        entry = pwd.getpwnam(owner)
        os.chown(base, entry.pw_uid, entry.pw_gid)
    return base


class PrivatePostgres:
    """A PostgreSQL cluster of our own: ``start``, ``stop`` (``-m fast``), ``destroy``."""

    def __init__(self) -> None:
        candidates = sorted(
            glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name)
        )
        bins = [b for b in candidates if os.access(f"{b}/initdb", os.X_OK)]
        if not bins or not os.access(f"{bins[-1]}/pg_ctl", os.X_OK):
            raise Missing(
                "no PostgreSQL server programs (/usr/lib/postgresql/*/bin/initdb, pg_ctl)"
            )
        self.bin = bins[-1]
        self.user = "postgres" if os.geteuid() == 0 else None
        self.port = free_port()
        self.base = _private_dir("milie-pg-", self.user)
        self.data = self.base / "data"
        self.started = False

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    async def init(self) -> None:
        await _run(
            *_as_user(self.user, f"{self.bin}/initdb", "-D", str(self.data), "-U", "postgres"),
            "-A",
            "trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"listen_addresses = '127.0.0.1'\nport = {self.port}\n"
                f"unix_socket_directories = '{self.base}'\n"
                # Durability across a clean stop does not need fsync; the test needs speed.
                "fsync = off\nfull_page_writes = off\nmax_connections = 200\n"
            )

    async def start(self, attempts: int = 20) -> None:
        """Start the cluster. After a kill its orphaned backends may hold the shared memory a
        moment longer (they exit as soon as they notice): the start is tried again."""
        log = self.base / "server.log"
        for attempt in range(attempts):
            try:
                await _run(
                    *_as_user(self.user, f"{self.bin}/pg_ctl", "-D", str(self.data)),
                    *("-l", str(log), "-w", "-t", "60", "start"),
                )
                break
            except RuntimeError:
                if attempt == attempts - 1:
                    raise
                await asyncio.sleep(0.5)
        self.started = True

    async def stop(self, mode: str = "fast") -> None:
        await _run(
            *_as_user(self.user, f"{self.bin}/pg_ctl", "-D", str(self.data)),
            *("-m", mode, "-w", "-t", "60", "stop"),
        )
        self.started = False

    def postmaster_pid(self) -> int:
        return int((self.data / "postmaster.pid").read_text().split()[0])

    async def kill(self) -> None:
        """SIGKILL the postmaster, as a crash would: its backends exit on their own, and the next
        :meth:`start` recovers from the write-ahead log."""
        pid = self.postmaster_pid()
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        for _ in range(600):
            if not _alive(pid):
                break
            await asyncio.sleep(0.05)
        self.started = False

    async def create_database(self, name: str) -> str:
        conn = await asyncpg.connect(self.url())
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        return self.url(name)

    async def destroy(self) -> None:
        try:
            if self.started or (self.data / "postmaster.pid").exists():
                await self.stop("immediate")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)


class PrivateRabbitMQ:
    """A RabbitMQ node of our own, run in the foreground so that SIGTERM stops it cleanly.

    Its name is unique, so it registers beside the system node in the shared epmd; its HOME (and
    so its Erlang cookie) is its own directory, so the system node's cookie is never touched.
    """

    def __init__(self, extra_addresses: tuple[str, ...] = ()) -> None:
        """``extra_addresses``: other loopback addresses (127.0.0.3) the node listens on too, on
        the same port, so that one client's traffic can be told apart (the fault campaign cuts
        one service off the broker that way)."""
        server = "/usr/lib/rabbitmq/bin/rabbitmq-server"
        if not os.access(server, os.X_OK):
            server = shutil.which("rabbitmq-server") or ""
        if not server:
            raise Missing("no RabbitMQ server program (rabbitmq-server)")
        self.server = server
        self.port = free_port()
        self.dist_port = free_port()
        self.node = f"milie-test-{uuid.uuid4().hex[:8]}@localhost"
        self.base = _private_dir("milie-rmq-", None)
        self.url = f"amqp://guest:guest@127.0.0.1:{self.port}/"
        self.process: asyncio.subprocess.Process | None = None
        extra = "".join(
            f"listeners.tcp.extra{i} = {address}:{self.port}\n"
            for i, address in enumerate(extra_addresses)
        )
        (self.base / "rabbitmq.conf").write_text(
            f"listeners.tcp.local = 127.0.0.1:{self.port}\n"
            + extra
            +
            # A shared test machine may be short of disk; the node must not block publishers.
            "disk_free_limit.absolute = 1MB\n"
        )
        # No plugin: no management listener on the system node's port 15672.
        (self.base / "enabled_plugins").write_text("[].\n")
        cookie = self.base / ".erlang.cookie"
        cookie.write_text(secrets.token_hex(16))
        cookie.chmod(0o400)

    def _env(self) -> dict[str, str]:
        base = str(self.base)
        return {
            **os.environ,
            "HOME": base,
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_CONFIG_FILE": f"{base}/rabbitmq.conf",
            "RABBITMQ_ADVANCED_CONFIG_FILE": f"{base}/advanced.config",
            "RABBITMQ_ENABLED_PLUGINS_FILE": f"{base}/enabled_plugins",
            "RABBITMQ_MNESIA_BASE": f"{base}/mnesia",
            "RABBITMQ_LOG_BASE": f"{base}/log",
            "RABBITMQ_PID_FILE": f"{base}/rabbitmq.pid",
        }

    async def start(self, timeout: float = 90.0) -> None:
        """Start the node (its data kept from a previous run) and wait until AMQP answers."""
        log = (self.base / "console.log").open("ab")
        self.process = await asyncio.create_subprocess_exec(
            self.server,
            cwd=self.base,
            env=self._env(),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        log.close()

        async def answers() -> bool:
            if self.process is None or self.process.returncode is not None:
                raise RuntimeError(f"rabbitmq-server exited; see {self.base}/log")
            try:
                # A plain TCP probe first: aio-pika logs every refused connection as an error.
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                connection = await aio_pika.connect(self.url, timeout=2)
            except Exception:
                return False
            await connection.close()
            return True

        await _until(answers, timeout)

    async def stop(self, timeout: float = 60.0) -> None:
        """Stop the node gracefully (the script turns SIGTERM into ``rabbitmqctl stop``)."""
        process, self.process = self.process, None
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), timeout)
        except TimeoutError:
            # Only this node's own process group: the script and its Erlang VM.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()

    async def kill(self) -> None:
        """SIGKILL the node's whole process group (the script and its Erlang VM), as a crash."""
        process, self.process = self.process, None
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()

    async def destroy(self) -> None:
        try:
            await self.stop()
        finally:
            shutil.rmtree(self.base, ignore_errors=True)
