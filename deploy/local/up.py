"""``make up``: make sure PostgreSQL and RabbitMQ are there, start the development mail server
and the six processes, print the gateway's URL, and stop everything cleanly on Ctrl-C.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from deploy.local.platform import GATEWAY_METRICS_PORT, PROCESSES, Platform

ROOT = Path(__file__).resolve().parents[2]
RUN = ROOT / ".run"
LOCK = RUN / "up.lock"


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _take_lock() -> object:
    """Hold ``.run/up.lock`` for the whole run; say so if another ``make up`` holds it."""
    RUN.mkdir(exist_ok=True)
    handle = LOCK.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        owner = handle.read().strip() or "?"
        sys.exit(
            f"Miliê is already running from this checkout (make up, pid {owner}).\n"
            "Use that one, or stop it with Ctrl-C in its terminal first."
        )
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


STARTED = RUN / "up.started"


def ensure_infrastructure() -> dict[str, str]:
    """DATABASE_URL and AMQP_URL from deploy/local/ensure-infra.sh (which may start them).

    The servers it starts for this run are listed in ``.run/up.started``, to stop those only.
    """
    STARTED.write_text("")
    out = subprocess.run(
        ["bash", str(ROOT / "deploy/local/ensure-infra.sh")],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "MILIE_INFRA_STARTED": str(STARTED)},
    ).stdout
    env = {}
    for line in out.splitlines():
        key, sep, value = line.partition("=")
        if sep and key in ("DATABASE_URL", "AMQP_URL"):
            env[key] = value
    return env


def stop_private_infrastructure() -> None:
    """Stop the private servers this run started; never those it found running."""
    started = STARTED.read_text().split() if STARTED.exists() else []
    if started:
        subprocess.run(
            ["bash", str(ROOT / "deploy/local/stop-infra.sh"), *started], cwd=ROOT, check=False
        )


async def run() -> int:
    metrics_port = int(os.environ.get("MILIE_METRICS_PORT", GATEWAY_METRICS_PORT))
    busy = [
        f"{name} ({port})"
        for name, (_, port) in PROCESSES.items()
        if not _port_free(int(os.environ.get(f"MILIE_{name.upper()}_PORT", port)))
    ]
    if metrics_port and not _port_free(metrics_port):
        busy.append(f"the gateway's metrics ({metrics_port}, MILIE_METRICS_PORT)")
    if busy:
        print(
            f"These ports are taken: {', '.join(busy)}. Free them, or set "
            "MILIE_<SERVICE>_PORT (e.g. MILIE_GATEWAY_PORT=9180).",
            file=sys.stderr,
        )
        return 1
    env = ensure_infrastructure()
    env.setdefault("MILIE_ENV", os.environ.get("MILIE_ENV", "development"))
    env["MILIE_DEV_MAIL_DIR"] = str(RUN / "mail")
    ports = {
        name: int(os.environ.get(f"MILIE_{name.upper()}_PORT", port))
        for name, (_, port) in PROCESSES.items()
    }
    platform = Platform(
        env=env, ports=ports, log_dir=RUN / "logs", gateway_metrics_port=metrics_port
    )

    mail = None
    if "MILIE_SMTP_HOST" not in os.environ:
        smtp_port = 1025 if _port_free(1025) else 0
        if smtp_port == 0:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                smtp_port = s.getsockname()[1]
        # Its line per email goes to its log, as the processes' do: written to the terminal,
        # a slow terminal would hold the mail server's event loop at every email.
        (RUN / "logs").mkdir(parents=True, exist_ok=True)
        mail_log = (RUN / "logs" / "mailserver.log").open("ab")
        mail = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "deploy.local.mailserver",
            "--port",
            str(smtp_port),
            "--dir",
            str(RUN / "mail"),
            cwd=ROOT,
            stdout=mail_log,
            stderr=mail_log,
            start_new_session=True,
        )
        mail_log.close()
        env["MILIE_SMTP_HOST"] = "127.0.0.1"
        env["MILIE_SMTP_PORT"] = str(smtp_port)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    code = 0
    try:
        await platform.start_all()
        await platform.wait_ready()
        gateway = platform.url("gateway")
        print(f"\nMiliê is running: {gateway}", flush=True)
        if mail is not None and env["MILIE_ENV"] == "development":  # no /dev/mail otherwise
            print(f"Mail kept in .run/mail/ and listed on {gateway}/dev/mail", flush=True)
        print(f"Metrics (Prometheus): {platform.metrics_url('gateway')}", flush=True)
        print("Logs: .run/logs/<process>.log (and mailserver.log) — stop with Ctrl-C\n", flush=True)
        exits = [asyncio.create_task(platform.wait_exit(n)) for n in platform.processes]
        stopper = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait([stopper, *exits], return_when=asyncio.FIRST_COMPLETED)
        if stopper not in done:
            dead = [n for n, p in platform.processes.items() if p.returncode is not None]
            print(f"{', '.join(dead)} stopped unexpectedly; see .run/logs/", file=sys.stderr)
            code = 1
        for task in (stopper, *exits):
            task.cancel()
    except (RuntimeError, TimeoutError) as exc:
        print(f"Miliê could not start: {exc}", file=sys.stderr)
        code = 1
    finally:
        print("Stopping Miliê…", flush=True)
        await platform.stop_all()
        if mail is not None and mail.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                mail.terminate()
            await mail.wait()
        stop_private_infrastructure()
        print("Stopped.", flush=True)
    return code


def main() -> int:
    lock = _take_lock()
    try:
        return asyncio.run(run())
    finally:
        lock.close()


if __name__ == "__main__":
    sys.exit(main())
