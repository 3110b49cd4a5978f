"""Settings of every process, read once from the environment in ``__main__`` and passed down.

Each service subclasses :class:`ServiceSettings`; the variable names are listed in the README.
``DATABASE_URL`` and ``AMQP_URL`` keep their conventional names (no ``MILIE_`` prefix).
"""

from __future__ import annotations

import sys
from collections.abc import Collection
from typing import Literal, Self, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

from pydantic import AliasChoices, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# In production a secret we generate ourselves must be at least this long (secrets.token_urlsafe
# (48) gives 64 characters). Credentials a provider issues (SMTP, SMS) are taken as they come.
MIN_SECRET_BYTES = 32
# What deploy/ writes where a real value must go (kubernetes/secret.example.yaml).
PLACEHOLDER = "CHANGE-ME"
DEVELOPMENT_IDENTITY_SECRET = "development-only-identity-secret"  # noqa: S105 - refused in production
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/milie"
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
# A closed request's personal data is purged this many days after its closure
# (MILIE_PURGE_AFTER_DAYS): by intake (services/intake/purge.py) and by ``milie dead-letters``,
# which removes the dead letters first dead-lettered longer ago (deploy/local/dead_letters.py).
PURGE_AFTER_DAYS = 365
# Passwords of the images' and the compose file's defaults (RabbitMQ's guest, PostgreSQL's
# postgres, deploy/container/compose.yaml's milie), refused inside a production URL.
WELL_KNOWN_PASSWORDS = frozenset({"guest", "postgres", "milie", "password", "changeme", "secret"})


def secret_problem(
    name: str,
    value: SecretStr | str | None,
    development: Collection[str] = (),
    *,
    generated: bool = True,
) -> str | None:
    """Why ``value`` of the setting ``name`` must not run in production, or None.

    ``development``: the development defaults it must not be. ``generated``: a secret of ours
    (identity, CSRF), held to the length rule; a provider's credential is only checked for a
    placeholder or a development value.
    """
    text = value.get_secret_value() if isinstance(value, SecretStr) else (value or "")
    if not text.strip():
        return f"{name}: missing"
    if text in development:
        return f"{name}: the development default; generate one (secrets.token_urlsafe(48))"
    if PLACEHOLDER.lower() in text.lower():
        return f"{name}: still holds the {PLACEHOLDER} placeholder of deploy/"
    if generated and len(text.encode()) < MIN_SECRET_BYTES:
        return f"{name}: {len(text.encode())} bytes, at least {MIN_SECRET_BYTES} needed"
    return None


def url_password_problem(name: str, url: str, development: str) -> str | None:
    """Why the credentials inside ``url`` must not run in production, or None. A URL without a
    password passes (certificate or peer authentication), except AMQP's: its clients then log in
    as guest/guest."""
    if url == development:
        return f"{name}: not set (the development default {development})"
    parts = urlsplit(url)
    user, password = unquote(parts.username or ""), unquote(parts.password or "")
    if PLACEHOLDER.lower() in f"{user}:{password}".lower():
        return f"{name}: still holds the {PLACEHOLDER} placeholder of deploy/"
    if parts.scheme.startswith("amqp") and not password:
        if parse_qs(parts.query).get("auth", [""])[0].lower() != "external":
            return f"{name}: no password (the client would log in as guest/guest)"
    if password and (password.lower() in WELL_KNOWN_PASSWORDS or password == user):
        return f"{name}: the password of {user or 'its user'} is a well-known default"
    return None


class ServiceSettings(BaseSettings):
    # hide_input_in_errors: a refused value (a secret) is never echoed in the error.
    model_config = SettingsConfigDict(
        env_prefix="MILIE_", extra="ignore", hide_input_in_errors=True
    )

    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        validation_alias=AliasChoices("DATABASE_URL", "MILIE_DATABASE_URL"),
    )
    amqp_url: str = Field(
        DEFAULT_AMQP_URL,
        validation_alias=AliasChoices("AMQP_URL", "MILIE_AMQP_URL"),
    )
    # Prefixes every exchange and queue name: empty in production; tests use it to isolate runs.
    broker_namespace: str = ""
    env: Literal["development", "production", "test"] = "development"
    http_host: str = "127.0.0.1"
    http_port: int = 0
    log_level: str = "INFO"
    log_format: Literal["json", "text"] = "json"
    db_pool_min: int = 2
    db_pool_max: int = 10
    db_command_timeout: float = 30.0
    db_acquire_timeout: float = 10.0
    consumer_prefetch: int = 32
    # Messages applied in one transaction and acknowledged together (at most; the consumer takes
    # what has arrived). Keep it below the prefetch so that the next batch arrives meanwhile.
    consumer_batch: int = 16
    # How long a busy consumer (its last batch was moments ago) waits for more messages before
    # applying a smaller batch; a message after a quiet spell is applied at once. Measured side
    # by side (bench.load, 2026-11-28): 0.1 s against 0.01 s, stats and triage 15 % less CPU.
    consumer_batch_linger_seconds: float = 0.1
    # The broker dead-letters a message redelivered more than this (crash loops, bugs).
    delivery_limit: int = 20
    # A handler error that is not a temporary failure is tried this many times, then dead-lettered.
    handler_attempts: int = 5
    outbox_batch: int = 200
    outbox_poll_seconds: float = 1.0
    # How long a busy relay (it published moments ago) lets new rows gather before its next
    # claim; a row after a quiet spell is published at once (shared.outbox.OutboxRelay).
    outbox_linger_seconds: float = Field(0.05, ge=0, le=1)
    # An event that comes before its request's submission is parked, then applied with it
    # (shared.early: stats, notify): how often the sweep looks again at those a copy parked while
    # another applied the submission (0: never), and after how many days one whose request never
    # came is dropped.
    parked_sweep_seconds: float = Field(60, ge=0)
    parked_days: int = Field(7, ge=1)
    # How often a process removes what is past its keeping time (shared.retention; 0: never):
    # the inbox in every service that consumes, and each service's own tables (notify's).
    retention_sweep_seconds: float = Field(3600, ge=0)
    # A consumed message's id is kept this many days, so that the same message coming again is
    # dropped (shared.inbox). RabbitMQ gives a message back within minutes and an operator
    # replays dead letters within days; a month is well past both, and a month of ids (a few
    # million rows at the design's peak) is a small table.
    inbox_kept_days: int = Field(30, ge=1)
    # Shared by the gateway and the services to sign the staff identity passed along a call.
    identity_secret: SecretStr = SecretStr(DEVELOPMENT_IDENTITY_SECRET)
    # Whether the platform sends SMS (MILIE_SMS_ENABLED), one value for every process: intake's
    # answers and the gateway's pages promise an SMS only when it is on (shared.reach), and
    # notify, which sends them, refuses to start when it disagrees with MILIE_SMS_BASE_URL.
    sms_enabled: bool = False

    def uses_broker(self) -> bool:
        """Whether this process connects to RabbitMQ (the gateway does not)."""
        return True

    def signs_calls(self) -> bool:
        """Whether this process signs or checks calls with the identity secret (the dead-letter
        command, which calls nobody, does not)."""
        return True

    def production_problems(self) -> list[str]:
        """Each secret that keeps this process from starting with MILIE_ENV=production, with why.

        A subclass adds its own secrets to the list.
        """
        problems = []
        if self.signs_calls():
            problems.append(
                secret_problem(
                    "MILIE_IDENTITY_SECRET", self.identity_secret, [DEVELOPMENT_IDENTITY_SECRET]
                )
            )
        problems.append(
            url_password_problem("DATABASE_URL", self.database_url, DEFAULT_DATABASE_URL)
        )
        if self.uses_broker():
            problems.append(url_password_problem("AMQP_URL", self.amqp_url, DEFAULT_AMQP_URL))
        return [problem for problem in problems if problem]

    @model_validator(mode="after")
    def _production_secrets(self) -> Self:
        if self.env == "production" and (problems := self.production_problems()):
            raise ValueError(
                "MILIE_ENV=production refuses to start with these secrets:\n  "
                + "\n  ".join(problems)
            )
        return self


S = TypeVar("S", bound=ServiceSettings)


def load(cls: type[S], process: str) -> S:
    """``cls()`` from the environment, or the reasons it is refused on stderr and exit status 1."""
    try:
        return cls()
    except ValidationError as exc:
        sys.exit(
            f"{process} cannot start:\n{describe(exc, cls.model_config.get('env_prefix', ''))}"
        )


def describe(exc: ValidationError, prefix: str = "MILIE_") -> str:
    """The settings' errors, one a line, each under its variable's name, without pydantic's
    decoration."""
    lines = []
    for error in exc.errors():
        message = str(error["msg"]).removeprefix("Value error, ")
        where = ".".join(str(part) for part in error["loc"])
        if where and not where.isupper():  # a field's name; an alias (DATABASE_URL) is kept
            where = f"{prefix}{where}".upper()
        lines.append(f"{where}: {message}" if where else message)
    return "\n".join(lines)
