"""Treatment's clock: what time alone does to the body's requests.

- A request treated and left without the citizen's opinion for ``no_opinion_days`` (counted from
  its last answer, ``treated_at``: a request reopened and answered again counts from the new
  answer) is closed « sans retour »: status closed, no opinion, a history line, request.closed
  (opinion None) in the outbox and an audit line, in one transaction per request.
- The reminders to the body and the escalation of a missed answer deadline
  (:mod:`services.treatment.reminders`), each once per request, kind and due day.
- A document a focal point uploaded for an answer and never joined to one (the form left, the
  browser closed) is deleted after ``unused_document_hours``, so that abandoned uploads do not
  fill the database.

:func:`sweep` does both once, for the moment ``now`` it is given: the tests call it with the
time they choose; :func:`ticking` runs it every ``clock_interval_seconds`` in the app. Several
copies of treatment may sweep at once: each request is taken with ``FOR UPDATE SKIP LOCKED`` and
judged again under the lock, so a request is closed once, by one copy; a request being answered
or given an opinion at that moment is skipped, and looked at again by the next sweep.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg

from services.treatment import policy, reminders, repository
from services.treatment.settings import SETTINGS, TreatmentSettings
from shared import audit, outbox, periodic
from shared.db import run_in_transaction
from shared.lifecycle import BODY_EVENT_LABELS, Event, Status, next_status
from shared.messages import RequestClosedV1
from shared.service import POOL
from shared.working_days import day_of

log = logging.getLogger(__name__)

SYSTEM = "system"  # the actor role of what the clock writes (history, audit)
BATCH = 500  # requests closed by one sweep at most; the next sweep goes on


@dataclass
class Swept:
    closed: list[str] = field(default_factory=list)  # the codes closed « sans retour »
    documents_deleted: int = 0
    reminded: reminders.Reminded = field(default_factory=reminders.Reminded)
    deadlines_set: int = 0  # answer deadlines set to requests that had none


def opinion_until(row: Mapping[str, Any], no_opinion_days: int) -> date | datetime | None:
    """Until when a treated request waits for the citizen's opinion before :func:`_close_one`
    closes it « sans retour » — the pages show it (« Avis attendu jusqu'au », the citizen's
    « Donnez votre avis jusqu'au »), so that nobody counts the window again. The last day
    included (``opinion_due``, the administrators' « Délais », working days); without it the
    moment ``no_opinion_days`` after the answer (the setting). None unless awaiting the opinion.

    The same rule as :func:`_close_one`'s query (tests/treatment/test_clock.py holds them
    together): closed once this day is over, or once this moment has come."""
    if row["status"] != Status.TREATED or row["treated_at"] is None:
        return None
    if row["opinion_due"] is not None:
        return row["opinion_due"]
    return row["treated_at"] + timedelta(days=no_opinion_days)


async def _close_one(conn: asyncpg.Connection, cutoff: datetime, now: datetime) -> str | None:
    """Close the oldest request waiting for an opinion past its window that no other
    transaction holds: its ``opinion_due`` day (the administrators' « Délais », working days)
    is over, or it has none and was answered before ``cutoff`` (:func:`opinion_until`, the rule
    as the pages show it); its code, or None when there is none left."""
    row = await conn.fetchrow(
        f"""SELECT {repository.COLUMNS} FROM treatments
            WHERE status = $1 AND CASE WHEN opinion_due IS NULL THEN treated_at <= $2
                                       ELSE opinion_due < $3 END
            ORDER BY treated_at LIMIT 1 FOR UPDATE SKIP LOCKED""",  # noqa: S608
        Status.TREATED.value,
        cutoff,
        day_of(now),
    )
    if row is None:
        return None
    # Judged by the table like any action (treated → closed, no opinion).
    status = next_status(row["status"], Event.CLOSED, opinion=None)
    event = RequestClosedV1(
        request_id=row["request_id"],
        code=row["code"],
        body_id=row["body_id"],
        opinion=None,
        closed_at=now,
    )
    await repository.update(
        conn, row["request_id"], {"status": status.value, "opinion": None, "closed_at": now}
    )
    message_id = await outbox.add(conn, event)
    await repository.add_history(
        conn,
        request_id=row["request_id"],
        occurred_at=now,
        kind=Event.CLOSED.kind,
        details={"treated_at": row["treated_at"].isoformat()},
        message_id=message_id,
        actor_role=SYSTEM,
    )
    await audit.write(
        conn,
        action=Event.CLOSED.kind,
        outcome="done",
        actor_role=SYSTEM,
        request_code=row["code"],
        detail=BODY_EVENT_LABELS[Event.CLOSED],
    )
    return row["code"]


async def close_without_opinion(
    pool: asyncpg.Pool, *, now: datetime, days: int, limit: int = BATCH
) -> list[str]:
    """Close « sans retour » the requests treated ``days`` or more before ``now`` without an
    opinion, each in its own transaction; the codes closed by this call."""
    cutoff = now - timedelta(days=days)
    closed: list[str] = []
    while len(closed) < limit:
        code = await run_in_transaction(pool, lambda conn: _close_one(conn, cutoff, now))
        if code is None:
            break
        closed.append(code)
    return closed


async def delete_unused_documents(pool: asyncpg.Pool, *, now: datetime, hours: float) -> int:
    """Delete the documents uploaded ``hours`` or more before ``now`` and joined to no answer;
    how many. An answer naming one at this moment holds it locked (``FOR UPDATE``): the delete
    waits, then finds it joined and leaves it."""
    done = await pool.execute(
        "DELETE FROM documents WHERE answer_id IS NULL AND uploaded_at <= $1",
        now - timedelta(hours=hours),
    )
    return int(done.rsplit(" ", 1)[-1])


async def sweep(
    pool: asyncpg.Pool, settings: TreatmentSettings, now: datetime | None = None
) -> Swept:
    """One round of the clock at ``now`` (the present by default)."""
    now = now or datetime.now(UTC)
    swept = Swept()
    swept.closed = await close_without_opinion(pool, now=now, days=settings.no_opinion_days)
    # The answer deadline of requests validated before deadlines existed (issue 13), before
    # the reminders that read it.
    swept.deadlines_set = await run_in_transaction(
        pool, lambda conn: policy.fill_missing(conn, now)
    )
    swept.reminded = await reminders.sweep(pool, now)
    swept.documents_deleted = await delete_unused_documents(
        pool, now=now, hours=settings.unused_document_hours
    )
    if swept.closed or swept.documents_deleted:
        log.info(
            "clock swept",
            extra={"closed": len(swept.closed), "documents_deleted": swept.documents_deleted},
        )
    return swept


def ticking(now: Callable[[], datetime] = lambda: datetime.now(UTC)):
    """The app's context (``cleanup_ctx``) that sweeps every ``clock_interval_seconds``, from
    the start, until the app stops; a failed sweep (the database away) waits for the next."""
    return periodic.every(
        "treatment-clock",
        lambda app: app[SETTINGS].clock_interval_seconds,
        lambda app: sweep(app[POOL], app[SETTINGS], now()),
    )
