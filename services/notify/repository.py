"""Queries over the notify schema; each takes a connection (and so the caller's transaction)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from uuid import UUID

import asyncpg

from services.notify import emails
from shared.consumer import Delivery
from shared.db import columns

DELIVERY_LOG_COLUMNS = """id, medium, recipient, subject, status, attempts, last_error,
    about_message_type, created_at, sent_at, failed_at, next_attempt_at"""


@dataclass(frozen=True)
class Recipient:
    request_id: UUID
    code: str
    email: str | None
    phone: str | None
    last_name: str
    first_names: str

    def params(self) -> tuple:
        return (
            self.request_id,
            self.code,
            self.email,
            self.phone,
            self.last_name,
            self.first_names,
        )


@dataclass(frozen=True)
class NewDelivery:
    request_id: UUID | None
    about_message_id: UUID
    about_message_type: str
    correlation_id: str | None
    medium: str
    recipient: str
    recipient_name: str
    subject: str
    body_text: str
    body_html: str | None

    @classmethod
    def email(
        cls,
        about: Delivery,
        request_id: UUID | None,
        address: str,
        name: str,
        mail: emails.Email,
    ) -> NewDelivery:
        """The email ``mail`` to ``address``, sent because of the message ``about``."""
        return cls(
            request_id=request_id,
            about_message_id=about.message_id,
            about_message_type=about.message_type,
            correlation_id=about.correlation_id,
            medium="email",
            recipient=address,
            recipient_name=name,
            subject=mail.subject,
            body_text=mail.text,
            body_html=mail.html,
        )

    @classmethod
    def sms(
        cls, about: Delivery, request_id: UUID | None, phone: str, name: str, text: str
    ) -> NewDelivery:
        """The SMS ``text`` to ``phone``, sent because of the message ``about``."""
        return cls(
            request_id=request_id,
            about_message_id=about.message_id,
            about_message_type=about.message_type,
            correlation_id=about.correlation_id,
            medium="sms",
            recipient=phone,
            recipient_name=name,
            subject="",
            body_text=text,
            body_html=None,
        )

    def params(self) -> tuple:
        """A new row's id, then the columns in the order of the INSERTs below."""
        return (
            uuid.uuid4(),
            self.request_id,
            self.about_message_id,
            self.about_message_type,
            self.correlation_id,
            self.medium,
            self.recipient,
            self.recipient_name,
            self.subject,
            self.body_text,
            self.body_html,
        )


async def save_recipients_and_add_deliveries(
    conn: asyncpg.Connection, recipients: list[Recipient], deliveries: list[NewDelivery]
) -> None:
    """Both writes for a run of messages in one statement (the consumer's hot path): each
    request's recipient kept for later events (the latest message's word wins), and the
    deliveries queued — never two for the same message and medium."""
    people = columns([(*r.params(), order) for order, r in enumerate(recipients)], 7)
    queued = columns([d.params() for d in deliveries], 11)
    await conn.execute(
        """WITH saved AS (
                INSERT INTO recipients (request_id, code, email, phone, last_name, first_names)
                SELECT DISTINCT ON (request_id)
                       request_id, code, email, phone, last_name, first_names
                FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[],
                            $6::text[], $7::int[])
                     AS r(request_id, code, email, phone, last_name, first_names, ord)
                ORDER BY request_id, ord DESC
                ON CONFLICT (request_id) DO UPDATE
                SET code = EXCLUDED.code, email = EXCLUDED.email, phone = EXCLUDED.phone,
                    last_name = EXCLUDED.last_name, first_names = EXCLUDED.first_names,
                    updated_at = now())
            INSERT INTO deliveries (id, request_id, about_message_id, about_message_type,
                                    correlation_id, medium, recipient, recipient_name, subject,
                                    body_text, body_html)
            SELECT * FROM unnest($8::uuid[], $9::uuid[], $10::uuid[], $11::text[], $12::text[],
                                 $13::text[], $14::text[], $15::text[], $16::text[],
                                 $17::text[], $18::text[])
            ON CONFLICT (about_message_id, medium) DO NOTHING""",
        *people,
        *queued,
    )


async def claim_due(conn: asyncpg.Connection, medium: str, limit: int) -> list[asyncpg.Record]:
    """Lock up to ``limit`` due deliveries for this transaction; other senders skip them."""
    return await conn.fetch(
        """SELECT id, request_id, about_message_type, correlation_id, medium, recipient,
                  recipient_name, subject, body_text, body_html, attempts, created_at
           FROM deliveries
           WHERE status = 'pending' AND medium = $1 AND next_attempt_at <= now()
           ORDER BY next_attempt_at
           LIMIT $2
           FOR UPDATE SKIP LOCKED""",
        medium,
        limit,
    )


async def mark_sent(conn: asyncpg.Connection, ids: list[UUID]) -> list[asyncpg.Record]:
    return await conn.fetch(
        """UPDATE deliveries SET status = 'sent', sent_at = now(), attempts = attempts + 1
           WHERE id = ANY($1::uuid[])
           RETURNING id, sent_at, created_at""",
        ids,
    )


async def keep_references(conn: asyncpg.Connection, references: list[tuple[UUID, str]]) -> None:
    """What the provider answered for the messages it accepted (Orange: its resourceURL)."""
    ids, refs = columns([(delivery_id, ref[:500]) for delivery_id, ref in references], 2)
    await conn.execute(
        """UPDATE deliveries d SET provider_ref = r.ref
           FROM unnest($1::uuid[], $2::text[]) AS r(id, ref) WHERE d.id = r.id""",
        ids,
        refs,
    )


async def mark_failed(conn: asyncpg.Connection, delivery_id: UUID, error: str) -> asyncpg.Record:
    return await conn.fetchrow(
        """UPDATE deliveries SET status = 'failed', failed_at = now(), attempts = attempts + 1,
                  last_error = $2
           WHERE id = $1
           RETURNING failed_at""",
        delivery_id,
        error,
    )


async def postpone(
    conn: asyncpg.Connection, delivery_id: UUID, error: str, cap_seconds: float
) -> None:
    """Count a failed attempt and retry later: 1 s, 2 s, 4 s… up to ``cap_seconds``, ±10 %."""
    await conn.execute(
        """UPDATE deliveries SET attempts = attempts + 1, last_error = $2,
                  next_attempt_at = now() + make_interval(
                      secs => LEAST($3::float8, power(2, attempts)) * (0.9 + 0.2 * random()))
           WHERE id = $1""",
        delivery_id,
        error,
        cap_seconds,
    )


async def deliveries_of(conn: asyncpg.Connection, request_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {DELIVERY_LOG_COLUMNS} FROM deliveries WHERE request_id = $1"  # noqa: S608
        " ORDER BY created_at, id",
        request_id,
    )


async def waiting(conn: asyncpg.Connection) -> asyncpg.Record:
    return await conn.fetchrow(
        """SELECT count(*) AS pending,
                  COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::float8 AS oldest
           FROM deliveries WHERE status = 'pending'"""
    )


async def add_delivery(conn: asyncpg.Connection, delivery: NewDelivery) -> UUID | None:
    """Queue one delivery; None when this message already has one for this medium."""
    return await conn.fetchval(
        """INSERT INTO deliveries (id, request_id, about_message_id, about_message_type,
                                   correlation_id, medium, recipient, recipient_name, subject,
                                   body_text, body_html)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
           ON CONFLICT (about_message_id, medium) DO NOTHING
           RETURNING id""",
        *delivery.params(),
    )


async def add_unsent(
    conn: asyncpg.Connection, delivery: NewDelivery, reason: str
) -> asyncpg.Record | None:
    """Write down a message that cannot be sent (``reason``: why), never queued; None when this
    message already has a delivery for this medium."""
    return await conn.fetchrow(
        """INSERT INTO deliveries (id, request_id, about_message_id, about_message_type,
                                   correlation_id, medium, recipient, recipient_name, subject,
                                   body_text, body_html, status, last_error, failed_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'unsent', $12, now())
           ON CONFLICT (about_message_id, medium) DO NOTHING
           RETURNING id, failed_at""",
        *delivery.params(),
        reason,
    )
