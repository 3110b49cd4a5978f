"""The staff's daily mails, driven by a clock the tests control (as treatment's).

- To each active focal point who chose one digest a day (``alerts = 'digest'``): the requests
  that reached their body the day before (``staff_new_requests``), when there were some.
- To each active analyst: the requests still late (``staff_late_requests`` not answered), body by
  body, when there are some.

:func:`sweep` sends the day's mails once ``now`` is past ``digest_hour`` (UTC, Abidjan's time):
one per recipient, kind and day (``staff_daily_mails``, ``INSERT … ON CONFLICT DO NOTHING`` in
the transaction of the delivery), so several copies of notify, or a sweep every few minutes, or a
restart, send each once. :func:`ticking` runs it every ``staff_clock_interval_seconds`` in the
app. A day the service does not run at all is not caught up.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import groupby

import asyncpg

from services.notify import emails, repository, staff_mail
from services.notify.settings import SETTINGS
from shared import french, periodic
from shared.consumer import Delivery
from shared.db import run_in_transaction
from shared.messages import Nature
from shared.service import POOL

log = logging.getLogger(__name__)

NEW_REQUESTS = "new_requests"
LATE_REQUESTS = "late_requests"
_DAILY = uuid.UUID("7d0b3c52-3f7a-4b0e-9f51-6f1d2c9a8e11")  # namespace of the daily mails' ids


@dataclass
class Sent:
    digests: list[str] = field(default_factory=list)  # account ids
    late: list[str] = field(default_factory=list)


def _daily(kind: str, day: date) -> Delivery:
    """What a daily mail is « about »: the day's kind, as a delivery's message."""
    return Delivery(
        message_id=uuid.uuid5(_DAILY, f"{kind}:{day.isoformat()}"),
        message_type=f"staff.{kind}",
        routing_key=f"staff.{kind}",
        correlation_id=None,
        reply_to=None,
    )


def _start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def digest(
    body_name: str, day: date, rows: list[asyncpg.Record], name: str, public_url: str
) -> emails.Email:
    count = len(rows)
    said = "1 nouvelle requête" if count == 1 else f"{count} nouvelles requêtes"
    lines: list[emails.Paragraph] = [
        f"{said} pour {body_name} le {french.day(day)} :",
        *[f"n° {r['code']} — {Nature(r['nature']).label}" for r in rows],
        (
            "link",
            "Traitez-les dans l'espace de traitement :",
            staff_mail.back_office(public_url, staff_mail.WAITING_PAGE),
        ),
    ]
    return emails.letter(f"Miliê — {said} pour {body_name}", name, lines)


def late_summary(rows: list[asyncpg.Record], name: str, public_url: str) -> emails.Email:
    count = len(rows)
    said = "1 requête en retard" if count == 1 else f"{count} requêtes en retard"
    lines: list[emails.Paragraph] = [
        f"{said} : la réponse de l'organisme n'est pas venue dans le délai."
    ]
    for body_name, group in groupby(rows, key=lambda r: r["body_name"]):
        items = list(group)
        lines.append(f"{body_name} ({len(items)}) :")
        lines += [
            f"n° {r['code']} — {Nature(r['nature']).label}, réponse attendue au plus tard le "
            f"{french.day(r['answer_due'])}"
            for r in items
        ]
    lines.append(
        (
            "link",
            "Consultez la liste « En retard » :",
            staff_mail.back_office(public_url, staff_mail.LATE_PAGE),
        )
    )
    return emails.letter(f"Miliê — {said}", name, lines)


async def _once(
    pool: asyncpg.Pool,
    person: staff_mail.Person,
    kind: str,
    day: date,
    mail: emails.Email,
    now: datetime,
) -> bool:
    """The day's mail of ``kind`` to ``person``, once: False when it was sent already."""
    about = staff_mail.about(_daily(kind, day), person.account_id)

    async def send(conn: asyncpg.Connection) -> bool:
        kept = await conn.fetchval(
            """INSERT INTO staff_daily_mails (account_id, kind, day, delivery_about, sent_at)
               VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING true""",
            person.account_id,
            kind,
            day,
            about.message_id,
            now,
        )
        if kept:
            await repository.add_delivery(
                conn, repository.NewDelivery.email(about, None, person.email, person.name, mail)
            )
        return bool(kept)

    return await run_in_transaction(pool, send)


async def sweep(pool: asyncpg.Pool, public_url: str, now: datetime, digest_hour: int) -> Sent:
    """The daily mails due at ``now``, each once."""
    sent = Sent()
    if now.astimezone(UTC).hour < digest_hour:
        return sent
    today = now.astimezone(UTC).date()
    yesterday = today - timedelta(days=1)
    async with pool.acquire() as conn:
        digesters = await staff_mail.people(conn, staff_mail.FOCAL_POINT, alerts=staff_mail.DIGEST)
        analysts = await staff_mail.people(conn, staff_mail.ANALYST)
        new = await conn.fetch(
            """SELECT code, nature, body_id, body_name FROM staff_new_requests
               WHERE reached_at >= $1 AND reached_at < $2 ORDER BY body_id, reached_at, code""",
            _start(yesterday),
            _start(today),
        )
        # A request whose moved deadline was missed again: once, with its latest deadline.
        late = await conn.fetch(
            """SELECT * FROM (SELECT DISTINCT ON (request_id) code, nature, body_name, answer_due
                              FROM staff_late_requests WHERE answered_at IS NULL
                              ORDER BY request_id, answer_due DESC) latest
               ORDER BY body_name, answer_due, code"""
        )
    by_body = {body: list(rows) for body, rows in groupby(new, key=lambda r: r["body_id"])}
    for person in digesters:
        rows = by_body.get(person.body_id or "")
        if not rows:
            continue
        mail = digest(rows[0]["body_name"], yesterday, rows, person.name, public_url)
        if await _once(pool, person, NEW_REQUESTS, today, mail, now):
            sent.digests.append(person.account_id)
    if late:
        for person in analysts:
            mail = late_summary(late, person.name, public_url)
            if await _once(pool, person, LATE_REQUESTS, today, mail, now):
                sent.late.append(person.account_id)
    if sent.digests or sent.late:
        log.info("daily staff mails", extra={"digests": len(sent.digests), "late": len(sent.late)})
    return sent


def ticking(now: Callable[[], datetime] = lambda: datetime.now(UTC)):
    """The app's context (``cleanup_ctx``) that sweeps every ``staff_clock_interval_seconds``;
    a failed sweep (the database away) waits for the next."""
    return periodic.every(
        "notify-staff-clock",
        lambda app: app[SETTINGS].staff_clock_interval_seconds,
        lambda app: sweep(
            app[POOL], app[SETTINGS].public_url, now(), app[SETTINGS].staff_digest_hour
        ),
    )
