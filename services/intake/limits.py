"""The anonymous channels' limits (web form, JSON API, Open311), read from intake's
configuration table (``config``: one row a setting, JSON values; an administrator changes them
with ``PUT /config``, a missing row means the default below).

- Submissions per client address (an IPv6 client counted by its /64), per recipient email and
  per mobile number, over a window: beyond, :class:`Throttled` (a 429 with ``Retry-After``) and
  nothing is stored or sent. Counted in PostgreSQL (``throttle.hit``: one upsert a bucket, its
  row locked until the transaction ends), so every copy of intake agrees and parallel
  submissions cannot all slip under the limit.
- A suspicion threshold below the address's hard limit (many submissions from one address in a
  short time, as behind a mobile operator's NAT): the web form then asks for a proof of work
  (``services.intake.proof``) instead of refusing every citizen behind that address.
- The countries SMS may go to (Côte d'Ivoire, +225, by default): a mobile number of another
  country is refused at submission, beside the field.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, fields, replace
from typing import Any

import asyncpg
import phonenumbers
from aiohttp import web

from services.intake import throttle
from services.intake.throttle import Rule
from shared import french
from shared.signing import call_of
from shared.web import field_error


@dataclass(frozen=True)
class Config:
    """Every setting of the configuration table, with its default."""

    submission_window_seconds: int = 3600
    # Generous per address: many citizens share one behind a mobile operator.
    submissions_per_client: int = 60
    submissions_per_email: int = 5
    submissions_per_phone: int = 5
    # Past this many submissions from one address in the window, the form asks a proof of work.
    suspicion_window_seconds: int = 600
    suspicion_per_client: int = 5
    # Leading zero bits of SHA-256(challenge ":" nonce): 2^16 tries, a second or two of plain
    # JavaScript on a cheap phone. Without JavaScript, waiting this long does instead.
    proof_difficulty_bits: int = 16
    proof_wait_seconds: int = 30
    proof_lifetime_seconds: int = 900
    # Country calling codes SMS may be sent to.
    sms_country_codes: tuple[int, ...] = (225,)


DEFAULTS = Config()
MOST = 10_000_000
# (lowest, highest) of a setting; (0, MOST) for those not named. A limit of 0 submissions, or a
# window of 0 seconds, refuses every citizen of every channel: never a value to type by mistake.
_BOUNDS = {
    "submission_window_seconds": (1, MOST),
    "submissions_per_client": (1, MOST),
    "submissions_per_email": (1, MOST),
    "submissions_per_phone": (1, MOST),
    "suspicion_window_seconds": (1, MOST),
    "proof_difficulty_bits": (0, 24),
    "proof_wait_seconds": (0, 600),
}


def parse(values: dict[str, Any], defaults: Config = DEFAULTS) -> Config:
    """A Config from the table's values over ``defaults`` (unknown keys refused); ValueError
    says what is wrong as « setting: message », the message in French for the administrator."""
    known = {f.name: f for f in fields(Config)}
    changes: dict[str, Any] = {}
    for key, value in values.items():
        if key not in known:
            raise ValueError(f"{key}: réglage inconnu.")
        if key == "sms_country_codes":
            if not isinstance(value, list) or not all(
                isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 999 for v in value
            ):
                raise ValueError(f"{key}: des indicatifs de pays, de 1 à 999 (225, 33…).")
            changes[key] = tuple(value)
            continue
        low, high = _BOUNDS.get(key, (0, MOST))
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise ValueError(f"{key}: un nombre entier de {low} à {french.number(high)}.")
        changes[key] = value
    return replace(defaults, **changes)


def as_json(config: Config) -> dict[str, Any]:
    out = {f.name: getattr(config, f.name) for f in fields(Config)}
    out["sms_country_codes"] = list(config.sms_country_codes)
    return out


async def load(conn: asyncpg.Connection, defaults: Config = DEFAULTS) -> Config:
    """The configuration: the table's rows over ``defaults`` (the process's settings)."""
    rows = await conn.fetch("SELECT key, value FROM config")
    values = {r["key"]: json.loads(r["value"]) for r in rows}
    known = {f.name for f in fields(Config)}
    try:
        return parse({k: v for k, v in values.items() if k in known}, defaults)
    except ValueError:
        return defaults  # a row written by hand wrongly: the defaults rather than no limits


async def store(
    conn: asyncpg.Connection, values: dict[str, Any], by: str, defaults: Config = DEFAULTS
) -> Config:
    """Change some settings (validated together with the others); the new configuration."""
    current = as_json(await load(conn, defaults))
    config = parse({**current, **values}, defaults)
    await conn.executemany(
        """INSERT INTO config (key, value, updated_at, updated_by) VALUES ($1, $2::jsonb, now(), $3)
           ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now(),
                                           updated_by = EXCLUDED.updated_by""",
        [(k, json.dumps(as_json(config)[k]), by) for k in values],
    )
    return config


class ConfigCache:
    """The configuration as this process last read it: read again after ``ttl`` seconds, so a
    change reaches every copy within that time without a query per submission."""

    def __init__(self, pool: asyncpg.Pool, defaults: Config = DEFAULTS, ttl: float = 5.0) -> None:
        self.pool = pool
        self.defaults = defaults
        self.ttl = ttl
        self._config: Config | None = None
        self._read_at = 0.0

    async def get(self, conn: asyncpg.Connection | None = None) -> Config:
        if self._config is None or time.monotonic() - self._read_at > self.ttl:
            if conn is None:
                async with self.pool.acquire() as own:
                    self._config = await load(own, self.defaults)
            else:
                self._config = await load(conn, self.defaults)
            self._read_at = time.monotonic()
        return self._config

    def forget(self) -> None:
        self._config = None


CONFIG_CACHE = web.AppKey("intake_config", ConfigCache)


# -- SMS countries -----------------------------------------------------------------------------

COUNTRY_NAMES = {225: "Côte d'Ivoire"}


def sms_country_error(phone: str | None, config: Config) -> dict[str, str] | None:
    """The field error of a mobile number SMS may not be sent to (None when it may)."""
    if not phone:
        return None
    try:
        code = phonenumbers.parse(phone).country_code
    except phonenumbers.NumberParseException:
        return None  # the number's own check says what is wrong with it
    if code in config.sms_country_codes:
        return None
    allowed = ", ".join(
        f"+{c} ({COUNTRY_NAMES[c]})" if c in COUNTRY_NAMES else f"+{c}"
        for c in config.sms_country_codes
    )
    text = (
        f"Les SMS du portail ne sont envoyés qu'aux numéros {allowed} : saisissez un numéro "
        "de mobile de ce pays."
        if allowed
        else "Le portail n'envoie pas de SMS pour l'instant : laissez ce champ vide."
    )
    return field_error("contact.phone", text, "sms_country_not_allowed")


# -- counting ----------------------------------------------------------------------------------


class Throttled(Exception):
    """Over a limit: ``retry_after`` seconds until the next submission is taken."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


def retry_text(seconds: int) -> str:
    minutes = max(1, -(-seconds // 60))
    return (
        "Trop de requêtes ont été envoyées depuis votre connexion, ou pour cette adresse "
        f"électronique ou ce numéro. Réessayez dans {minutes} minute{'s' if minutes > 1 else ''}."
    )


def throttled_response(exc: Throttled) -> web.Response:
    """The 429 every channel answers (the gateway words it for pages)."""
    response = web.json_response(
        {
            "error": "throttled",
            "message": retry_text(exc.retry_after),
            "retry_after": exc.retry_after,
        },
        status=429,
    )
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


@dataclass(frozen=True)
class Guard:
    """What a submission from an anonymous channel is counted by: the configuration, the
    client's key (``throttle.client_key``), and for the web form (``proof_key`` given) the proof
    of work sent with it (``services.intake.proof``)."""

    config: Config
    client: str
    proof_key: bytes | None = None
    challenge: str | None = None
    nonce: str | None = None

    @property
    def asks_proof(self) -> bool:
        return self.proof_key is not None


def submission_rules(config: Config) -> tuple[Rule, Rule, Rule]:
    window = config.submission_window_seconds
    return (
        Rule("submit:client", config.submissions_per_client, window),
        Rule("submit:email", config.submissions_per_email, window),
        Rule("submit:phone", config.submissions_per_phone, window),
    )


def suspicion_rule(config: Config) -> Rule:
    return Rule("suspect:client", config.suspicion_per_client, config.suspicion_window_seconds)


async def count(
    conn: asyncpg.Connection, guard: Guard, email: str | None, phone: str | None
) -> bool:
    """Count one submission against its address, email and mobile number; raises
    :class:`Throttled` past a limit. Whether the address is past the suspicion threshold (the
    caller then wants a proof of work). The counts are one atomic upsert (the suspicion
    threshold's in it too), so parallel submissions cannot all pass; in the submission's
    transaction (where it has one), a submission refused later or rolled back is not counted."""
    by_client, by_email, by_phone = submission_rules(guard.config)
    attempts = [(by_client, guard.client)]
    if email:
        attempts.append((by_email, email.strip().lower()))
    if phone:
        attempts.append((by_phone, phone))
    watched = [(suspicion_rule(guard.config), guard.client)] if guard.asks_proof else []
    wait, suspect = await throttle.hit_watching(conn, attempts, watched)
    if wait is not None:
        raise Throttled(wait)
    return suspect


async def guard_of(
    request: web.Request,
    conn: asyncpg.Connection | None = None,
    *,
    proof_key: bytes | None = None,
    challenge: str | None = None,
    nonce: str | None = None,
) -> Guard:
    """The guard of a submission made through ``request`` (its client address as signed)."""
    config = await request.app[CONFIG_CACHE].get(conn)
    client = throttle.client_key(call_of(request).client_address)
    return Guard(config, client, proof_key, challenge, nonce)
