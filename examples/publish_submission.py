"""Submit a request to Miliê over RabbitMQ, as another government channel does, and print the
answer (the contract: docs/asyncapi.yaml).

    python examples/publish_submission.py --amqp-url amqp://gu-user:pass@broker:5672/ \\
        --channel guichet-unique --external-id GU-2024-000123 \\
        --nature reclamation --body-id ministere-budget --theme-id accueil-espace \\
        --message "L'accueil est décevant." --last-name KOUASSI --first-names Aya \\
        --phone "+225 07 07 12 34 56" --email aya.kouassi@example.ci

It publishes one ``intake.submit.v1`` command to the ``milie.commands`` exchange (routing key
``intake.submit``), persistent and confirmed by the broker, as the URL's RabbitMQ user
(``user_id``: that user *is* the channel for Miliê — the body's ``channel`` field is not read),
with a ``reply_to`` queue of the channel's own (``<channel>.replies.<random>``: Miliê answers no
other queue) and a ``correlation_id``, then waits for Miliê's ``intake.submit_reply.v1`` on that
queue and prints it as JSON. Exit status: 0 accepted (the code is in the answer), 1 refused
(the faulty fields are in it), 2 no answer in time, 3 nothing on the broker receives the command.
Publishing the same request with the same ``--external-id`` again is safe: the answer carries
the same code and nothing new is stored (another request with that id is refused:
``submission_key_reused``).

Only aio-pika is needed (``pip install aio-pika``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import uuid
from datetime import UTC, datetime
from urllib.parse import unquote, urlsplit

import aio_pika
import aio_pika.abc
import aio_pika.exceptions

COMMAND_TYPE = "intake.submit.v1"
REPLY_TYPE = "intake.submit_reply.v1"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Submit a request to Miliê over RabbitMQ.")
    p.add_argument("--amqp-url", default="amqp://guest:guest@127.0.0.1:5672/")
    p.add_argument(
        "--namespace", default="", help="prefix of Miliê's exchange names (test setups only)"
    )
    p.add_argument(
        "--channel",
        required=True,
        help="your channel's name at Miliê (the one your RabbitMQ user is), for the reply queue",
    )
    p.add_argument("--external-id", required=True, help="your own id of this request")
    p.add_argument(
        "--nature",
        required=True,
        choices=[
            "reclamation",
            "suggestion",
            "observation",
            "motion_felicitations",
            "demande_information",
        ],
    )
    p.add_argument("--body-id", required=True, help="the public body (GET /api/v1/bodies)")
    p.add_argument("--theme-id", help="the theme (GET /api/v1/themes?body_id=…)")
    p.add_argument("--place-id", help="the commune or sous-préfecture (GET /api/v1/places)")
    p.add_argument("--message", required=True)
    p.add_argument("--last-name", default="")
    p.add_argument("--first-names", default="")
    p.add_argument("--country", default="CI", help="ISO 3166 code of the phone's country")
    p.add_argument("--phone")
    p.add_argument("--email")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the answer")
    return p.parse_args(argv)


def command(args: argparse.Namespace) -> dict:
    return {
        # Required by the v1 contract, not read: Miliê takes the channel from your user_id.
        "channel": args.channel,
        "external_id": args.external_id,
        "nature": args.nature,
        "body_id": args.body_id,
        "theme_id": args.theme_id,
        "place_id": args.place_id,
        "message": args.message,
        "contact": {
            "last_name": args.last_name,
            "first_names": args.first_names,
            "country": args.country,
            "phone": args.phone,
            "email": args.email,
        },
    }


class NotReceived(Exception):
    """The broker returned the command: no queue is bound to it (Miliê's intake not there)."""


async def submit(args: argparse.Namespace) -> dict | None:
    """Publish the command and return the reply's body (None when none came in time)."""
    prefix = f"{args.namespace}." if args.namespace else ""
    user = unquote(urlsplit(args.amqp_url).username or "guest")
    connection = await aio_pika.connect_robust(args.amqp_url)
    async with connection:
        # Publisher confirms, and an error rather than silence when nothing receives it.
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        # A queue of our own for the answer, gone when we disconnect; its name starts with
        # "<channel>.replies." (Miliê answers only there; your user may declare and read only
        # those). A channel that must get answers across its own restarts declares a durable
        # queue named so instead.
        replies = await channel.declare_queue(
            f"{args.channel}.replies.{uuid.uuid4().hex}", exclusive=True, auto_delete=True
        )
        correlation_id = uuid.uuid4().hex
        answer: asyncio.Future[dict] = asyncio.get_running_loop().create_future()

        async def on_reply(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            async with message.process():
                if message.correlation_id == correlation_id and not answer.done():
                    answer.set_result(json.loads(message.body))

        await replies.consume(on_reply)
        # Miliê declares it; your user may write to it, not declare it.
        exchange = await channel.get_exchange(f"{prefix}milie.commands", ensure=False)
        message = aio_pika.Message(
            json.dumps(command(args), ensure_ascii=False).encode(),
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=str(uuid.uuid4()),  # new for every message, retries included
            type=COMMAND_TYPE,
            correlation_id=correlation_id,
            reply_to=replies.name,
            user_id=user,  # checked by RabbitMQ: the connection's own user, or refused
            app_id=args.channel,
            timestamp=datetime.now(UTC),
        )
        try:
            await exchange.publish(message, routing_key="intake.submit", mandatory=True)
        except aio_pika.exceptions.PublishError as exc:
            raise NotReceived(str(exc)) from exc
        try:
            return await asyncio.wait_for(answer, args.timeout)
        except TimeoutError:
            return None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        reply = asyncio.run(submit(args))
    except NotReceived:
        print(
            "the broker has no queue for intake.submit: is Miliê's intake running?", file=sys.stderr
        )
        return 3
    if reply is None:
        print(
            f"no answer within {args.timeout:g} s; publish the same --external-id again later",
            file=sys.stderr,
        )
        return 2
    print(json.dumps(reply, ensure_ascii=False, indent=2))
    return 0 if reply.get("accepted") else 1


if __name__ == "__main__":
    sys.exit(main())
