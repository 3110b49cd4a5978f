"""The six processes of Miliê, started as separate programs: used by ``make up`` and by the
end-to-end tests, so that tests run the platform the way a user does.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

# name → (python module, default HTTP port); the gateway last, it calls the others.
PROCESSES: dict[str, tuple[str, int]] = {
    "intake": ("services.intake", 8081),
    "triage": ("services.triage", 8082),
    "treatment": ("services.treatment", 8083),
    "notify": ("services.notify", 8084),
    "stats": ("services.stats", 8085),
    "gateway": ("gateway", 8080),
}
# The gateway serves /metrics apart from its public port (MILIE_METRICS_PORT), here by default.
GATEWAY_METRICS_PORT = 9080
SERVICE_URL_VARS = {
    "intake": "MILIE_INTAKE_URL",
    "triage": "MILIE_TRIAGE_URL",
    "treatment": "MILIE_TREATMENT_URL",
    "notify": "MILIE_NOTIFY_URL",
    "stats": "MILIE_STATS_URL",
}


@dataclass
class Platform:
    """Start, watch, kill and restart the processes; ``env`` is given to each of them."""

    env: dict[str, str]
    ports: dict[str, int]
    log_dir: Path
    # The gateway's metrics listener; 0: any free port.
    gateway_metrics_port: int = 0
    cwd: Path = Path(__file__).resolve().parents[2]
    processes: dict[str, asyncio.subprocess.Process] = field(default_factory=dict)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def metrics_url(self, name: str) -> str:
        """Where Prometheus reads a process: the gateway's own listener, a service's port."""
        if name == "gateway":
            return f"http://127.0.0.1:{self.gateway_metrics_port}/metrics"
        return self.url(name) + "/metrics"

    def _env_for(self, name: str, extra: dict[str, str] | None) -> dict[str, str]:
        env = {**os.environ, **self.env, "MILIE_HTTP_PORT": str(self.ports[name])}
        for service, var in SERVICE_URL_VARS.items():
            env[var] = self.url(service)
        env.setdefault("MILIE_PUBLIC_URL", self.url("gateway"))
        if name == "gateway":
            env["MILIE_METRICS_PORT"] = str(self.gateway_metrics_port)
        env["PYTHONPATH"] = str(self.cwd) + os.pathsep + env.get("PYTHONPATH", "")
        env.update(extra or {})
        return env

    async def start(self, name: str, extra_env: dict[str, str] | None = None) -> None:
        module, _ = PROCESSES[name]
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = (self.log_dir / f"{name}.log").open("ab")
        self.processes[name] = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            module,
            cwd=self.cwd,
            env=self._env_for(name, extra_env),
            stdout=log,
            stderr=log,
            start_new_session=True,  # Ctrl-C in the terminal reaches the supervisor only
        )
        log.close()

    async def start_all(self) -> None:
        for name in PROCESSES:
            await self.start(name)

    async def wait_ready(self, names: list[str] | None = None, timeout: float = 60.0) -> None:
        """Wait until every process answers 200 on /health/ready; fail if one exits."""
        names = names or list(self.processes)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
            for name in names:
                while True:
                    process = self.processes[name]
                    if process.returncode is not None:
                        raise RuntimeError(
                            f"{name} exited ({process.returncode}); see {self.log_dir}/{name}.log"
                            + self._log_tail(name)
                        )
                    with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                        async with http.get(self.url(name) + "/health/ready") as resp:
                            if resp.status == 200:
                                break
                    if loop.time() > deadline:
                        raise TimeoutError(f"{name} not ready; see {self.log_dir}/{name}.log")
                    await asyncio.sleep(0.1)

    def _log_tail(self, name: str, lines: int = 8) -> str:
        """The end of a process's log: why it stopped (a refused setting says which, and why)."""
        try:
            text = (self.log_dir / f"{name}.log").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        tail = text.rstrip().splitlines()[-lines:]
        return "".join(f"\n  | {line}" for line in tail)

    async def kill(self, name: str) -> None:
        """SIGKILL, as a crash would."""
        process = self.processes[name]
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGKILL)
        await process.wait()

    async def stop(self, name: str, timeout: float = 10.0) -> None:
        process = self.processes.get(name)
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), timeout)
        except TimeoutError:
            await self.kill(name)

    async def stop_all(self) -> None:
        # The gateway first, so that nothing new comes in while the services drain.
        for name in reversed(list(self.processes)):
            await self.stop(name)

    async def wait_exit(self, name: str) -> int:
        return await self.processes[name].wait()
