"""What notify must be told about staff accounts, kept in the gateway's schema until notify has it.

The gateway has no broker. An account change (``staff.account_actions``) writes, in its own
transaction, a ``directory`` row (the account as notify's ``staff_recipients`` keeps it) and,
when there is one, a ``message`` row (a staff email: the first sign-in link). The relay pushes
the rows to notify in id order over signed HTTP (``clients.notify``): ``PUT
/staff/recipients/<id>`` (idempotent; notify keeps the newest ``changed_at``) and ``POST
/staff/messages`` (keyed by ``message_id``: sent once however many times it is posted). A row is
deleted once notify said yes, so the link a message row holds lives no longer than needed.

While notify is down nothing is lost: the rows wait, the relay stops at the first one that fails
(a message must not reach notify before the directory row that names its address) and tries
again later — at once after each change in this process, and every ``POLL_SECONDS`` otherwise.
One relay at a time over the whole database (an advisory lock), whatever the number of gateways.

A row notify refuses for what it holds (a 4xx of :data:`REFUSED_FOR_GOOD`: an address notify
finds invalid, an account it does not know) would be refused again at every try: it is set
aside (``refused_at``, with the reason, logged as an error and counted in
``milie_staff_notices_refused_total``) and the relay goes on, so that one bad row never holds
back every later account change. An account's emails that come after a refused directory row
are set aside behind it (a sign-in link must not go to the address that row was replacing),
until a later directory row of the account, which carries the whole account, reaches notify:
the refused ones it replaces are then removed. An operator who fixed the cause sends the rows
set aside again with ``UPDATE gateway.notify_outbox SET refused_at = NULL``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
from aiohttp import web
from prometheus_client import Counter

from gateway.clients.notify import NOTIFY, Notify
from gateway.staff.accounts import Account
from gateway.web.errors import ServiceUnavailable
from shared.db import stop_if_cancelled
from shared.service import POOL

log = logging.getLogger(__name__)

LOCK_KEY = 0x6E6F746966790001  # "notify" 1: one relay at a time
# notify's answers that say the row itself is wrong: trying it again cannot help. (401 and 403 are
# not among them: a signing secret not yet the same on both sides is fixed by deploying it.)
REFUSED_FOR_GOOD = frozenset({400, 404, 409, 410, 413, 415, 422})
REFUSED = Counter(
    "milie_staff_notices_refused_total",
    "Staff directory changes and staff emails that notify refused for good, set aside",
    ["kind"],
)
POLL_SECONDS = 5.0
RETRY_CAP_SECONDS = 300.0
WAKE = web.AppKey("notify_outbox_wake", asyncio.Event)


def recipient(account: Account, changed_at: datetime | None = None) -> dict:
    """The account as notify's directory keeps it (``staff_recipients``)."""
    return {
        "login": account.login,
        "display_name": account.display_name,
        "email": account.email,
        "role": account.role.value,
        "body_id": account.body_id,
        "alerts": account.alerts,
        "active": account.active,
        "changed_at": (changed_at or datetime.now(UTC)).isoformat(),
    }


async def add_directory(conn: asyncpg.Connection, account: Account) -> None:
    """Tell notify the account as it now is (read again inside the caller's transaction). An
    account without an email (made before issue 13) is not in notify's directory yet."""
    if not account.email:
        return
    now = await conn.fetchval("SELECT clock_timestamp()")
    await conn.execute(
        "INSERT INTO notify_outbox (kind, account_id, payload) VALUES ('directory', $1, $2)",
        account.id,
        json.dumps(recipient(account, now)),
    )


async def add_message(
    conn: asyncpg.Connection, account: Account, kind: str, **fields: str
) -> uuid.UUID:
    """A staff email for notify to send (``kind``: ``first_sign_in``…); its id."""
    message_id = uuid.uuid4()
    payload = {"message_id": str(message_id), "account_id": str(account.id), "kind": kind}
    await conn.execute(
        "INSERT INTO notify_outbox (kind, account_id, payload) VALUES ('message', $1, $2)",
        account.id,
        json.dumps({**payload, **fields}),
    )
    return message_id


async def waiting_message(conn: asyncpg.Connection, message_id: uuid.UUID) -> bool:
    """Whether that message is still waiting for notify."""
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM notify_outbox "
            "WHERE kind = 'message' AND payload->>'message_id' = $1 AND refused_at IS NULL)",
            str(message_id),
        )
    )


async def _push(notify: Notify, row: asyncpg.Record) -> tuple[str, bool] | None:
    """Hand one row to notify; None when notify has it, else why not and whether for good."""
    payload = json.loads(row["payload"])
    try:
        if row["kind"] == "directory":
            status, body = await notify.put_staff_recipient(str(row["account_id"]), payload)
        else:
            status, body = await notify.send_staff_message(payload)
    except ServiceUnavailable:
        return "notify unavailable", False
    if status in (200, 201, 202, 204):
        return None
    why = f"{status} {body.get('error') if isinstance(body, dict) else ''}".strip()
    return why, status in REFUSED_FOR_GOOD


async def _done(conn: asyncpg.Connection, row: asyncpg.Record) -> None:
    await conn.execute("DELETE FROM notify_outbox WHERE id = $1", row["id"])
    if row["kind"] == "directory":  # the whole account: what was refused before is replaced
        await conn.execute(
            """DELETE FROM notify_outbox WHERE account_id = $1 AND id < $2
                   AND kind = 'directory' AND refused_at IS NOT NULL""",
            row["account_id"],
            row["id"],
        )


async def _set_aside(conn: asyncpg.Connection, row: asyncpg.Record, why: str) -> None:
    await conn.execute(
        """UPDATE notify_outbox SET refused_at = now(), attempts = attempts + 1, last_error = $2
           WHERE id = $1""",
        row["id"],
        why,
    )
    REFUSED.labels(row["kind"]).inc()
    log.error(
        "notify outbox: %s row %s set aside, notify refused it: %s",
        row["kind"],
        row["id"],
        why,
        extra={"account_id": str(row["account_id"])},
    )


async def relay(pool: asyncpg.Pool, notify: Notify, *, limit: int = 100) -> int:
    """Push what is due, in order; answers how many rows notify took. Safe to call from several
    processes at once: only one pushes, the others return 0."""
    done = 0
    async with pool.acquire(timeout=10) as conn:
        if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", LOCK_KEY):
            return 0
        try:
            rows = await conn.fetch(
                """SELECT id, kind, account_id, payload, next_attempt_at <= now() AS due
                   FROM notify_outbox WHERE refused_at IS NULL ORDER BY id LIMIT $1""",
                limit,
            )
            # The accounts whose last directory row notify refused: their emails wait aside.
            refused = set(
                await conn.fetchval(
                    """SELECT coalesce(array_agg(DISTINCT account_id), '{}') FROM notify_outbox
                       WHERE kind = 'directory' AND refused_at IS NOT NULL"""
                )
            )
            for row in rows:
                account = row["account_id"]
                if row["kind"] == "message" and account in refused:
                    await _set_aside(conn, row, "behind a refused directory row of its account")
                    continue
                if not row["due"]:
                    break  # an earlier failure waits: keep the order
                problem = await _push(notify, row)
                if problem is None:
                    await _done(conn, row)
                    refused.discard(account)  # a directory row replaced the refused ones
                    done += 1
                    continue
                why, for_good = problem
                if for_good:
                    await _set_aside(conn, row, why)
                    if row["kind"] == "directory":
                        refused.add(account)
                    continue
                await conn.execute(
                    """UPDATE notify_outbox SET attempts = attempts + 1, last_error = $2,
                              next_attempt_at = now() + make_interval(
                                  secs => LEAST($3::float8, power(2, attempts)))
                       WHERE id = $1""",
                    row["id"],
                    why,
                    RETRY_CAP_SECONDS,
                )
                log.warning("notify outbox: %s row %s waits (%s)", row["kind"], row["id"], why)
                break
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)
    return done


def wake(app: web.Application) -> None:
    """After a commit that added rows: push them now rather than at the next poll."""
    if (event := app.get(WAKE)) is not None:
        event.set()


async def relay_task(app: web.Application) -> AsyncIterator[None]:
    """The gateway's relay (a ``cleanup_ctx``): pushes at each wake and every POLL_SECONDS."""
    event = asyncio.Event()
    app[WAKE] = event

    async def loop() -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), POLL_SECONDS)
            event.clear()
            try:
                while await relay(app[POOL], app[NOTIFY]) == 100:
                    pass
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database away: the next round tries again
                stop_if_cancelled()
                log.warning("notify outbox relay: %r", exc)

    task = asyncio.create_task(loop(), name="notify-outbox")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
