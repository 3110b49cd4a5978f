"""Intake's purge of the citizen's personal data, ``purge_after_days`` after closure.

A request is closed when it reaches one of ``shared.lifecycle.CLOSED_STATUSES`` (rejected,
acknowledged, closed with or without an opinion); ``requests.closed_at`` says when. Past the
delay, one transaction per batch of requests erases intake's copy and writes
``request.personal_data_purged`` for each in the outbox, so that triage, treatment and notify
erase theirs; all or nothing: a crash mid-batch leaves the batch as it was, and the next sweep
takes it again (it resumes where it stopped). Several copies of intake may sweep at once: rows
are taken ``FOR UPDATE SKIP LOCKED``.

Erased: the message (left empty), the contact (name, telephone, email), the attachments (bytes
and names), the drafts that led to it, the citizen's replies (opinion comments, reopening
messages), the staff's texts addressed to the citizen in the tracking view and the history's
details (the page then shows the milestones only), the names of the documents added at a
rewrite (its history line keeps its sentence without them), the Open311 location, and the sent
outbox rows about it (request.submitted carried the contact; the reminders of forgotten codes
carried the email). Kept: the code, body, nature, theme, place, channel, status, opinion given
and the dated history lines; and the call centre's operator who typed a request by phone
(``requests.operator_staff_id``, ``operator_login``): staff data, not the citizen's, kept as
the agents' names are (triage's history line of the submission keeps them likewise). The
dead letters (which no service reads back) are not touched here: ``milie dead-letters``
removes those first dead-lettered ``purge_after_days`` ago (deploy/local/dead_letters.py).

After the purge the citizen can still look the request up with code + email: ``email_hash``
keeps an HMAC-SHA256 of the email under a key derived from intake's identity secret. It is not
the email: without the key nobody can test a guess, and with it one can only confirm an
address already known, which is what the look-up does. ``phone_hash`` does the same for the
mobile number (E.164), so that a citizen who gave no email looks it up with code + number. The
tracking page then shows the milestones and « Données personnelles supprimées le … ».
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import asyncpg

from services.intake.domain import email_key
from services.intake.settings import SETTINGS, IntakeSettings
from services.intake.tracking import view as tracking_view
from shared import outbox, periodic
from shared.db import run_in_transaction
from shared.lifecycle import Event
from shared.messages import (
    CodesReminderRequestedV1,
    CodesReminderRequestedV2,
    RequestPersonalDataPurgedV1,
)
from shared.purge import forget_sent_events
from shared.service import POOL

log = logging.getLogger(__name__)


def hash_key(settings: IntakeSettings) -> bytes:
    """The key of the emails' HMAC, apart from every other use of the identity secret."""
    secret = settings.identity_secret.get_secret_value().encode()
    return hmac.new(secret, b"milie.intake.purged-email", hashlib.sha256).digest()


def email_hash(key: bytes, email: str) -> str:
    """What a purged request keeps of its email (compared as ``email_key`` compares)."""
    return hmac.new(key, email_key(email).encode(), hashlib.sha256).hexdigest()


def phone_hash(key: bytes, e164: str) -> str:
    """What a purged request keeps of its mobile number (E.164, as contacts store it)."""
    return hmac.new(key, b"phone:" + e164.encode(), hashlib.sha256).hexdigest()


_DUE = """
    SELECT r.id, r.code, c.email, c.email_key, c.phone
    FROM requests r LEFT JOIN contacts c ON c.request_id = r.id
    WHERE r.closed_at <= $1 AND r.purged_at IS NULL
    ORDER BY r.closed_at, r.id
    LIMIT $2
    FOR UPDATE OF r SKIP LOCKED"""


# The types are written out (not parameters) so that the partial indexes of migrations 0081 and
# 0092 serve: the reminders of v1 went to an email, those of v2 to an email or a mobile number.
_FORGET_REMINDERS = f"""
    DELETE FROM outbox
    WHERE sent_at IS NOT NULL AND (
        (message_type = '{CodesReminderRequestedV1.type_name()}'
         AND lower(body ->> 'email') = ANY($1::text[]))
        OR (message_type = '{CodesReminderRequestedV2.type_name()}'
            AND lower(body ->> 'email') = ANY($1::text[]))
        OR (message_type = '{CodesReminderRequestedV2.type_name()}'
            AND body ->> 'phone' = ANY($2::text[])))"""  # noqa: S608 - contracts' constants


async def purge_batch(
    conn: asyncpg.Connection, *, cutoff: datetime, now: datetime, key: bytes, limit: int
) -> list[str]:
    """Purge up to ``limit`` requests closed before ``cutoff`` (call inside a transaction);
    their codes."""
    rows = await conn.fetch(_DUE, cutoff, limit)
    if not rows:
        return []
    ids = [r["id"] for r in rows]
    hashes = [email_hash(key, r["email"]) if r["email"] else None for r in rows]
    phone_hashes = [phone_hash(key, r["phone"]) if r["phone"] else None for r in rows]
    emails = sorted({r["email_key"] for r in rows if r["email_key"]})
    phones = sorted({r["phone"] for r in rows if r["phone"]})
    await conn.execute(
        """UPDATE requests r SET message = '', purged_at = $3, email_hash = h.hash,
                  phone_hash = h.phone
           FROM unnest($1::uuid[], $2::text[], $4::text[]) AS h(id, hash, phone)
           WHERE r.id = h.id""",
        ids,
        hashes,
        now,
        phone_hashes,
    )
    for statement in (
        "DELETE FROM contacts WHERE request_id = ANY($1::uuid[])",
        "DELETE FROM attachments WHERE request_id = ANY($1::uuid[])",
        "DELETE FROM drafts WHERE request_id = ANY($1::uuid[])",
        "DELETE FROM citizen_replies WHERE request_id = ANY($1::uuid[])",
        """UPDATE request_tracking SET analyst_message = NULL, rejection_reason = NULL,
                  analyst_answer = NULL, ministry_message = NULL
           WHERE request_id = ANY($1::uuid[])""",
        """UPDATE request_history SET detail = NULL
           WHERE request_id = ANY($1::uuid[]) AND detail IS NOT NULL""",
        """UPDATE open311_requests SET lat = NULL, long = NULL, address_string = NULL
           WHERE request_id = ANY($1::uuid[])""",
    ):
        await conn.execute(statement, ids)
    # The rewrite's line names the documents added (their names may name the citizen).
    await conn.execute(
        """UPDATE request_history SET message = $2
           WHERE request_id = ANY($1::uuid[]) AND event_type = $3 AND message <> $2""",
        ids,
        tracking_view.resubmitted_sentence(),
        Event.RESUBMITTED.value,
    )
    await forget_sent_events(conn, ids)
    if emails or phones:
        await conn.execute(_FORGET_REMINDERS, emails, phones)
    await outbox.add_many(
        conn,
        (
            (
                RequestPersonalDataPurgedV1(
                    request_id=r["id"], code=r["code"].strip(), purged_at=now
                ),
                None,
            )
            for r in rows
        ),
    )
    return [r["code"].strip() for r in rows]


async def sweep(
    pool: asyncpg.Pool,
    settings: IntakeSettings,
    now: datetime | None = None,
    *,
    limit: int | None = None,
) -> list[str]:
    """Purge every request closed ``purge_after_days`` before ``now`` (the present by default),
    one transaction per ``purge_batch``; the codes purged (at most ``limit`` when given)."""
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(days=settings.purge_after_days)
    key = hash_key(settings)
    purged: list[str] = []
    while limit is None or len(purged) < limit:
        size = (
            settings.purge_batch
            if limit is None
            else min(settings.purge_batch, limit - len(purged))
        )
        codes = await run_in_transaction(
            pool,
            lambda conn, size=size: purge_batch(conn, cutoff=cutoff, now=now, key=key, limit=size),
        )
        purged += codes
        if len(codes) < size:
            break
    # Attempt counters keyed by hashes of emails: none outlives its window.
    await pool.execute("DELETE FROM throttle_hits WHERE expires_at < now()")
    if purged:
        log.info("personal data purged", extra={"requests": len(purged)})
    return purged


def ticking(now: Callable[[], datetime] = lambda: datetime.now(UTC)):
    """The app's context that sweeps every ``purge_interval_seconds`` (0: never)."""
    return periodic.every(
        "intake-purge",
        lambda app: app[SETTINGS].purge_interval_seconds,
        lambda app: sweep(app[POOL], app[SETTINGS], now()),
    )
