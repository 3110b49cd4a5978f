"""``milie dead-letters list|show|replay``: why a message was dead-lettered, and replaying it once
the cause is fixed.

The services' dead-letter queues (``milie.<service>.dead-letter``) are read by nobody else: each
command first **collects** what waits there into the table ``ops.dead_letters`` (a row committed,
then the message acknowledged: a crash in between leaves the message in the queue and the row is
written once, by ``(service, message_id)``), so an operator can list and read them as often as
needed without the broker's redelivery counts or reordering.

``replay`` publishes the message as it was (body, type, message id, correlation id) straight to
the service's own queue through the default exchange, persistent and confirmed, and marks the
row. Only the service that refused it sees it again; if it had applied it after all, its inbox
ignores the copy. If the cause is not fixed the service dead-letters it again and the next
collect shows the row waiting again with its new reason, ``times`` counting the attempts.
A command from another channel (``intake.submit``) is not replayed: it is trusted by the RabbitMQ
user that published it, which the operator cannot be; that channel sends it again.

A letter's age counts from its **first dead-lettering** (``first_dead_lettered_at``, kept through
replays and new failures: the timestamp of the dead-letter copy, which the consumer stamps when it
dead-letters; a message the broker dead-lettered past its delivery limit keeps its own, earlier),
and two rules follow from it:

- **No replay past the inboxes' memory.** A service remembers a message's id
  ``MILIE_INBOX_KEPT_DAYS`` (30); past that, a copy it had applied after all would be applied
  again (a second answer, a second email). ``replay`` refuses such a letter, and publishes
  nothing of the letters given with it, unless the operator, having checked that the effect is
  not there (the request's history), says ``--force``.
- **No letter outlives the purge.** Intake purges a request's personal data
  ``MILIE_PURGE_AFTER_DAYS`` (365) after its closure, and triage, treatment and notify follow;
  a dead letter about it (a ``request.submitted`` carries the contact, a reason may quote a
  refused field) would keep them. The services never read ``ops`` and this table cannot tell
  which requests were purged, so each collect removes every letter first dead-lettered longer
  ago than the purge delay, waiting or replayed, and the messages as old in the queues are
  removed as they are collected. A message comes about a request before its closure, or soon
  after (an answer to an unsatisfied citizen): its letter goes no later than the request's
  purge, or that much after it. The CLI reads ``MILIE_PURGE_AFTER_DAYS`` as intake does: give
  it intake's value.

Nobody has to be at the keyboard for either rule: ``collect`` does the collecting and the
removing alone and prints one line (what came in, what went, what waits), for a schedule
(deploy/kubernetes/dead-letters.yaml, a CronJob; the compose file's ``dead-letters``). It exits
with status 2 when the database or the broker does not answer, so that the schedule counts the
run as failed; deploy/prometheus/rules.yml says when letters wait in a queue uncollected, or when
the CronJob has not succeeded for a day.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aio_pika
import asyncpg
from pydantic import Field

from shared.messages import COMMAND_TYPES
from shared.migrations import migrate
from shared.settings import PURGE_AFTER_DAYS, ServiceSettings, load
from shared.topology import Topology

SCHEMA = "ops"
SQL = Path(__file__).parent / "sql"
SERVICES = ("intake", "triage", "treatment", "notify", "stats")
# Headers the consumer adds when it dead-letters a message, and the broker's own: not replayed.
_OWN_HEADERS = (
    "x-milie-reason",
    "x-milie-service",
    "x-milie-original-routing-key",
    "x-milie-user-id",
    "x-death",
    "x-delivery-count",
    "x-first-death-exchange",
    "x-first-death-queue",
    "x-first-death-reason",
    "x-last-death-exchange",
    "x-last-death-queue",
    "x-last-death-reason",
)


class Refused(Exception):
    """Said to the operator on stderr; exit status 1."""


class Unreachable(Exception):
    """The database or the broker did not answer: said on stderr, exit status 2 (a scheduled
    ``collect`` must count as failed)."""


@dataclass(frozen=True)
class Place:
    """Where the dead letters are: the database (schema ``ops``) and the broker's queues."""

    database_url: str
    amqp_url: str
    topology: Topology
    # The services' inboxes keep a message's id this long (MILIE_INBOX_KEPT_DAYS): a letter
    # first dead-lettered longer ago is replayed only when forced, and a replayed letter is
    # removed this long after its replay: by then it was applied or dead-lettered again
    # (collected anew), and its body (a request.submitted carries the citizen's contact) must
    # not outlive the request's purge.
    inbox_kept_days: int = 30
    # Intake's purge delay (MILIE_PURGE_AFTER_DAYS): a letter first dead-lettered longer ago
    # is removed at the next collect.
    purge_after_days: int = PURGE_AFTER_DAYS


class DeadLetterSettings(ServiceSettings):
    """The CLI's settings: the services' own, and intake's purge delay."""

    purge_after_days: int = Field(PURGE_AFTER_DAYS, ge=1)

    def signs_calls(self) -> bool:
        # It calls no service: the CronJob holds only the two URLs, not the identity secret.
        return False


@dataclass(frozen=True)
class Collected:
    """What one collect did: letters moved from the queues into ``ops``, letters removed from
    ``ops`` (past the purge delay, or replayed longer ago than the inboxes remember), and the
    letters left waiting for an operator by service, with the first failure of the oldest."""

    moved: int
    removed: int
    waiting: dict[str, int]
    oldest: datetime | None

    def summary(self, place: Place) -> str:
        """One line, for a scheduled run's log."""
        line = (
            f"dead letters: {self.moved} collected, {self.removed} removed (first dead-lettered "
            f"more than {place.purge_after_days} days ago, or replayed more than "
            f"{place.inbox_kept_days} days ago), {sum(self.waiting.values())} waiting"
        )
        if self.waiting:
            by_service = ", ".join(f"{s} {n}" for s, n in sorted(self.waiting.items()))
            line += (
                f" ({by_service}; the oldest first dead-lettered {self.oldest:%Y-%m-%d %H:%M} "
                "UTC): read them with `milie dead-letters list`"
            )
        return line


def _json_safe(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


async def _connect_db(place: Place) -> asyncpg.Connection:
    try:
        conn = await asyncpg.connect(place.database_url, timeout=30)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise Unreachable(f"The database (DATABASE_URL) does not answer: {exc}") from exc
    await migrate(conn, SCHEMA, SQL)
    await conn.execute(f"SET search_path TO {SCHEMA}")
    return conn


async def _connect_broker(place: Place) -> aio_pika.abc.AbstractConnection:
    try:
        return await aio_pika.connect(place.amqp_url, timeout=30)
    except (OSError, TimeoutError, aio_pika.exceptions.AMQPError) as exc:
        raise Unreachable(f"The broker (AMQP_URL) does not answer: {exc}") from exc


async def collect(place: Place, services: tuple[str, ...] = SERVICES) -> Collected:
    """Move what waits in the services' dead-letter queues into the table, then remove the
    letters past their keeping time; what it did."""
    moved = 0
    conn = await _connect_db(place)
    try:
        connection = await _connect_broker(place)
    except Unreachable:
        await conn.close()
        raise
    try:
        channel = await connection.channel()
        for service in services:
            try:
                queue = await channel.get_queue(place.topology.dead_letter_queue(service))
            except aio_pika.exceptions.ChannelClosed:
                # The service never started here: no queue, nothing to collect.
                channel = await connection.channel()
                continue
            while (message := await queue.get(fail=False, no_ack=False)) is not None:
                headers = dict(message.headers or {})
                await conn.execute(
                    """INSERT INTO dead_letters (service, message_id, type, routing_key,
                           correlation_id, reply_to, headers, body, reason, publisher,
                           first_dead_lettered_at)
                       VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10,
                               least(coalesce($11, now()), now()))
                       ON CONFLICT (service, message_id) DO UPDATE
                           SET reason = EXCLUDED.reason, headers = EXCLUDED.headers,
                               body = EXCLUDED.body, collected_at = now(),
                               replayed_at = NULL, times = dead_letters.times + 1
                           WHERE dead_letters.replayed_at IS NOT NULL""",
                    service,
                    message.message_id or "",
                    message.type or "",
                    _text(headers.get("x-milie-original-routing-key")) or "",
                    message.correlation_id,
                    message.reply_to,
                    json.dumps(_json_safe(headers)),
                    message.body,
                    _text(headers.get("x-milie-reason")) or "(no reason recorded)",
                    _text(headers.get("x-milie-user-id")) or "",
                    _aware(message.timestamp),
                )
                await message.ack()
                moved += 1
        status = await conn.execute(
            """DELETE FROM dead_letters
               WHERE replayed_at < now() - make_interval(days => $1)
                  OR first_dead_lettered_at < now() - make_interval(days => $2)""",
            place.inbox_kept_days,
            place.purge_after_days,
        )
        rows = await conn.fetch(
            """SELECT service, count(*) AS letters, min(first_dead_lettered_at) AS oldest
               FROM dead_letters WHERE replayed_at IS NULL GROUP BY service"""
        )
    finally:
        await connection.close()
        await conn.close()
    return Collected(
        moved=moved,
        removed=int(status.rpartition(" ")[2]),
        waiting={r["service"]: r["letters"] for r in rows},
        oldest=min((r["oldest"] for r in rows), default=None),
    )


def _text(value) -> str | None:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _aware(moment: datetime | None) -> datetime | None:
    # AMQP timestamps are seconds since the epoch, UTC.
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


async def waiting(place: Place, service: str | None = None, every: bool = False) -> list[dict]:
    """The collected dead letters, oldest first: those not replayed, or ``every`` one."""
    conn = await _connect_db(place)
    try:
        rows = await conn.fetch(
            """SELECT id, service, message_id, type, reason, times, first_dead_lettered_at,
                      collected_at, replayed_at
               FROM dead_letters
               WHERE ($1::text IS NULL OR service = $1) AND ($2 OR replayed_at IS NULL)
               ORDER BY collected_at, id""",
            service,
            every,
        )
    finally:
        await conn.close()
    return [dict(r) for r in rows]


async def one(place: Place, letter_id: int) -> dict:
    conn = await _connect_db(place)
    try:
        row = await conn.fetchrow("SELECT * FROM dead_letters WHERE id = $1", letter_id)
    finally:
        await conn.close()
    if row is None:
        raise Refused(f"No dead letter {letter_id} (run `milie dead-letters list`).")
    return dict(row)


def _refusal(row: asyncpg.Record, place: Place, force: bool) -> str | None:
    """Why the letter ``row`` must not be replayed, or None."""
    letter_id = row["id"]
    if row["replayed_at"] is not None:
        return (
            f"Dead letter {letter_id} was already replayed on "
            f"{row['replayed_at']:%Y-%m-%d %H:%M:%S}."
        )
    if row["type"] in COMMAND_TYPES:
        return (
            f"Dead letter {letter_id} is a command ({row['type']}): the channel that "
            "sent it must send it again (its RabbitMQ user is what makes it trusted)."
        )
    first = row["first_dead_lettered_at"]
    if not force and first < datetime.now(UTC) - timedelta(days=place.inbox_kept_days):
        return (
            f"Dead letter {letter_id} was first dead-lettered on {first:%Y-%m-%d %H:%M:%S}, more "
            f"than {place.inbox_kept_days} days ago (MILIE_INBOX_KEPT_DAYS): {row['service']} no "
            "longer remembers whether it applied this message, and would apply it twice if it "
            "had. Check that its effect is not there (the request's history), then replay it "
            "with --force."
        )
    return None


async def replay(place: Place, letter_ids: list[int], *, force: bool = False) -> list[int]:
    """Publish each letter again to its service's queue; the ids replayed. A letter already
    replayed, a command, or (unless ``force``) a letter first dead-lettered longer ago than the
    services' inboxes keep ids is refused with the reason, before anything is published."""
    conn = await _connect_db(place)
    try:
        connection = await _connect_broker(place)
    except Unreachable:
        await conn.close()
        raise
    done: list[int] = []
    try:
        rows = []
        for letter_id in letter_ids:
            row = await conn.fetchrow("SELECT * FROM dead_letters WHERE id = $1", letter_id)
            if row is None:
                raise Refused(f"No dead letter {letter_id}.")
            if (refusal := _refusal(row, place, force)) is not None:
                raise Refused(refusal)
            rows.append(row)
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        for row in rows:
            letter_id = row["id"]
            headers = {k: v for k, v in json.loads(row["headers"]).items() if k not in _OWN_HEADERS}
            headers["x-milie-replayed-from"] = letter_id
            await channel.default_exchange.publish(
                aio_pika.Message(
                    bytes(row["body"]),
                    message_id=row["message_id"] or None,
                    type=row["type"] or None,
                    correlation_id=row["correlation_id"],
                    reply_to=row["reply_to"],
                    headers=headers,
                    content_type="application/json",
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    app_id="milie-dead-letters",
                ),
                routing_key=place.topology.queue(row["service"]),
                mandatory=True,
            )
            await conn.execute(
                "UPDATE dead_letters SET replayed_at = now() WHERE id = $1", letter_id
            )
            done.append(letter_id)
    finally:
        await connection.close()
        await conn.close()
    return done


def add_parser(sub: argparse._SubParsersAction) -> None:
    letters = sub.add_parser(
        "dead-letters",
        help="dead-lettered messages: collect, list, show, replay",
        description="The services' dead letters (needs DATABASE_URL and AMQP_URL).",
    )
    cmds = letters.add_subparsers(dest="letters_command", required=True)
    cmds.add_parser(
        "collect",
        help="take what waits in the queues into ops and remove the letters past the purge "
        "delay, with one line of summary (for a schedule: exit status 2 when the database or "
        "the broker does not answer)",
    )
    listing = cmds.add_parser("list", help="collect and list the dead letters not replayed")
    listing.add_argument("--service", choices=SERVICES)
    listing.add_argument("--all", action="store_true", help="the replayed ones too")
    show = cmds.add_parser("show", help="one dead letter: reason, headers, body")
    show.add_argument("id", type=int)
    again = cmds.add_parser("replay", help="send dead letters again to their service")
    again.add_argument("ids", type=int, nargs="*")
    again.add_argument("--service", choices=SERVICES, help="every waiting letter of a service")
    again.add_argument(
        "--force",
        action="store_true",
        help="replay letters first dead-lettered longer ago than the services' inboxes keep ids "
        "(MILIE_INBOX_KEPT_DAYS), after checking that their effect is not there: a service "
        "would apply again a message it had applied",
    )


def _place() -> Place:
    settings = load(DeadLetterSettings, "milie dead-letters")
    return Place(
        settings.database_url,
        settings.amqp_url,
        Topology(settings.broker_namespace),
        settings.inbox_kept_days,
        settings.purge_after_days,
    )


async def _run(args: argparse.Namespace, place: Place) -> int:
    collected = await collect(place)
    if args.letters_command == "collect":
        print(collected.summary(place))
        return 0
    if args.letters_command == "list":
        rows = await waiting(place, args.service, args.all)
        if not rows:
            print("No dead letters." if args.all else "No dead letters waiting.")
        for r in rows:
            state = f"replayed {r['replayed_at']:%Y-%m-%d %H:%M}" if r["replayed_at"] else "waiting"
            print(
                f"{r['id']:>6}  {r['collected_at']:%Y-%m-%d %H:%M:%S}  {r['service']:<9}  "
                f"{r['type'] or '(no type)':<36}  x{r['times']}  {state}\n        {r['reason']}"
            )
        return 0
    if args.letters_command == "show":
        row = await one(place, args.id)
        body = bytes(row["body"])
        try:
            text = json.dumps(json.loads(body), indent=2, ensure_ascii=False)
        except ValueError:
            text = body[:4000].decode("utf-8", "replace")
        print(
            f"id:             {row['id']}\nservice:        {row['service']}\n"
            f"type:           {row['type']}\nmessage id:     {row['message_id']}\n"
            f"routing key:    {row['routing_key']}\npublisher:      {row['publisher']}\n"
            f"correlation id: {row['correlation_id']}\ntimes:          {row['times']}\n"
            f"first failure:  {row['first_dead_lettered_at']}\n"
            f"collected at:   {row['collected_at']}\nreplayed at:    {row['replayed_at']}\n"
            f"reason:         {row['reason']}\nbody ({len(body)} bytes):\n{text[:20000]}"
        )
        return 0
    ids = list(args.ids)
    if args.service:
        ids += [r["id"] for r in await waiting(place, args.service)]
    if not ids:
        raise Refused("Nothing to replay: give ids or --service.")
    for letter_id in await replay(place, ids, force=args.force):
        print(f"replayed {letter_id}")
    return 0


def main(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_run(args, _place()))
    except Refused as exc:
        print(exc, file=sys.stderr)
        return 1
    except Unreachable as exc:
        print(exc, file=sys.stderr)
        return 2
