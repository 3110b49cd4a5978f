"""MILIE_ENV=production: every process refuses a missing, development, placeholder or short
secret, names each one and says why; a good set starts. Settings built from the environment as
``__main__`` builds them, and one real ``python -m`` per process."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from deploy.local.platform import PROCESSES
from gateway.settings import GatewaySettings
from services.intake.settings import IntakeSettings
from services.notify.settings import NotifySettings
from services.stats.settings import StatsSettings
from services.treatment.settings import TreatmentSettings
from services.triage.settings import TriageSettings
from shared.settings import ServiceSettings, describe
from tests.support import free_port

ROOT = Path(__file__).resolve().parents[2]
SETTINGS: dict[str, type[ServiceSettings]] = {
    "intake": IntakeSettings,
    "triage": TriageSettings,
    "treatment": TreatmentSettings,
    "notify": NotifySettings,
    "stats": StatsSettings,
    "gateway": GatewaySettings,
}
GOOD = {
    "MILIE_ENV": "production",
    "DATABASE_URL": f"postgresql://milie:{secrets.token_urlsafe(24)}@db.example.ci:5432/milie",
    "AMQP_URL": f"amqp://milie:{secrets.token_urlsafe(24)}@broker.example.ci:5672/",
    "MILIE_IDENTITY_SECRET": secrets.token_urlsafe(48),
    "MILIE_FORM_SECRET": secrets.token_urlsafe(48),
}


def _environment(monkeypatch: pytest.MonkeyPatch, **values: str | None) -> None:
    """GOOD, changed by ``values`` (None: unset), and nothing else of this machine's."""
    for var in list(os.environ):
        if var.startswith("MILIE_") or var in ("DATABASE_URL", "AMQP_URL"):
            monkeypatch.delenv(var)
    for var, value in {**GOOD, **values}.items():
        if value is not None:
            monkeypatch.setenv(var, value)


def _refusal(cls: type[ServiceSettings]) -> str:
    with pytest.raises(ValidationError) as caught:
        cls()
    return describe(caught.value)


def test_every_process_covers_the_platform() -> None:
    assert set(SETTINGS) == set(PROCESSES)


@pytest.mark.parametrize("name", list(SETTINGS))
def test_a_good_set_of_secrets_starts(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _environment(monkeypatch)
    settings = SETTINGS[name]()
    assert settings.env == "production"
    assert settings.production_problems() == []


@pytest.mark.parametrize("name", list(SETTINGS))
def test_development_defaults_are_refused_each_named(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _environment(
        monkeypatch,
        DATABASE_URL=None,
        AMQP_URL=None,
        MILIE_IDENTITY_SECRET=None,
        MILIE_FORM_SECRET=None,
    )
    refusal = _refusal(SETTINGS[name])
    assert "MILIE_ENV=production refuses to start" in refusal
    assert "MILIE_IDENTITY_SECRET: the development default" in refusal
    assert "DATABASE_URL: not set" in refusal
    # The gateway never connects to the broker: its AMQP_URL does not matter.
    assert ("AMQP_URL: not set" in refusal) == (name != "gateway")
    assert ("MILIE_FORM_SECRET: the development default" in refusal) == (name == "gateway")


# (variable, value, what the refusal says); each alone in an otherwise good environment.
BAD_SECRETS = [
    ("MILIE_IDENTITY_SECRET", "", "MILIE_IDENTITY_SECRET: missing"),
    ("MILIE_IDENTITY_SECRET", "CHANGE-ME", "MILIE_IDENTITY_SECRET: still holds the CHANGE-ME"),
    ("MILIE_IDENTITY_SECRET", "x" * 31, "MILIE_IDENTITY_SECRET: 31 bytes, at least 32"),
    ("MILIE_IDENTITY_SECRET", "é" * 15, "MILIE_IDENTITY_SECRET: 30 bytes, at least 32"),
    (
        "MILIE_IDENTITY_SECRET",
        "prefix-CHANGE-ME-" + "x" * 40,
        "MILIE_IDENTITY_SECRET: still holds the CHANGE-ME",
    ),
    (
        "DATABASE_URL",
        "postgresql://postgres:postgres@db.example.ci:5432/milie",
        "DATABASE_URL: the password of postgres is a well-known default",
    ),
    (
        "DATABASE_URL",
        "postgresql://milie:milie@db.example.ci:5432/milie",
        "DATABASE_URL: the password of milie is a well-known default",
    ),
    (
        "DATABASE_URL",
        "postgresql://milie:CHANGE-ME@postgres.example.internal:5432/milie?sslmode=require",
        "DATABASE_URL: still holds the CHANGE-ME",
    ),
    (
        "AMQP_URL",
        "amqp://guest:guest@broker.example.ci:5672/",
        "AMQP_URL: the password of guest is a well-known default",
    ),
    (
        "AMQP_URL",
        "amqp://broker.example.ci:5672/",
        "AMQP_URL: no password (the client would log in as guest/guest)",
    ),
    (
        "AMQP_URL",
        "amqp://milie:CHANGE-ME@milie-rabbitmq.milie-rabbitmq.svc:5672/",
        "AMQP_URL: still holds the CHANGE-ME",
    ),
]


@pytest.mark.parametrize("name", ["intake", "gateway"])
@pytest.mark.parametrize(("var", "value", "reason"), BAD_SECRETS)
def test_each_bad_secret_is_refused_with_its_reason(
    name: str, var: str, value: str, reason: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _environment(monkeypatch, **{var: value})
    if name == "gateway" and var == "AMQP_URL":
        assert GatewaySettings().production_problems() == []  # not its concern
        return
    refusal = _refusal(SETTINGS[name])
    assert reason in refusal
    assert refusal.count("\n  ") == 1, refusal  # that secret only
    if len(value) > 12:
        assert value not in refusal  # a secret is never repeated in the error


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"MILIE_FORM_SECRET": "x" * 20}, "MILIE_FORM_SECRET: 20 bytes, at least 32"),
        ({"MILIE_FORM_SECRET": "CHANGE-ME"}, "MILIE_FORM_SECRET: still holds the CHANGE-ME"),
        (
            {"MILIE_FORM_SECRET": "development-only-identity-secret"},  # 32 bytes, but known
            "MILIE_FORM_SECRET: the development default",
        ),
        ({"MILIE_FORM_SECRET": GOOD["MILIE_IDENTITY_SECRET"]}, "the same as MILIE_IDENTITY_SECRET"),
        (
            {"MILIE_OPEN311_KEYS": "CHANGE-ME-CHANGE-ME-CHANGE-ME=partner"},
            "MILIE_OPEN311_KEYS: a key still holds the CHANGE-ME",
        ),
    ],
)
def test_the_gateway_refuses_a_bad_form_secret_or_open311_key(
    values: dict[str, str], reason: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _environment(monkeypatch, **values)
    assert reason in _refusal(GatewaySettings)


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"MILIE_SMTP_USERNAME": "relay-user"}, "MILIE_SMTP_PASSWORD: missing"),
        (
            {"MILIE_SMTP_USERNAME": "CHANGE-ME", "MILIE_SMTP_PASSWORD": "CHANGE-ME"},
            "MILIE_SMTP_USERNAME: still holds the CHANGE-ME",
        ),
        (
            {"MILIE_SMTP_USERNAME": "relay-user", "MILIE_SMTP_PASSWORD": "CHANGE-ME"},
            "MILIE_SMTP_PASSWORD: still holds the CHANGE-ME",
        ),
        # Unused (no MILIE_SMS_BASE_URL) but a placeholder is never a value to keep.
        ({"MILIE_SMS_CLIENT_SECRET": "CHANGE-ME"}, "MILIE_SMS_CLIENT_SECRET: still holds"),
        # SMS declared on without a provider, or a provider without the switch: the pages
        # would promise SMS that are never sent, or hide those that are.
        ({"MILIE_SMS_ENABLED": "true"}, "MILIE_SMS_ENABLED is true: set MILIE_SMS_BASE_URL"),
        (
            {
                "MILIE_SMS_BASE_URL": "https://api.orange.com",
                "MILIE_SMS_SENDER": "2250700000000",
                "MILIE_SMS_CLIENT_ID": "orange-id",
                "MILIE_SMS_CLIENT_SECRET": "orange-issued",
            },
            "MILIE_SMS_BASE_URL is set: set MILIE_SMS_ENABLED=true",
        ),
        (
            {
                "MILIE_SMS_ENABLED": "true",
                "MILIE_SMS_BASE_URL": "https://api.orange.com",
                "MILIE_SMS_SENDER": "2250700000000",
                "MILIE_SMS_CLIENT_ID": "CHANGE-ME",
                "MILIE_SMS_CLIENT_SECRET": "orange-issued",
            },
            "MILIE_SMS_CLIENT_ID: still holds the CHANGE-ME",
        ),
    ],
)
def test_notify_refuses_placeholder_or_missing_credentials(
    values: dict[str, str], reason: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _environment(monkeypatch, **values)
    assert reason in _refusal(NotifySettings)


def test_notify_takes_the_providers_credentials_as_issued(monkeypatch: pytest.MonkeyPatch) -> None:
    """Short but real: the relay's and Orange's credentials are not ours to lengthen."""
    _environment(
        monkeypatch,
        MILIE_SMTP_USERNAME="relay-user",
        MILIE_SMTP_PASSWORD="short-pass",
        MILIE_SMS_ENABLED="true",
        MILIE_SMS_BASE_URL="https://api.orange.com",
        MILIE_SMS_SENDER="2250700000000",
        MILIE_SMS_CLIENT_ID="orange-id",
        MILIE_SMS_CLIENT_SECRET="orange-secret",
    )
    assert NotifySettings().production_problems() == []


def test_outside_production_the_development_defaults_serve(monkeypatch) -> None:
    for env in ("development", "test"):
        _environment(monkeypatch, MILIE_ENV=env, MILIE_IDENTITY_SECRET=None, DATABASE_URL=None)
        assert GatewaySettings().env == env
        assert IntakeSettings().production_problems()  # said, but not refused


def test_dev_mail_exists_only_in_development(monkeypatch) -> None:
    from gateway.app import create_app

    for env, served in (("development", True), ("test", False), ("production", False)):
        _environment(monkeypatch, MILIE_ENV=env)
        app = create_app(GatewaySettings())
        paths = {resource.canonical for resource in app.router.resources()}
        assert ("/dev/mail" in paths) == served, env


def _compose_environment(name: str, dotenv: dict[str, str]) -> dict[str, str]:
    """A process's environment in deploy/container: the Dockerfile's ENV, then compose's
    (``${VAR:?…}`` from ``dotenv``, ``${VAR:-default}`` at its default)."""
    import re

    import yaml

    dockerfile = (ROOT / "deploy/container/Dockerfile").read_text(encoding="utf-8")
    (env_line,) = re.findall(r"^ENV (.+)$", dockerfile, re.M)
    env = dict(pair.split("=", 1) for pair in env_line.split())
    compose = yaml.safe_load((ROOT / "deploy/container/compose.yaml").read_text(encoding="utf-8"))

    def substitute(value: object) -> str:
        def one(match: re.Match) -> str:
            var, op, default = match.groups()
            if op == ":?":
                return dotenv[var]  # compose refuses to start without it
            return dotenv.get(var, default)

        return re.sub(r"\$\{(\w+)(:\?|:-)([^}]*)\}", one, str(value))

    service = compose["services"][name]
    env.update({var: substitute(value) for var, value in service["environment"].items()})
    return env


@pytest.mark.parametrize("name", list(PROCESSES))
def test_compose_runs_each_process_in_production_with_the_env_files_secrets(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    dotenv = {
        "MILIE_IDENTITY_SECRET": secrets.token_urlsafe(48),
        "MILIE_FORM_SECRET": secrets.token_urlsafe(48),
        "MILIE_DB_PASSWORD": secrets.token_urlsafe(48),
        "MILIE_AMQP_PASSWORD": secrets.token_urlsafe(48),
    }
    env = _compose_environment(name, dotenv)
    assert env["MILIE_ENV"] == "production"
    _environment(monkeypatch, **{var: None for var in GOOD})
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    assert SETTINGS[name]().production_problems() == []


@pytest.mark.parametrize("name", list(PROCESSES))
def test_the_process_exits_saying_which_secret_and_why(name: str) -> None:
    """``python -m …`` as deploy/ runs it: the reasons on stderr, a non-zero status, at once
    (before any connection: the URLs point nowhere)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MILIE_")}
    env.pop("DATABASE_URL", None)
    env.pop("AMQP_URL", None)
    short = "only-twenty-bytes-xx"
    env.update({**GOOD, "MILIE_IDENTITY_SECRET": short, "PYTHONPATH": str(ROOT)})
    done = subprocess.run(
        [sys.executable, "-m", PROCESSES[name][0]],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert f"{name} cannot start" in done.stderr
    assert "MILIE_IDENTITY_SECRET: 20 bytes, at least 32 needed" in done.stderr
    assert "Traceback" not in done.stderr
    assert short not in done.stderr


def test_any_refused_setting_is_named_by_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    _environment(monkeypatch, MILIE_DB_POOL_MAX="many", MILIE_TRUSTED_PROXIES="not-a-network")
    refusal = _refusal(GatewaySettings)
    assert "MILIE_DB_POOL_MAX: Input should be a valid integer" in refusal
    assert "MILIE_TRUSTED_PROXIES: 'not-a-network' does not appear to be" in refusal


async def test_make_up_says_why_a_process_refused_to_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """deploy/local's supervisor (make up, milie up, the e2e tests) shows the refusal."""
    from deploy.local.platform import Platform

    _environment(monkeypatch, **{var: None for var in GOOD})  # Platform passes os.environ on
    env = {**GOOD, "MILIE_FORM_SECRET": "CHANGE-ME"}
    # Free ports, not the defaults: a `make up` on this machine would answer on 8080 and be
    # taken for the gateway that refused to start.
    ports = {name: free_port() for name in PROCESSES}  # never bound: it stops first
    platform = Platform(env=env, ports=ports, log_dir=tmp_path)
    await platform.start("gateway")
    with pytest.raises(RuntimeError) as refused:
        await platform.wait_ready(["gateway"], timeout=120)
    assert "gateway exited (1)" in str(refused.value)
    assert "MILIE_FORM_SECRET: still holds the CHANGE-ME placeholder" in str(refused.value)
