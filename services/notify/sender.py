"""The delivery loop: claim due deliveries, send them over SMTP, record the outcome.

- ``sender_concurrency`` workers each claim a batch with ``FOR UPDATE SKIP LOCKED`` (so several
  copies of notify share the work), send it over one SMTP connection kept warm across batches,
  then mark the rows and write ``notification.sent``/``notification.failed`` to the outbox in
  the same transaction. The row lock is held while sending: a crash before the commit leaves the
  rows pending and they are sent again, with the same ``Message-ID`` (at least once).
- A 5xx answer about the recipient or the message is permanent: the row fails at once. A 4xx
  answer is retried with a growing delay (1 s, 2 s, 4 s… up to ``retry_cap_seconds``) and fails
  after ``max_attempts``. A server that cannot be reached (refused, dropped, timed out) or that
  refuses our TLS, login or sender delays mail and never loses it: the attempt is counted and
  retried, but never turns the row into a failure (see :func:`classify`).
- A trigger's ``pg_notify`` wakes the workers when a delivery is committed; they also poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
import socket
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import aiosmtplib
import asyncpg
from aiosmtplib.typing import SMTPStatus

from services.notify import emails, metrics, repository
from services.notify.settings import NotifySettings
from shared import outbox
from shared.db import TRANSIENT_ERRORS
from shared.messages import NotificationFailedV1, NotificationSentV1

log = logging.getLogger(__name__)

EMAIL = "email"
# An SMTP connection idle longer than this is closed rather than trusted again.
IDLE_CLOSE_SECONDS = 10.0

TEMPORARY, PERMANENT, SERVER = "temporary", "permanent", "server"


class SmtpUnavailable(Exception):
    """No session with the SMTP server: it cannot be reached, or refuses our TLS or login."""


def classify(exc: BaseException) -> str:
    """How a failed send is retried.

    - ``permanent``: a 5xx about the recipient or the message, or an address the server cannot
      take — the delivery fails now;
    - ``temporary``: a 4xx about the recipient or the message — retried, up to max_attempts;
    - ``server``: the server or our configuration, not this message (unreachable, dropped,
      timed out, 421, sender/HELO/login refused) — retried without limit: mail is delayed,
      never lost.
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
        return SERVER
    if isinstance(exc, aiosmtplib.SMTPNotSupported | ValueError):
        # An address this server cannot take (non-ASCII without SMTPUTF8, or malformed).
        return PERMANENT
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return SERVER if exc.code == 421 else TEMPORARY  # 421: « closing channel »
    return TEMPORARY


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


class SmtpSession:
    """One worker's SMTP connection: opened on demand, reused while warm."""

    def __init__(self, settings: NotifySettings, local_hostname: str) -> None:
        self.settings = settings
        self.local_hostname = local_hostname
        self.client: aiosmtplib.SMTP | None = None
        self.last_used = 0.0

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

    async def send(self, build: Callable[[bool], bytes], sender: str, recipient: str) -> None:
        """Send ``build(eight_bit)`` (the server offers 8BITMIME or not) to ``recipient``."""
        client = self.client
        reused = client is not None and client.is_connected
        if client is None or not reused:
            self.close()
            client = await self._connect()
        try:
            await self._transaction(client, build, sender, recipient)
        except aiosmtplib.SMTPServerDisconnected:
            self.close()
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

    def close_if_idle(self) -> None:
        if self.client is not None and time.monotonic() - self.last_used > IDLE_CLOSE_SECONDS:
            self.close()

    async def quit(self) -> None:
        if self.client is not None and self.client.is_connected:
            with contextlib.suppress(Exception):
                await self.client.quit(timeout=2)
        self.close()

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None


class Doorbell:
    """Wakes one idle worker per ring, so a burst of inserts does not send every worker to
    claim the same row; a ring while every worker is busy is kept for the next one to wait."""

    def __init__(self) -> None:
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._rung = False

    def ring(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._rung = True

    def ring_all(self) -> None:
        self._rung = True
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)

    async def wait(self, timeout: float) -> bool:
        """True when rung, False after ``timeout``."""
        if self._rung:
            self._rung = False
            return True
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await asyncio.wait_for(waiter, timeout)
            return True
        except TimeoutError:
            return False
        finally:
            with contextlib.suppress(ValueError):
                self._waiters.remove(waiter)


@dataclass
class Outcome:
    row: asyncpg.Record
    error: BaseException | None = None
    kind: str = ""
    gave_up: bool = False


class Sender:
    """Runs the workers for the process's life; :meth:`stop` lets them finish their batch."""

    def __init__(self, pool: asyncpg.Pool, settings: NotifySettings) -> None:
        self.pool = pool
        self.settings = settings
        self.batch = max(1, settings.sender_batch)
        self.sender_address = emails.envelope_sender(settings.mail_from)
        self._local_hostname = _local_hostname()
        self.concurrency = max(1, settings.sender_concurrency)
        self._bell = Doorbell()
        self._stopping = False
        self._tasks: list[asyncio.Task] = []

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, schema: str = "notify") -> None:
        self._tasks = [
            asyncio.create_task(self._worker(), name=f"notify-sender-{i}")
            for i in range(self.concurrency)
        ]
        self._tasks.append(asyncio.create_task(self._listen(schema), name="notify-listener"))
        self._tasks.append(asyncio.create_task(self._gauges(), name="notify-gauges"))

    @property
    def is_running(self) -> bool:
        return bool(self._tasks) and not any(t.done() for t in self._tasks)

    async def stop(self, grace: float = 5.0) -> None:
        self._stopping = True
        self._bell.ring_all()
        workers = self._tasks[: self.concurrency]
        if workers:
            await asyncio.wait(workers, timeout=grace)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def wake(self, *_: object) -> None:
        self._bell.ring()

    # -- loops -------------------------------------------------------------------------------

    async def _worker(self) -> None:
        smtp = SmtpSession(self.settings, self._local_hostname)
        try:
            while not self._stopping:
                try:
                    # One connection for the worker's life: acquiring one per batch would cost
                    # the pool's reset query each time.
                    async with self.pool.acquire(timeout=self.settings.db_acquire_timeout) as conn:
                        await self._serve(conn, smtp)
                except TRANSIENT_ERRORS as exc:
                    log.warning("sender: database unavailable (%r)", exc)
                    await asyncio.sleep(1.0)
                except Exception:
                    log.exception("sender: unexpected error")
                    await asyncio.sleep(1.0)
        finally:
            await smtp.quit()

    async def _serve(self, conn: asyncpg.Connection, smtp: SmtpSession) -> None:
        linger = self.settings.sender_linger_seconds
        while not self._stopping:
            claimed = await self.send_batch(conn, smtp)
            if self._stopping:
                return
            if claimed >= self.batch:
                # More may be waiting: bring an idle worker in and go on.
                self._bell.ring()
                continue
            if await self._bell.wait(self.settings.sender_poll_seconds):
                # Let the rows committed in the same instant join this batch.
                if linger > 0:
                    await asyncio.sleep(linger)
            else:
                smtp.close_if_idle()

    async def _listen(self, schema: str) -> None:
        """Hold a connection that LISTENs for new deliveries; reconnect when it drops."""
        channel = f"milie_deliveries_{schema}"
        while True:
            try:
                async with self.pool.acquire(timeout=10) as conn:
                    await conn.add_listener(channel, self.wake)
                    try:
                        while not conn.is_closed():
                            await asyncio.sleep(5)
                    finally:
                        if not conn.is_closed():
                            await conn.remove_listener(channel, self.wake)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.debug("sender listener lost (%s)", exc)
                await asyncio.sleep(1.0)

    async def _gauges(self) -> None:
        while True:
            try:
                async with self.pool.acquire(timeout=10) as conn:
                    row = await repository.waiting(conn)
                metrics.PENDING.set(row["pending"])
                metrics.OLDEST_PENDING_AGE.set(row["oldest"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.debug("sender gauges: %s", exc)
            await asyncio.sleep(2.0)

    # -- one batch ---------------------------------------------------------------------------

    async def send_batch(self, conn: asyncpg.Connection, smtp: SmtpSession) -> int:
        """Claim, send and record up to ``batch`` due emails; returns how many were claimed."""
        async with conn.transaction():
            rows = await repository.claim_due(conn, EMAIL, self.batch)
            metrics.BATCH_SIZE.observe(len(rows))
            if not rows:
                return 0
            outcomes = await self._send_all(smtp, rows)
            sent_rows = await self._record(conn, outcomes)
        self._count(outcomes, sent_rows)
        return len(rows)

    async def _send_all(self, smtp: SmtpSession, rows: Iterable[asyncpg.Record]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        down: BaseException | None = None
        for row in rows:
            if down is not None:
                # The server is unreachable: the rest of the batch waits for the next attempt.
                outcomes.append(Outcome(row, down, SERVER))
                continue
            try:
                await smtp.send(
                    functools.partial(self._mime, row), self.sender_address, row["recipient"]
                )
            except Exception as exc:
                kind = classify(exc)
                if kind == SERVER:
                    smtp.close()
                    down = exc
                elif not isinstance(exc, aiosmtplib.SMTPResponseException | ValueError):
                    smtp.close()  # the session's state is unknown: start the next one afresh
                outcomes.append(Outcome(row, exc, kind))
            else:
                outcomes.append(Outcome(row))
        return outcomes

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

    async def _record(
        self, conn: asyncpg.Connection, outcomes: list[Outcome]
    ) -> list[asyncpg.Record]:
        sent = [o.row for o in outcomes if o.error is None]
        marked = await repository.mark_sent(conn, [r["id"] for r in sent]) if sent else []
        sent_at = {m["id"]: m["sent_at"] for m in marked}
        await outbox.add_many(
            conn,
            (
                (
                    NotificationSentV1(
                        delivery_id=row["id"],
                        request_id=row["request_id"],
                        medium=row["medium"],
                        about_message_type=row["about_message_type"],
                        sent_at=sent_at[row["id"]],
                    ),
                    row["correlation_id"],
                )
                for row in sent
            ),
        )
        for o in outcomes:
            if o.error is None:
                continue
            reason = _describe(o.error)
            gives_up = o.kind == PERMANENT or (
                o.kind == TEMPORARY and o.row["attempts"] + 1 >= self.settings.max_attempts
            )
            if gives_up:
                failed = await repository.mark_failed(conn, o.row["id"], reason)
                await outbox.add(
                    conn,
                    NotificationFailedV1(
                        delivery_id=o.row["id"],
                        request_id=o.row["request_id"],
                        medium=o.row["medium"],
                        about_message_type=o.row["about_message_type"],
                        reason=reason,
                        failed_at=failed["failed_at"] or datetime.now(UTC),
                    ),
                    correlation_id=o.row["correlation_id"],
                )
                o.gave_up = True
            else:
                await repository.postpone(
                    conn, o.row["id"], reason, self.settings.retry_cap_seconds
                )
        return marked

    def _count(self, outcomes: list[Outcome], marked: list[asyncpg.Record]) -> None:
        """Metrics and logs once the transaction is committed: they tell what really happened."""
        now = datetime.now(UTC)
        for m in marked:
            metrics.SENT.labels(EMAIL).inc()
            metrics.DELIVERY_LATENCY.labels(EMAIL).observe(
                max(0.0, (now - m["created_at"]).total_seconds())
            )
        unreachable = 0
        for o in outcomes:
            if o.error is None:
                continue
            kind = "permanent" if o.kind == PERMANENT else "temporary"
            metrics.ATTEMPT_ERRORS.labels(EMAIL, kind).inc()
            extra = {"delivery_id": str(o.row["id"]), "error": _describe(o.error)}
            if o.gave_up:
                metrics.FAILED.labels(EMAIL).inc()
                log.warning("notification failed", extra=extra)
            elif o.kind == SERVER:
                unreachable += 1
            else:
                log.info("notification postponed", extra=extra)
        if unreachable:
            error = next(o.error for o in outcomes if o.kind == SERVER)
            log.warning(
                "SMTP server unreachable, %d email(s) postponed",
                unreachable,
                extra={"error": _describe(error)},
            )


def _describe(exc: BaseException) -> str:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        text = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
    elif isinstance(exc, aiosmtplib.SMTPResponseException):
        text = f"{exc.code} {exc.message}"
    else:
        text = str(exc) or ""
    return f"{type(exc).__name__}: {text}"[:1000]
