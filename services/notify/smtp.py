"""Email over SMTP, one medium of the delivery loop (delivery.py).

Each worker keeps one SMTP connection warm across its batches (:class:`SmtpSession`). What a
failed send means (:func:`classify`): a 5xx about the recipient or the message is permanent; a 4xx
is retried; a server that cannot be reached (refused, dropped, timed out) or that refuses our
TLS, login or sender is unavailable — mail is delayed, never lost.
"""

from __future__ import annotations

import contextlib
import functools
import re
import socket
import time
from collections.abc import Callable

import aiosmtplib
import asyncpg
from aiosmtplib.typing import SMTPStatus

from services.notify import emails
from services.notify.delivery import PERMANENT, TEMPORARY, UNAVAILABLE
from services.notify.settings import NotifySettings

EMAIL = "email"
# An SMTP connection idle longer than this is closed rather than trusted again.
IDLE_CLOSE_SECONDS = 10.0


class SmtpUnavailable(Exception):
    """No session with the SMTP server: it cannot be reached, or refuses our TLS or login."""


def classify(exc: BaseException) -> str:
    """How a failed send is retried.

    - ``permanent``: a 5xx about the recipient or the message, or an address the server cannot
      take — the delivery fails now;
    - ``temporary``: a 4xx about the recipient or the message — retried, up to max_attempts;
    - ``unavailable``: the server or our configuration, not this message (unreachable,
      dropped, timed out, 421, sender/HELO/login refused) — retried without limit: mail is
      delayed, never lost.
    """
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        return PERMANENT if codes and all(500 <= c < 600 for c in codes) else TEMPORARY
    if isinstance(exc, aiosmtplib.SMTPRecipientRefused | aiosmtplib.SMTPDataError):
        return PERMANENT if 500 <= exc.code < 600 else TEMPORARY
    if isinstance(
        exc,
        SmtpUnavailable
        | aiosmtplib.SMTPServerDisconnected
        | aiosmtplib.SMTPConnectError
        | aiosmtplib.SMTPTimeoutError
        | aiosmtplib.SMTPSenderRefused
        | aiosmtplib.SMTPHeloError
        | aiosmtplib.SMTPAuthenticationError
        | OSError
        | TimeoutError,
    ):
        return UNAVAILABLE
    if isinstance(exc, aiosmtplib.SMTPNotSupported | ValueError):
        # An address this server cannot take (non-ASCII without SMTPUTF8, or malformed).
        return PERMANENT
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return UNAVAILABLE if exc.code == 421 else TEMPORARY  # 421: « closing channel »
    return TEMPORARY


def describe(exc: BaseException) -> str:
    """The error as the delivery log keeps it."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        text = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
    elif isinstance(exc, aiosmtplib.SMTPResponseException):
        text = f"{exc.code} {exc.message}"
    else:
        text = str(exc) or ""
    return f"{type(exc).__name__}: {text}"[:1000]


def _mailbox(address: str, encoding: str) -> bytes:
    """``<address>`` for MAIL FROM / RCPT TO; ValueError (permanent) for what could break the
    command line."""
    if not address or any(ch in address for ch in '\r\n<> "') or "@" not in address:
        raise ValueError(f"not an address one can send to: {address!r}")
    return b"<" + address.encode(encoding) + b">"


def _local_hostname() -> str:
    # aiosmtplib would call socket.getfqdn() on every connection, which can wait on DNS.
    name = socket.gethostname()
    return name if re.fullmatch(r"[A-Za-z0-9.-]{1,253}", name or "") else "localhost"


class EmailMedium:
    """Email for the delivery loop: ``sender_concurrency`` workers, each with its
    :class:`SmtpSession`."""

    name = EMAIL
    provider = "SMTP server"

    def __init__(self, settings: NotifySettings) -> None:
        self.settings = settings
        self.workers = max(1, settings.sender_concurrency)
        self.batch = max(1, settings.sender_batch)
        self.linger = settings.sender_linger_seconds
        self.envelope_sender = emails.envelope_sender(settings.mail_from)
        self.local_hostname = _local_hostname()

    def open(self) -> SmtpSession:
        return SmtpSession(self.settings, self.local_hostname, self.envelope_sender)

    classify = staticmethod(classify)
    describe = staticmethod(describe)


class SmtpSession:
    """One worker's SMTP connection: opened on demand, reused while warm."""

    def __init__(self, settings: NotifySettings, local_hostname: str, envelope_sender: str) -> None:
        self.settings = settings
        self.local_hostname = local_hostname
        self.envelope_sender = envelope_sender
        self.client: aiosmtplib.SMTP | None = None
        self.last_used = 0.0

    # -- the delivery loop's Way -------------------------------------------------------------

    async def send(self, row: asyncpg.Record) -> None:
        """Send the email of the delivery ``row`` (SMTP gives no reference to keep)."""
        await self.send_message(functools.partial(self._mime, row), row["recipient"])

    def failed(self, kind: str, exc: BaseException) -> None:
        if kind == UNAVAILABLE or not isinstance(
            exc, aiosmtplib.SMTPResponseException | ValueError
        ):
            self.drop()  # the session's state is unknown: start the next one afresh

    def idle(self) -> None:
        if self.client is not None and time.monotonic() - self.last_used > IDLE_CLOSE_SECONDS:
            self.drop()

    async def close(self) -> None:
        if self.client is not None and self.client.is_connected:
            with contextlib.suppress(Exception):
                await self.client.quit(timeout=2)
        self.drop()

    def drop(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

    # -- SMTP --------------------------------------------------------------------------------

    def _mime(self, row: asyncpg.Record, eight_bit: bool) -> bytes:
        return emails.render(
            eight_bit=eight_bit,
            delivery_id=row["id"],
            mail_from=self.settings.mail_from,
            recipient=row["recipient"],
            recipient_name=row["recipient_name"],
            subject=row["subject"],
            text=row["body_text"],
            html=row["body_html"],
            created_at=row["created_at"],
        )

    async def _connect(self) -> aiosmtplib.SMTP:
        s = self.settings
        client = aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            timeout=s.smtp_timeout,
            local_hostname=self.local_hostname,
            # Explicit: aiosmtplib's default (None) upgrades whenever the server offers it.
            start_tls=s.smtp_starttls,
            use_tls=False,
            username=s.smtp_username,
            password=s.smtp_password.get_secret_value() if s.smtp_password else None,
        )
        try:
            await client.connect()
        except Exception as exc:
            client.close()
            raise SmtpUnavailable(f"{type(exc).__name__}: {exc}") from exc
        self.client = client
        return client

    async def send_message(self, build: Callable[[bool], bytes], recipient: str) -> None:
        """Send ``build(eight_bit)`` (the server offers 8BITMIME or not) to ``recipient``."""
        sender = self.envelope_sender
        client = self.client
        reused = client is not None and client.is_connected
        if client is None or not reused:
            self.drop()
            client = await self._connect()
        try:
            await self._transaction(client, build, sender, recipient)
        except aiosmtplib.SMTPServerDisconnected:
            self.drop()
            if not reused:
                raise
            # The server dropped a connection we kept: one fresh try before calling it down.
            client = await self._connect()
            await self._transaction(client, build, sender, recipient)
        self.last_used = time.monotonic()

    @staticmethod
    async def _transaction(
        client: aiosmtplib.SMTP, build: Callable[[bool], bytes], sender: str, recipient: str
    ) -> None:
        if client.is_ehlo_or_helo_needed:
            try:
                await client.ehlo()
            except aiosmtplib.SMTPHeloError:
                await client.helo()
        eight_bit = client.supports_extension("8bitmime")
        utf8 = not recipient.isascii()
        if utf8 and not client.supports_extension("smtputf8"):
            raise aiosmtplib.SMTPNotSupported("SMTPUTF8 is not supported by this server")
        message = build(eight_bit)
        options = [f"SIZE={len(message)}"] if client.supports_extension("size") else []
        if eight_bit:
            options.append("BODY=8BITMIME")
        if utf8:
            options.append("SMTPUTF8")
        # MAIL, RCPT and DATA as aiosmtplib's sendmail() sends them, without its address
        # parsing (email.utils.parseaddr four times an email: a sixth of notify's CPU under
        # load). The addresses were validated when the request was taken in; render() and
        # _mailbox() refuse anything that could break the command line.
        encoding = "utf-8" if utf8 else "ascii"
        try:
            response = await client.execute_command(
                b"MAIL",
                b"FROM:" + _mailbox(sender, encoding),
                *(o.encode("ascii") for o in options),
            )
            if response.code != SMTPStatus.completed:
                raise aiosmtplib.SMTPSenderRefused(response.code, response.message, sender)
            response = await client.execute_command(b"RCPT", b"TO:" + _mailbox(recipient, encoding))
            if response.code not in (SMTPStatus.completed, SMTPStatus.will_forward):
                refused = aiosmtplib.SMTPRecipientRefused(
                    response.code, response.message, recipient
                )
                raise aiosmtplib.SMTPRecipientsRefused([refused])
            await client.data(message)
        except (aiosmtplib.SMTPResponseException, aiosmtplib.SMTPRecipientsRefused):
            # As sendmail() does: reset the envelope so the kept connection starts clean.
            with contextlib.suppress(ConnectionError, aiosmtplib.SMTPResponseException):
                await client.rset()
            raise
