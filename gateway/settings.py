from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from shared.settings import (
    DEVELOPMENT_IDENTITY_SECRET,
    PLACEHOLDER,
    ServiceSettings,
    secret_problem,
)

DEVELOPMENT_FORM_SECRET = "development-only-form-secret"  # noqa: S105 - refused in production


class GatewaySettings(ServiceSettings):
    http_port: int = 8080
    # Where the services answer; several copies of one sit behind one address (a balancer).
    intake_url: str = "http://127.0.0.1:8081"
    triage_url: str = "http://127.0.0.1:8082"
    treatment_url: str = "http://127.0.0.1:8083"
    notify_url: str = "http://127.0.0.1:8084"
    stats_url: str = "http://127.0.0.1:8085"
    # The address citizens use, for links in pages.
    public_url: str = "http://127.0.0.1:8080"
    # The call centre's number, shown in every citizen page's footer (« Besoin d'aide ? »); empty:
    # not shown. The source documents name none: the deployment gives it
    # (MILIE_CALL_CENTRE_PHONE).
    call_centre_phone: str = ""
    # Prometheus scrapes the gateway here, never on its public address (where /metrics is 404).
    # Port 0: any free port (tests).
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 9080
    # Signs the CSRF tokens of the forms.
    form_secret: SecretStr = SecretStr(DEVELOPMENT_FORM_SECRET)
    # Where the development mail server keeps what it receives (listed on /dev/mail).
    dev_mail_dir: str = ".run/mail"
    service_timeout: float = 10.0
    # A file on mobile data takes minutes to come up (5 Mo at 84 Ko/s: a minute): an upload is
    # given up only when the citizen sends nothing for this long, never for its total time.
    upload_idle_timeout: float = 30.0
    # A body read whole (a form without files, an API's JSON: 2 Mo at most) must have come in
    # this time; a client that announces more than it sends is answered 408 (gateway.web.reading).
    body_timeout: float = 30.0
    service_connections: int = 200
    # Proxies (CIDRs) whose X-Forwarded-For is believed; empty: the peer address is the client.
    # MILIE_TRUSTED_PROXIES="10.0.0.0/8,192.168.1.10/32".
    trusted_proxies: Annotated[list[str], NoDecode] = []  # noqa: RUF012 - pydantic copies it
    # Staff sessions: ended after this long without a request, and this long after sign-in.
    staff_idle_timeout_seconds: float = 30 * 60
    staff_absolute_timeout_seconds: float = 12 * 3600
    # Every staff account gives a TOTP code (or a recovery code) after its password. Off only
    # for tests of other things; production refuses to start without it.
    second_factor_required: bool = True
    # Failed sign-ins: free tries per (login, address) before a growing wait, the longest wait;
    # the same per address over every login; failures on one login (from anywhere) after which
    # each try on it is answered more slowly (never refused: real staff are not locked out).
    sign_in_free_failures: int = 5
    sign_in_max_wait_seconds: float = 15 * 60
    sign_in_address_free_failures: int = 30
    sign_in_account_slow_after: int = 10
    sign_in_account_max_delay_seconds: float = 3.0
    # Open311 GeoReport v2 (/open311/v2/): the API key of each channel allowed to submit and
    # follow its requests. MILIE_OPEN311_KEYS="key1=channel-one,key2=channel-two" (or a JSON
    # object); keys of 24 characters at least, channel names of letters, digits, . _ -.
    open311_keys: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict, repr=False)
    # The ministry API (/api/ministeres/v1/): calls a minute a new key is given unless the
    # administrator says otherwise (each key keeps its own, « Clés d'API »).
    ministry_api_calls_per_minute: int = Field(600, ge=1, le=1_000_000)
    # The ministry API's call log (who called what, from which address) is kept this many days,
    # then removed by the gateway's clock every ``api_calls_sweep_seconds`` (0: never).
    api_calls_kept_days: int = Field(365, ge=1)
    api_calls_sweep_seconds: float = Field(3600, ge=0)

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_networks(cls, value: list[str]) -> list[str]:
        import ipaddress

        for cidr in value:
            ipaddress.ip_network(cidr, strict=False)  # ValueError names the bad one
        return value

    @field_validator("open311_keys", mode="before")
    @classmethod
    def _parse_open311_keys(cls, value: object) -> object:
        if isinstance(value, str):
            import json

            if value.strip().startswith("{"):
                return json.loads(value)
            pairs = [part.strip() for part in value.split(",") if part.strip()]
            if any("=" not in pair for pair in pairs):
                raise ValueError("MILIE_OPEN311_KEYS: key=channel pairs separated by commas")
            return dict(pair.split("=", 1) for pair in pairs)
        return value

    @field_validator("open311_keys")
    @classmethod
    def _strong_open311_keys(cls, value: dict[str, str]) -> dict[str, str]:
        import re

        for key, channel in value.items():
            if len(key.strip()) < 24:
                raise ValueError(f"the Open311 key of {channel!r} is too short (24 characters)")
            if not re.fullmatch(r"[A-Za-z0-9._-]{1,100}", channel):
                raise ValueError(f"bad Open311 channel name {channel!r}")
        return {key.strip(): channel for key, channel in value.items()}

    def uses_broker(self) -> bool:
        return False

    def production_problems(self) -> list[str]:
        problems = super().production_problems()
        development = [DEVELOPMENT_FORM_SECRET, DEVELOPMENT_IDENTITY_SECRET]
        form = secret_problem("MILIE_FORM_SECRET", self.form_secret, development)
        if form:
            problems.append(form)
        elif self.form_secret == self.identity_secret:
            # One key for one use: what is signed for one must never pass for the other.
            problems.append("MILIE_FORM_SECRET: the same as MILIE_IDENTITY_SECRET; use two keys")
        if not self.second_factor_required:
            problems.append("MILIE_SECOND_FACTOR_REQUIRED: staff must give a second factor")
        # The keys' length is the Open311 rule above (24): channels already hold theirs.
        if any(PLACEHOLDER.lower() in key.lower() for key in self.open311_keys):
            problems.append(f"MILIE_OPEN311_KEYS: a key still holds the {PLACEHOLDER} placeholder")
        return problems
