from typing import Self

from aiohttp import web
from pydantic import Field, SecretStr, model_validator

from shared.messages import Nature
from shared.settings import ServiceSettings, secret_problem


class NotifySettings(ServiceSettings):
    http_port: int = 8084
    # Each sender worker holds a connection; keep room beside them for the consumer, the outbox
    # relay, the listeners and the HTTP API.
    db_pool_max: int = 16
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout: float = 10.0
    mail_from: str = "Miliê <no-reply@milie.ci>"
    # The gateway's public address, for the links in the emails.
    public_url: str = "http://127.0.0.1:8080"
    sender_concurrency: int = 10
    # Deliveries a worker claims at once (sent one after the other on its SMTP connection).
    sender_batch: int = 50
    sender_poll_seconds: float = 1.0
    # A woken worker waits this long before claiming, so that rows committed together are sent
    # together (fewer claims and transactions per email under load).
    sender_linger_seconds: float = 0.005
    # Attempts of a delivery the server answers « try later » (4xx) before it is given up. A
    # server that cannot be reached does not use them up: that mail waits for it.
    max_attempts: int = 30
    # Longest wait between two attempts of one delivery.
    retry_cap_seconds: float = 60.0
    # SMS through Orange's SMS API (Côte d'Ivoire), see sms.py: sent once MILIE_SMS_ENABLED is
    # true (shared.settings), which needs the base URL; off, no SMS (said in the log at start).
    # The sender is the number registered with Orange, with its country code and without "+"
    # (2250700000000).
    sms_base_url: str = ""
    sms_client_id: str = ""
    sms_client_secret: SecretStr = SecretStr("")
    sms_sender: str = ""
    sms_sender_name: str = "Milie"
    # Country calling codes an SMS may go to (MILIE_SMS_COUNTRY_CODES='[225]'): the second
    # guard behind intake's, which refuses other numbers at submission (its configuration
    # table's sms_country_codes, which an administrator sets within these). Any other number's
    # SMS fails for good, unsent: the form cannot be used to send paid SMS abroad.
    sms_country_codes: list[int] = Field(default_factory=lambda: [225])
    sms_timeout: float = 10.0
    # SMS claimed at once by the SMS worker (sent one after the other).
    sms_batch: int = 10
    # The analysts' admissibility deadline, which the acknowledgement email announces: the same
    # variables as triage's (MILIE_ADMISSIBILITY_DAYS, MILIE_ADMISSIBILITY_DAYS_BY_NATURE), so
    # that one setting gives both the deadline and the date the citizen is told.
    admissibility_days: int = Field(15, ge=1, le=365)
    # The staff's daily mails (staff_digests.py): sent once a day from this hour (UTC, Abidjan's
    # time); the clock looks every so many seconds (0: never, a test sweeps itself).
    staff_digest_hour: int = Field(7, ge=0, le=23)
    staff_clock_interval_seconds: float = Field(300, ge=0)
    admissibility_days_by_nature: dict[Nature, int] = Field(default_factory=dict)
    # What the staff's mails keep (retention.py): the requests of the digests, the mails sent,
    # the late requests once answered and the answers. A month: past the inbox's keeping time
    # (MILIE_INBOX_KEPT_DAYS, refused shorter), so that a deadline missed that comes again or
    # late still finds its answer; the digest itself reads the day before only.
    staff_mail_kept_days: int = Field(30, ge=2)
    # Emails and SMS tied to no request (codes reminders, the staff's daily mails and sign-in
    # links), once sent or given up: a quarter, to answer « je n'ai pas reçu le message »; they
    # hold an address and codes or a link that no request's purge reaches.
    unattached_deliveries_kept_days: int = Field(90, ge=1)

    def decision_days(self) -> dict[str, int]:
        """Days to the analysts' decision, for each nature."""
        return {
            nature.value: self.admissibility_days_by_nature.get(nature, self.admissibility_days)
            for nature in Nature
        }

    def sms_switch_problem(self) -> str | None:
        """Why MILIE_SMS_ENABLED and the provider disagree, or None. The pages promise SMS by
        the switch alone: a provider without it, or it without a provider, would have them lie."""
        if self.sms_enabled and not self.sms_base_url.strip():
            return "MILIE_SMS_ENABLED is true: set MILIE_SMS_BASE_URL (the provider)"
        if self.sms_base_url.strip() and not self.sms_enabled:
            return (
                "MILIE_SMS_BASE_URL is set: set MILIE_SMS_ENABLED=true too (the pages then "
                "promise the SMS), or empty MILIE_SMS_BASE_URL"
            )
        return None

    @model_validator(mode="after")
    def _sms_switch_agrees_with_the_provider(self) -> Self:
        # In every environment, not only in production (where production_problems says it too).
        if problem := self.sms_switch_problem():
            raise ValueError(problem)
        return self

    @model_validator(mode="after")
    def _answers_outlive_the_inbox(self) -> Self:
        if self.staff_mail_kept_days < self.inbox_kept_days:
            raise ValueError(
                f"staff_mail_kept_days ({self.staff_mail_kept_days}) must be at least "
                f"inbox_kept_days ({self.inbox_kept_days}): a deadline missed that comes again "
                "must still find the answer that followed it"
            )
        return self

    @model_validator(mode="after")
    def _room_in_the_pool(self) -> Self:
        if self.sender_concurrency < 1:
            raise ValueError("sender_concurrency must be at least 1")
        # The SMS worker holds one connection too.
        workers = self.sender_concurrency + (1 if self.sms_enabled else 0)
        if self.db_pool_max < workers + 4:
            raise ValueError(
                f"db_pool_max ({self.db_pool_max}) must exceed the sender workers ({workers}: "
                f"sender_concurrency, plus one for SMS) by at least 4: each holds a connection"
            )
        if self.sms_enabled:
            missing = [
                name
                for name, value in (
                    ("MILIE_SMS_CLIENT_ID", self.sms_client_id),
                    ("MILIE_SMS_CLIENT_SECRET", self.sms_client_secret.get_secret_value()),
                    ("MILIE_SMS_SENDER", self.sms_sender),
                )
                if not value.strip()
            ]
            if missing:
                raise ValueError(f"MILIE_SMS_BASE_URL is set: set {', '.join(missing)} too")
            if not self.sms_sender.isdigit():
                raise ValueError("MILIE_SMS_SENDER: digits only, country code first (225…)")
        return self

    def production_problems(self) -> list[str]:
        # The provider's credentials are taken as issued (no length rule), but never a
        # placeholder; each is needed only where it is used (a relay without login, no SMS).
        problems = super().production_problems()
        if problem := self.sms_switch_problem():
            problems.append(problem)
        credentials = [
            ("MILIE_SMTP_USERNAME", self.smtp_username, self.smtp_username is not None),
            ("MILIE_SMTP_PASSWORD", self.smtp_password, self.smtp_username is not None),
            ("MILIE_SMS_CLIENT_ID", self.sms_client_id, self.sms_enabled),
            ("MILIE_SMS_CLIENT_SECRET", self.sms_client_secret, self.sms_enabled),
        ]
        for name, value, needed in credentials:
            given = value.get_secret_value() if isinstance(value, SecretStr) else value
            if needed or given:
                if problem := secret_problem(name, value, generated=False):
                    problems.append(problem)
        return problems


# The app's settings as this service's class: its handlers read its own fields through this key
# (shared.service.SETTINGS, typed with the base class, serves the shared code).
SETTINGS = web.AppKey("notify_settings", NotifySettings)
