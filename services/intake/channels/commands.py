"""Submissions from other government channels over RabbitMQ (``intake.submit``; the contract for
the channels' developers is docs/asyncapi.yaml).

A channel publishes :class:`IntakeSubmitV1` to ``milie.commands`` with routing key
``intake.submit``, its RabbitMQ user as ``user_id``, a ``reply_to`` queue and a
``correlation_id``. :func:`on_submit` runs in the consumer's transaction, after the inbox claimed
the message id: it checks the command with the web form's rules, stores the request, and writes
the :class:`IntakeSubmitReplyV1` to the outbox in that same transaction — the reply leaves
exactly when the request is committed, and a redelivered command is not answered twice.

- The channel is the RabbitMQ user that published (``Delivery.channel``: the shared consumer
  dead-letters a command without a known user_id). The body's ``channel`` field (required by
  the v1 contract) is ignored.
- ``(channel, external_id)`` is the request's key at the channel: the same pair again with the
  same request is answered with the same code and stores nothing; with another request it is
  refused (``submission_key_reused``), never answered with the first one's code.
- Replies go only to the channel's own queues (:func:`reply_queue_allowed`): a command naming
  another queue as ``reply_to`` is processed as one without ``reply_to`` (stored or refused, no
  answer sent, a warning logged), so that no channel can make intake publish into a queue that
  is not its own.
- Faulty fields are answered (``accepted: false`` with the fields): not a dead letter.
- A message that cannot be read (not JSON, not the contract, no message id, another type) is
  dead-lettered by the shared consumer, which calls the replier of :func:`unreadable_replier`
  to tell the channel why.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Callable, Mapping

import aio_pika.abc
import asyncpg
from pydantic import ValidationError

from services.intake import submissions
from services.intake.channels import metrics as channel_metrics
from services.intake.domain import SubmissionIn, presence_errors
from shared import outbox
from shared.broker import Broker, Refused, Unroutable
from shared.consumer import Delivery, Poison
from shared.messages import (
    COMMAND_MAX_BYTES,
    Channel,
    FieldError,
    IntakeSubmitReplyV1,
    IntakeSubmitV1,
)
from shared.topology import DEFAULT
from shared.web import field_error, field_errors, french, merge_errors

log = logging.getLogger(__name__)

# A reply whose reply_to queue is gone (the channel stopped waiting) is given up after this many
# unroutable publishes (about 15 s with the relay's backoff) instead of being retried forever.
REPLY_ATTEMPTS = 5
KEY_MAX = 200


def reply_queue_allowed(channel: str, reply_to: str) -> bool:
    """Whether ``reply_to`` is one of ``channel``'s own queues: ``<channel>.replies`` or
    ``<channel>.replies.<anything>`` (what its RabbitMQ user may declare and read)."""
    own = f"{channel}.replies"
    return reply_to == own or reply_to.startswith(own + ".")


def submission_key(channel: str, external_id: str) -> str:
    """The request's key: ``channel:external_id``, or a digest of it when that is too long for
    the column (a channel may use up to 200 characters of its own for ``external_id``)."""
    key = f"{channel}:{external_id}"
    if len(key) <= KEY_MAX:
        return key
    return f"{channel}:sha256:{hashlib.sha256(key.encode()).hexdigest()}"


async def _decide(
    conn: asyncpg.Connection, channel: str, command: IntakeSubmitV1
) -> IntakeSubmitReplyV1:
    """Store the command's request (or find it stored) and say so; the faulty fields otherwise."""
    key = submission_key(channel, command.external_id)
    raw = {
        "nature": command.nature,
        "body_id": command.body_id,
        "theme_id": command.theme_id,
        "place_id": command.place_id,
        "message": command.message,
        "contact": command.contact.model_dump(),
        "channel": Channel.BROKER.value,
        "submission_key": key,
    }
    try:
        sub = SubmissionIn.model_validate(raw)
    except ValidationError as exc:
        return _refused(
            channel, command, merge_errors(french(field_errors(exc)), presence_errors(raw))
        )
    try:
        accepted = await submissions.submit(conn, sub)
    except submissions.KeyReused:
        return _refused(channel, command, [submissions.key_reused_error("external_id")])
    except submissions.Refused as exc:
        return _refused(channel, command, exc.errors)
    outcome = "replayed" if accepted.replayed else "accepted"
    log.info(
        "channel submission %s",
        outcome,
        extra={
            "channel": channel,
            "external_id": command.external_id,
            "request_id": str(accepted.request_id),
        },
    )
    return _accepted(command, accepted.code, outcome)


def _accepted(command: IntakeSubmitV1, code: str, outcome: str) -> IntakeSubmitReplyV1:
    channel_metrics.SUBMISSIONS.labels(Channel.BROKER.value, outcome).inc()
    return IntakeSubmitReplyV1(accepted=True, external_id=command.external_id, code=code)


def _refused(
    channel: str, command: IntakeSubmitV1, errors: list[dict[str, str]]
) -> IntakeSubmitReplyV1:
    channel_metrics.SUBMISSIONS.labels(Channel.BROKER.value, "refused").inc()
    log.info(
        "channel submission refused",
        extra={
            "channel": channel,
            "external_id": command.external_id,
            "fields": [e["field"] for e in errors],
        },
    )
    return IntakeSubmitReplyV1(
        accepted=False,
        external_id=command.external_id,
        errors=[FieldError(**e) for e in errors],
    )


async def on_submit(conn: asyncpg.Connection, command: IntakeSubmitV1, delivery: Delivery) -> None:
    """The ``intake.submit.v1`` handler (registered in handlers.HANDLERS)."""
    channel = delivery.channel
    if channel is None:  # the consumer sets it for every command it lets through
        raise Poison("intake.submit without the sender's channel")
    reply = await _decide(conn, channel, command)
    if not delivery.reply_to or not reply_queue_allowed(channel, delivery.reply_to):
        # Stored all the same: the channel can publish the same command again, with a reply_to
        # of its own, to learn the code.
        log.warning(
            "intake.submit without a reply_to of the channel's own: no answer sent",
            extra={
                "channel": channel,
                "external_id": command.external_id,
                "reply_to": delivery.reply_to,
            },
        )
        return
    await outbox.add(
        conn,
        reply,
        exchange=DEFAULT,
        routing_key=delivery.reply_to,
        correlation_id=delivery.correlation_id,
        headers={"x-milie-in-reply-to": str(delivery.message_id)},
        max_attempts=REPLY_ATTEMPTS,
    )


# -- messages that cannot be read -----------------------------------------------------------


def _external_id(body: bytes) -> str | None:
    """The channel's id of the request, when the body says it (best effort, for the reply)."""
    if len(body) > COMMAND_MAX_BYTES:
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return None
    value = data.get("external_id") if isinstance(data, dict) else None
    return value[:200] if isinstance(value, str) and value else None


def unreadable_errors(message: aio_pika.abc.AbstractIncomingMessage, reason: str) -> list[dict]:
    """What to tell a channel about a command the consumer dead-lettered with ``reason``."""
    if reason.startswith("handler error"):
        # Our failure, not the channel's: say so without our internals.
        return [
            field_error(
                "body",
                code="not_processed",
                message="La demande n'a pas pu être traitée ; elle est mise de côté pour examen. "
                "Vous pourrez la publier à nouveau avec le même external_id.",
            )
        ]
    if len(message.body) > COMMAND_MAX_BYTES:
        # Not parsed: too large to be read at all.
        return [
            field_error(
                "body",
                code="too_large",
                message=f"Une commande ne peut dépasser {COMMAND_MAX_BYTES} octets "
                f"(reçu : {len(message.body)}).",
            )
        ]
    if message.type != IntakeSubmitV1.type_name():
        return [
            field_error(
                "type",
                code="unknown_type",
                message=f"La propriété AMQP type doit valoir « {IntakeSubmitV1.type_name()} » "
                f"(reçu : {message.type!r}).",
            )
        ]
    try:
        uuid.UUID(message.message_id or "")
    except ValueError:
        return [
            field_error(
                "message_id",
                code="invalid",
                message="La propriété AMQP message_id doit être un UUID, "
                "différent pour chaque message.",
            )
        ]
    try:
        IntakeSubmitV1.model_validate_json(message.body)
    except ValidationError as exc:
        errors = field_errors(exc)
        if not any(e["code"] == "json_invalid" for e in errors):
            return french(errors)
    return [field_error("body", reason[:1000], "unreadable")]


def unreadable_replier(broker: Callable[[], Broker], channel_users: Mapping[str, str]):
    """The consumer's ``on_poison``: answer a dead-lettered ``intake.submit`` on its ``reply_to``
    (published straight away: there is no transaction to join) — only to a known channel, on one
    of its own queues. ``broker`` gives the process's broker when called (it is connected before
    the consumer starts); ``channel_users``: RabbitMQ user -> channel."""

    async def answer(message: aio_pika.abc.AbstractIncomingMessage, reason: str) -> None:
        if message.routing_key != IntakeSubmitV1.name or not message.reply_to:
            return
        channel = channel_users.get(message.user_id or "")
        if channel is None or not reply_queue_allowed(channel, message.reply_to):
            log.warning(
                "dead-lettered command not answered: its sender is no known channel or its"
                " reply_to is not the channel's own",
                extra={"user_id": message.user_id, "reply_to": message.reply_to},
            )
            return
        errors = unreadable_errors(message, reason)
        channel_metrics.SUBMISSIONS.labels(Channel.BROKER.value, "unreadable").inc()
        reply = IntakeSubmitReplyV1(
            accepted=False,
            external_id=_external_id(message.body),
            errors=[FieldError(**e) for e in errors],
        )
        try:
            await broker().publish(
                DEFAULT,
                message.reply_to,
                reply.model_dump_json().encode(),
                message_id=str(uuid.uuid4()),
                message_type=IntakeSubmitReplyV1.type_name(),
                correlation_id=message.correlation_id,
                headers={"x-milie-in-reply-to": message.message_id or ""},
            )
        except (Unroutable, Refused):
            log.warning(
                "reply to an unreadable command not delivered: its reply_to queue is gone or full",
                extra={"reply_to": message.reply_to},
            )

    return answer
