"""Other government channels submitting over RabbitMQ (``intake.submit``): intake on the real
broker and database, a channel with its own reply queue."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import aio_pika
import aiormq
import asyncpg
import pytest

from services.intake.app import create_app as intake_app
from services.intake.settings import IntakeSettings
from shared.broker import Broker
from shared.codes import is_well_formed
from shared.db import create_pool
from shared.messages import (
    COMMAND_MAX_BYTES,
    COMMAND_TYPES,
    Actor,
    IntakeSubmitReplyV1,
    IntakeSubmitV1,
    RequestRejectedV1,
)
from shared.migrations import migrate
from shared.outbox import OutboxRelay, add
from shared.topology import DEFAULT, Topology
from tests.channels.conftest import BODY, command, connected_channel
from tests.support import RunningApp, dead_letters, eventually, signed_session

ROOT = Path(__file__).resolve().parents[2]


async def requests_with_key(intake_db, key: str) -> int:
    return await intake_db.fetchval(
        "SELECT count(*) FROM requests WHERE channel = 'broker' AND submission_key = $1", key
    )


async def track(intake, code: str, email: str) -> tuple[int, dict]:
    async with (
        signed_session() as http,
        http.post(f"{intake.url}/tracking", json={"code": code, "email": email}) as resp,
    ):
        return resp.status, await resp.json()


async def test_a_submission_gets_its_code_and_the_same_one_again_the_same_code(
    channel_client, intake, intake_db, amqp_url, namespace
):
    sent = command()
    first = await channel_client.submit(sent)

    assert first.message_type == "intake.submit_reply.v1"
    assert first.body["accepted"] is True, first.body
    assert first.body["external_id"] == sent["external_id"]
    assert first.body["errors"] == []
    code = first.body["code"]
    assert is_well_formed(code)

    # The request exists, is the channel's, and the citizen can follow it with code + email.
    status, view = await track(intake, code, sent["contact"]["email"])
    assert status == 200, view
    assert code in json.dumps(view)
    row = await intake_db.fetchrow(
        """SELECT r.channel, r.nature, r.body_id, r.message, c.phone, c.email
           FROM requests r JOIN contacts c ON c.request_id = r.id WHERE r.code = $1""",
        code,
    )
    assert row["channel"] == "broker"
    assert (row["nature"], row["body_id"]) == ("reclamation", BODY)
    assert row["phone"] == "+2250707123456"  # checked and normalized as in the web form

    # The same (channel, external_id) again, in a new message: the same code, nothing new.
    again = await channel_client.submit(sent)
    assert again.body == first.body
    key = f"guichet-unique:{sent['external_id']}"
    assert await requests_with_key(intake_db, key) == 1
    submitted = await intake_db.fetchval(
        "SELECT count(*) FROM outbox WHERE message_type = 'request.submitted.v1'"
    )
    assert submitted == 1

    # The same external id with another request: refused, never the first request's code.
    reused = await channel_client.submit({**sent, "message": "Une tout autre requête."})
    assert reused.body["accepted"] is False and reused.body["code"] is None
    assert [(e["field"], e["code"]) for e in reused.body["errors"]] == [
        ("external_id", "submission_key_reused")
    ]
    assert await intake_db.fetchval("SELECT count(*) FROM requests") == 1

    # The body's channel is not the channel: the RabbitMQ user is. Another name there changes
    # nothing (the same request, the same code).
    renamed = await channel_client.submit({**sent, "channel": "autre-canal"})
    assert renamed.body == first.body

    # Each reply left through the outbox, with a bounded number of attempts.
    replies = await intake_db.fetch(
        "SELECT exchange, routing_key, max_attempts, sent_at FROM outbox"
        " WHERE message_type = 'intake.submit_reply.v1'"
    )
    assert len(replies) == 4
    assert {(r["exchange"], r["routing_key"], r["max_attempts"]) for r in replies} == {
        (DEFAULT, channel_client.replies.name, 5)
    }
    assert await dead_letters(amqp_url, f"{namespace}.milie.intake.dead-letter") == []


async def test_faulty_fields_are_answered_and_nothing_is_stored(
    channel_client, intake_db, amqp_url, namespace
):
    sent = command(
        nature="plainte",
        body_id="ministere-inconnu",
        message="   ",
        contact={"last_name": "KOUASSI", "country": "CI", "phone": "12"},
    )
    reply = await channel_client.submit(sent)

    assert reply.body["accepted"] is False
    assert reply.body["code"] is None
    assert reply.body["external_id"] == sent["external_id"]
    errors = {e["field"]: e for e in reply.body["errors"]}
    # A number was given (a faulty one): no email is asked for besides.
    assert set(errors) == {"nature", "message", "contact.phone"}
    assert errors["message"]["code"] == "string_too_short"
    assert "numéro" in errors["contact.phone"]["message"]
    assert await intake_db.fetchval("SELECT count(*) FROM requests") == 0

    # Readable fields naming what the catalogue does not know: the same kind of answer.
    unknown = await channel_client.submit(command(body_id="ministere-inconnu"))
    assert [e["field"] for e in unknown.body["errors"]] == ["body_id"]
    assert unknown.body["errors"][0]["message"] == "Choisissez un organisme public dans la liste."
    assert await intake_db.fetchval("SELECT count(*) FROM requests") == 0
    # Faulty fields are an answer, not a dead letter.
    assert await dead_letters(amqp_url, f"{namespace}.milie.intake.dead-letter") == []


async def test_an_unreadable_command_is_dead_lettered_and_answered(
    channel_client, intake_db, amqp_url, namespace
):
    dlq = f"{namespace}.milie.intake.dead-letter"
    not_json = await channel_client.submit(b"{not json")
    assert not_json.body["accepted"] is False
    [error] = not_json.body["errors"]
    assert (error["field"], error["code"]) == ("body", "unreadable")
    assert "invalid intake.submit.v1" in error["message"]

    # Not the contract (no "message"): dead-lettered too, and the reply names the field.
    incomplete = command()
    del incomplete["message"]
    missing = await channel_client.submit(incomplete)
    assert missing.body["accepted"] is False
    assert missing.body["external_id"] == incomplete["external_id"]
    assert [(e["field"], e["code"]) for e in missing.body["errors"]] == [("message", "missing")]

    # A message id that is not a UUID, or another type: the same.
    no_id = await channel_client.submit(command(), message_id="pas-un-uuid")
    assert [e["field"] for e in no_id.body["errors"]] == ["message_id"]
    wrong_version = await channel_client.submit(command(), message_type="intake.submit.v9")
    assert [e["field"] for e in wrong_version.body["errors"]] == ["type"]

    async def four_dead_letters():
        found.extend(await dead_letters(amqp_url, dlq))
        return len(found) >= 4

    found: list = []
    await eventually(four_dead_letters)
    assert len(found) == 4
    reasons = [m.headers["x-milie-reason"] for m in found]
    assert found[0].body == b"{not json"
    assert reasons[0].startswith("invalid intake.submit.v1: body: Invalid JSON")
    assert "message: Field required" in reasons[1]
    assert reasons[2] == "message_id missing or not a UUID"
    assert reasons[3] == (
        "unknown message type 'intake.submit.v9': commands accept only intake.submit.v1"
    )
    assert all(m.headers["x-milie-service"] == "intake" for m in found)
    assert await intake_db.fetchval("SELECT count(*) FROM requests") == 0


async def test_a_command_without_reply_to_is_stored_and_its_replay_answers(
    channel_client, intake_db
):
    sent = command()
    await channel_client.publish(sent, reply_to=None)

    async def stored():
        return await requests_with_key(intake_db, f"guichet-unique:{sent['external_id']}")

    await eventually(stored)
    # Publishing it again with a reply_to tells the channel the code it missed.
    reply = await channel_client.submit(sent)
    code = await intake_db.fetchval("SELECT code FROM requests")
    assert reply.body["code"] == code
    assert await intake_db.fetchval("SELECT count(*) FROM requests") == 1


async def test_a_reply_to_a_vanished_queue_is_given_up(database_url, amqp_url, namespace):
    """The outbox relay stops retrying a reply whose reply_to queue is gone, after its
    max_attempts; a row without max_attempts (a domain event) keeps being retried."""
    pool = await create_pool(database_url, "probe", min_size=1, max_size=3)
    broker = Broker(amqp_url, Topology(namespace), "probe")
    await broker.connect()
    try:
        async with pool.acquire() as conn:
            await migrate(conn, "probe", None)
            reply = IntakeSubmitReplyV1(accepted=False, external_id="x")
            await add(conn, reply, exchange=DEFAULT, routing_key="no-such-queue", max_attempts=1)
            await add(conn, reply, exchange=DEFAULT, routing_key="no-such-queue-either")
        relay = OutboxRelay(pool, broker, "probe")
        await relay.publish_batch()
        rows = await pool.fetch(
            "SELECT routing_key, attempts, abandoned_at, sent_at FROM outbox ORDER BY id"
        )
        assert rows[0]["abandoned_at"] is not None and rows[0]["sent_at"] is None
        assert rows[1]["abandoned_at"] is None and rows[1]["attempts"] == 1
        # The abandoned row is never claimed again.
        await pool.execute("UPDATE outbox SET next_attempt_at = now() - interval '1 hour'")
        await relay.publish_batch()
        attempts = await pool.fetch("SELECT attempts FROM outbox ORDER BY id")
        assert [r["attempts"] for r in attempts] == [1, 2]
    finally:
        await broker.close()
        await pool.close()


async def test_the_example_publisher_prints_the_code(intake, intake_db, amqp_url, namespace):
    external_id = f"EX-{uuid.uuid4().hex[:8]}"
    args = [
        sys.executable,
        str(ROOT / "examples" / "publish_submission.py"),
        "--amqp-url",
        amqp_url,
        "--namespace",
        namespace,
        "--channel",
        "guichet-unique",
        "--external-id",
        external_id,
        "--nature",
        "suggestion",
        "--body-id",
        BODY,
        "--message",
        "Ouvrez le guichet le samedi matin.",
        "--last-name",
        "KONE",
        "--phone",
        "+225 05 05 12 34 56",
        "--email",
        "kone@example.ci",
    ]

    async def run() -> tuple[int, str, str]:
        process = await asyncio.create_subprocess_exec(
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        out, err = await asyncio.wait_for(process.communicate(), 60)
        return process.returncode, out.decode(), err.decode()

    status, out, err = await run()
    assert status == 0, err
    reply = json.loads(out)
    code = await intake_db.fetchval("SELECT code FROM requests")
    assert reply == {"accepted": True, "external_id": external_id, "code": code, "errors": []}

    # Refused: exit status 1 and the faulty field printed.
    args[args.index("--email") + 1] = "pas-une-adresse"
    args[args.index("--external-id") + 1] = external_id + "-2"
    status, out, _ = await run()
    assert status == 1
    assert [e["field"] for e in json.loads(out)["errors"]] == ["contact.email"]


# -- trust: what a channel may publish, as whom, and where the answer goes ------------------


async def _dead_lettered(amqp_url: str, namespace: str, count: int) -> list:
    found: list = []

    async def enough():
        found.extend(await dead_letters(amqp_url, f"{namespace}.milie.intake.dead-letter"))
        return len(found) >= count

    await eventually(enough)
    return found


async def test_an_event_published_as_a_command_is_dead_lettered_and_changes_nothing(
    channel_client, intake, intake_db, amqp_url, namespace
):
    sent = command()
    code = (await channel_client.submit(sent)).body["code"]
    request_id = await intake_db.fetchval("SELECT id FROM requests WHERE code = $1", code)
    before = await track(intake, code, sent["contact"]["email"])
    assert before[0] == 200 and before[1]["status"] == "submitted", before

    # A channel (a known one, even) passes an analyst's rejection off as a command.
    forged = RequestRejectedV1(
        request_id=request_id,
        code=code,
        reason="Requête irrecevable.",
        actor=Actor(staff_id="analyste-1", role="analyst"),
        decided_at=datetime.now(UTC),
    )
    await channel_client.publish(
        forged.model_dump(mode="json"), message_type=RequestRejectedV1.type_name()
    )

    [letter] = await _dead_lettered(amqp_url, namespace, 1)
    assert letter.type == "request.rejected.v1"
    assert letter.headers["x-milie-reason"] == (
        "unknown message type 'request.rejected.v1': commands accept only intake.submit.v1"
    )
    # Unchanged: the tracking view, the request's row and its history.
    assert await track(intake, code, sent["contact"]["email"]) == before
    assert await intake_db.fetchval("SELECT status FROM requests WHERE id = $1", request_id) == (
        "submitted"
    )
    history = await intake_db.fetchval(
        "SELECT count(*) FROM request_history WHERE request_id = $1", request_id
    )
    assert history == 1
    assert COMMAND_TYPES == {IntakeSubmitV1.type_name()}


async def test_a_command_from_no_known_rabbitmq_user_or_too_large_is_dead_lettered(
    channel_client, intake_db, amqp_url, namespace
):
    # Without user_id: refused, stored nowhere, not answered (no channel to answer).
    await channel_client.publish(command(), user_id=None)
    # Over 64 KiB: refused unread, and the channel is told.
    big = command(message="x" * (COMMAND_MAX_BYTES + 1))
    too_large = await channel_client.submit(big)
    assert [(e["field"], e["code"]) for e in too_large.body["errors"]] == [("body", "too_large")]

    letters = await _dead_lettered(amqp_url, namespace, 2)
    reasons = sorted(m.headers["x-milie-reason"] for m in letters)
    assert reasons[0].startswith(f"command of {len(json.dumps(big).encode())} bytes, over the")
    assert reasons[1] == (
        "command without user_id: a channel is the RabbitMQ user that publishes it"
    )
    assert await intake_db.fetchval("SELECT count(*) FROM requests") == 0
    assert len(channel_client.received) == 1  # the large one's answer only

    # A user_id other than the connection's own user: the broker itself refuses the publish.
    with pytest.raises(aiormq.exceptions.ChannelPreconditionFailed, match="user_id"):
        await channel_client.publish(command(), user_id="guichet-unique")


async def test_a_command_from_a_rabbitmq_user_that_is_no_channel_is_dead_lettered(
    intake, intake_db, channel_user, amqp_url, namespace
):
    user, user_url = channel_user  # a real user, with a channel's permissions, but not mapped
    async with connected_channel(user_url, namespace, "autre-canal") as stranger:
        await stranger.publish(command())
        [letter] = await _dead_lettered(amqp_url, namespace, 1)
    assert letter.headers["x-milie-user-id"] == user
    assert letter.headers["x-milie-reason"] == (
        f"command from RabbitMQ user {user!r}, who is no known channel"
    )
    assert stranger.received == []  # not answered: Miliê does not know whose it is
    assert await intake_db.fetchval("SELECT count(*) FROM requests") == 0


async def test_a_reply_goes_only_to_a_queue_of_the_channels_own(
    channel_client, intake_db, amqp_url, namespace
):
    """A reply_to naming another queue (here one of Miliê's, or another channel's) is not
    answered: the command is processed all the same, and its replay with the channel's own
    queue gets the code."""
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        others = [
            await channel.declare_queue(name, exclusive=True)
            for name in (f"{namespace}.milie.victim", "autre-canal.replies.x")
        ]
        sent = command()
        for other in others:
            await channel_client.publish(sent, reply_to=other.name)
        # Unreadable, with another queue as reply_to: dead-lettered and not answered there.
        await channel_client.publish(b"{not json", reply_to=others[0].name)

        key = f"guichet-unique:{sent['external_id']}"
        await eventually(lambda: requests_with_key(intake_db, key))
        await _dead_lettered(amqp_url, namespace, 1)
        reply = await channel_client.submit(sent)
        assert reply.body["accepted"] is True
        assert reply.body["code"] == await intake_db.fetchval("SELECT code FROM requests")
        for other in others:
            declared = await channel.declare_queue(other.name, passive=True)
            assert declared.declaration_result.message_count == 0, other.name
        rows = await intake_db.fetch(
            "SELECT routing_key FROM outbox WHERE message_type = 'intake.submit_reply.v1'"
        )
        assert [r["routing_key"] for r in rows] == [channel_client.replies.name]
    finally:
        await connection.close()


async def test_two_channels_are_two_rabbitmq_users(settings_for, channel_user, amqp_url, namespace):
    user, user_url = channel_user
    settings = settings_for(
        IntakeSettings,
        db_pool_min=1,
        channel_users={"guest": "guichet-unique", user: "autre-canal"},
    )
    async with (
        RunningApp(intake_app(settings)),
        connected_channel(amqp_url, namespace) as guichet,
        connected_channel(user_url, namespace, "autre-canal") as autre,
    ):
        sent = command()  # the same body, "channel": "guichet-unique" included
        first = await guichet.submit(sent)
        second = await autre.submit(sent)
        assert first.body["accepted"] and second.body["accepted"]
        # The same external id from another channel is another request.
        assert first.body["code"] != second.body["code"]
        conn = await asyncpg.connect(
            settings.database_url, server_settings={"search_path": "intake"}
        )
        try:
            keys = await conn.fetch("SELECT submission_key FROM requests ORDER BY submission_key")
        finally:
            await conn.close()
        assert [r["submission_key"] for r in keys] == [
            f"autre-canal:{sent['external_id']}",
            f"guichet-unique:{sent['external_id']}",
        ]
        # The channel's user cannot pass for guichet-unique's: the broker refuses the user_id...
        with pytest.raises(aiormq.exceptions.ChannelPreconditionFailed, match="user_id"):
            await autre.publish(command(), user_id="guest")
        # ... and may write to milie.commands only, not to the events.
        channel = await autre.connection.channel(publisher_confirms=True)
        events = await channel.get_exchange(f"{namespace}.milie.events", ensure=False)
        with pytest.raises(aiormq.exceptions.ChannelAccessRefused):
            await events.publish(aio_pika.Message(b"{}", user_id=user), "request.rejected")
