"""The deadline policy as treatment keeps it (« Délais »), and what a change of it does.

A change (a value set or removed, a day declared off or removed) is one transaction: the
revision row locked (two administrators' changes follow one another), the policy checked whole
(``shared.deadline_policy.problems``: nothing is written when it refuses), the row written, the
audit line, ``deadlines.policy_changed`` with the whole policy and the declared days (triage and
intake replace their copy with it), and the answer deadline of every request still awaiting its
answer recomputed, with ``deadlines.answer_due_set`` for each one that moved.

:func:`set_answer_due` is what the arrival of a request and a resumption call.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any

import asyncpg

from services.treatment import deadlines
from services.treatment.calendar import load_calendar
from shared import audit, french, lock_order, outbox
from shared.deadline_policy import KIND_LABELS, Policy, applies, problems
from shared.identity import Identity
from shared.lifecycle import Status
from shared.messages import (
    AnswerDueSetV1,
    DeadlineKind,
    DeadlineRule,
    DeadlinesPolicyChangedV1,
    DeclaredDayOff,
    Nature,
)
from shared.web import FieldErrors, field_error
from shared.working_days import Calendar, day_of

LABEL_MAX = 200
# The lock a change holds alone and the consumer's transactions share (services.treatment.app).
CHANGES = "milie.treatment.deadline_policy"


# -- reading ------------------------------------------------------------------------------------


async def load_policy(conn: asyncpg.Connection | asyncpg.Pool) -> Policy:
    rows = await conn.fetch("SELECT kind, nature, body_id, days FROM deadline_policy")
    return Policy.of(
        DeadlineRule(
            kind=r["kind"], nature=r["nature"], body_id=r["body_id"] or None, days=r["days"]
        )
        for r in rows
    )


async def days_off(conn: asyncpg.Connection | asyncpg.Pool) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT day, label, declared_by, declared_at FROM declared_days_off ORDER BY day"
    )


async def revision(conn: asyncpg.Connection | asyncpg.Pool) -> int:
    return await conn.fetchval("SELECT revision FROM deadline_policy_revision")


# -- the answer's deadline of one request -------------------------------------------------------


async def set_answer_due(
    conn: asyncpg.Connection,
    row: Any,
    *,
    held_days: int,
    at: datetime,
    calendar: Calendar | None = None,
    policy: Policy | None = None,
) -> date | None:
    """Compute and store the request's answer deadline (``row``: its treatments row, locked);
    ``deadlines.answer_due_set`` when it is new or moved. None for a nature without answer."""
    if not Nature(row["nature"]).needs_treatment:
        return None
    calendar = calendar or await load_calendar(conn)
    policy = policy or await load_policy(conn)
    days = policy.days(DeadlineKind.ANSWER, row["nature"], row["body_id"])
    due = deadlines.answer_due(calendar, row["validated_at"], days, held_days)
    if due == row["answer_due"] and held_days == row["held_days"]:
        return due
    await conn.execute(
        "UPDATE treatments SET answer_due = $2, held_days = $3 WHERE request_id = $1",
        row["request_id"],
        due,
        held_days,
    )
    if due != row["answer_due"]:
        await outbox.add(
            conn,
            AnswerDueSetV1(
                request_id=row["request_id"],
                code=row["code"],
                body_id=row["body_id"],
                answer_due=due,
                set_at=at,
            ),
        )
    return due


async def fill_missing(conn: asyncpg.Connection, at: datetime, limit: int = 500) -> int:
    """Set the answer deadline of up to ``limit`` open requests that have none (validated before
    deadlines existed); how many. Run by the clock until none is left; rows another transaction
    holds are left for the next round."""
    rows = await conn.fetch(
        """SELECT request_id, code, nature, body_id, validated_at, held_days, answer_due
           FROM treatments
           WHERE answer_due IS NULL AND status = ANY($1::text[]) AND nature = ANY($2::text[])
           LIMIT $3 FOR UPDATE SKIP LOCKED""",
        [s.value for s in deadlines.OPEN],
        [n.value for n in Nature if n.needs_treatment],
        limit,
    )
    if not rows:
        return 0
    calendar, policy = await load_calendar(conn), await load_policy(conn)
    for row in rows:
        await set_answer_due(
            conn, row, held_days=row["held_days"], at=at, calendar=calendar, policy=policy
        )
    return len(rows)


async def opinion_due(
    conn: asyncpg.Connection,
    row: Any,
    answered_at: datetime,
    *,
    calendar: Calendar | None = None,
    policy: Policy | None = None,
) -> date | None:
    """The last day of the citizen's opinion window after an answer given at ``answered_at``:
    the administrators' value in working days, or None (the clock's ``no_opinion_days``)."""
    policy = policy or await load_policy(conn)
    days = policy.value(DeadlineKind.OPINION, row["nature"], row["body_id"])
    if days is None:
        return None
    calendar = calendar or await load_calendar(conn)
    return calendar.add(day_of(answered_at), days)


async def _recompute_opinions(
    conn: asyncpg.Connection, rows: list[asyncpg.Record], calendar: Calendar, policy: Policy
) -> None:
    """The opinion window of the requests ``rows`` (waiting for the citizen's opinion, locked),
    again."""
    moved = []
    for row in rows:
        due = await opinion_due(conn, row, row["treated_at"], calendar=calendar, policy=policy)
        if due != row["opinion_due"]:
            moved.append((row["request_id"], due))
    if moved:
        await conn.execute(
            """UPDATE treatments t SET opinion_due = m.due
               FROM unnest($1::uuid[], $2::date[]) AS m(request_id, due)
               WHERE t.request_id = m.request_id""",
            [r for r, _ in moved],
            [d for _, d in moved],
        )


async def _recompute(conn: asyncpg.Connection, at: datetime) -> int:
    """Every request awaiting its answer gets its deadline again; how many moved. The moves
    are written in one statement and their events in another, whatever their number."""
    calendar, policy = await load_calendar(conn), await load_policy(conn)
    # Every row the change may write (the open requests' deadlines, the treated ones' opinion
    # windows), locked in one statement in the order of request_id: the order a batch of the
    # consumer locks its requests in (shared.lock_order). Locked open ones first, then treated
    # ones, a batch holding a treated request (an opinion) and then taking an open one (a
    # re-indexing) waited for the change while the change waited for it: a deadlock.
    locked = await conn.fetch(
        """SELECT request_id, code, status, nature, body_id, validated_at, held_days,
                  answer_due, treated_at, opinion_due
           FROM treatments WHERE status = ANY($1::text[]) ORDER BY request_id FOR UPDATE""",
        [s.value for s in (*deadlines.OPEN, Status.TREATED)],
    )
    rows = [r for r in locked if r["status"] != Status.TREATED]
    moved: list[tuple[Any, date]] = []
    events: list[tuple[AnswerDueSetV1, str | None]] = []
    # Many requests share a validation day and a number of days: each sum is counted once.
    known: dict[tuple[date, int], date] = {}
    for row in rows:
        if not Nature(row["nature"]).needs_treatment:
            continue
        days = policy.days(DeadlineKind.ANSWER, row["nature"], row["body_id"])
        key = (day_of(row["validated_at"]), days + row["held_days"])
        if key not in known:
            known[key] = deadlines.answer_due(calendar, row["validated_at"], days, row["held_days"])
        due = known[key]
        if due == row["answer_due"]:
            continue
        moved.append((row["request_id"], due))
        event = AnswerDueSetV1(
            request_id=row["request_id"],
            code=row["code"],
            body_id=row["body_id"],
            answer_due=due,
            set_at=at,
        )
        events.append((event, None))
    if moved:
        await conn.execute(
            """UPDATE treatments t SET answer_due = m.due
               FROM unnest($1::uuid[], $2::date[]) AS m(request_id, due)
               WHERE t.request_id = m.request_id""",
            [r for r, _ in moved],
            [d for _, d in moved],
        )
        await outbox.add_many(conn, events)
    treated = [r for r in locked if r["status"] == Status.TREATED]
    await _recompute_opinions(conn, treated, calendar, policy)
    return len(moved)


# -- changes ------------------------------------------------------------------------------------


def _who(identity: Identity) -> str:
    return identity.login or identity.staff_id


async def _changed(
    conn: asyncpg.Connection, who: Identity, address: str, action: str, detail: str
) -> dict[str, Any]:
    """What follows every change, in its transaction: revision, event, recomputing, audit."""
    at = datetime.now(UTC)
    number = await conn.fetchval(
        "UPDATE deadline_policy_revision SET revision = revision + 1 RETURNING revision"
    )
    policy = await load_policy(conn)
    off = await days_off(conn)
    await outbox.add(
        conn,
        DeadlinesPolicyChangedV1(
            revision=number,
            rules=policy.rules(),
            days_off=[DeclaredDayOff(day=r["day"], label=r["label"]) for r in off],
            changed_at=at,
        ),
    )
    moved = await _recompute(conn, at)
    await audit.write(
        conn,
        action=action,
        outcome="done",
        address=address,
        actor_id=who.staff_id,
        actor_login=_who(who),
        actor_role=who.role.value,
        detail=detail,
    )
    return {"revision": number, "moved": moved}


Change = Callable[[asyncpg.Connection], Awaitable[str]]


async def _change(conn: asyncpg.Connection, who: Identity, address: str, action: str, work: Change):
    """Lock the revision, do ``work`` (which returns the audit's detail or raises), follow."""
    # After the consumer's transactions under way, before the next ones: a request being
    # validated is inserted with the policy it read, and this change would not see its row.
    await lock_order.alone(conn, CHANGES)
    await conn.execute("SELECT revision FROM deadline_policy_revision FOR UPDATE")
    detail = await work(conn)
    return await _changed(conn, who, address, action, detail)


class UnknownRule(Exception):
    """No such value set to remove (404)."""


async def set_rule(
    conn: asyncpg.Connection,
    who: Identity,
    address: str,
    *,
    kind: DeadlineKind,
    nature: Nature,
    body_id: str | None,
    days: int | None,
) -> dict[str, Any]:
    """Set (``days``) or remove (None) the value of ``kind`` for ``nature`` (at ``body_id``);
    FieldErrors (422) when the policy would make no sense, UnknownRule when there is no such
    value to remove; with nothing written."""
    if not applies(kind, nature):
        raise FieldErrors(problems(Policy({(kind, nature, None): 1})))

    async def work(conn: asyncpg.Connection) -> str:
        before = await load_policy(conn)
        after = before.with_value((kind, nature, body_id or None), days)
        if errors := problems(after):
            raise FieldErrors(errors)
        if days is None:
            removed = await conn.fetchval(
                """DELETE FROM deadline_policy WHERE kind = $1 AND nature = $2 AND body_id = $3
                   RETURNING days""",
                kind.value,
                nature.value,
                body_id or "",
            )
            if removed is None:
                # Nothing to remove (another administrator was first, an old page): no revision,
                # no event, no journal line of a removal that did not happen.
                raise UnknownRule(kind, nature, body_id)
        else:
            await conn.execute(
                """INSERT INTO deadline_policy (kind, nature, body_id, days, changed_by)
                   VALUES ($1, $2, $3, $4, $5)
                   ON CONFLICT (kind, nature, body_id) DO UPDATE
                   SET days = EXCLUDED.days, changed_by = EXCLUDED.changed_by,
                       changed_at = now()""",
                kind.value,
                nature.value,
                body_id or "",
                days,
                _who(who),
            )
        where = f" ({body_id})" if body_id else ""
        was = before.days(kind, nature, body_id)
        now = "valeur par défaut" if days is None else f"{days} jours ouvrés"
        return f"{nature.label}{where}, {KIND_LABELS[kind]} : {was} jours ouvrés → {now}"

    return await _change(conn, who, address, "deadline_set", work)


async def declare_day_off(
    conn: asyncpg.Connection, who: Identity, address: str, *, day: date, label: str
) -> dict[str, Any]:
    label = label.strip()
    if not label:
        raise FieldErrors([field_error("label", "Écrivez le motif du jour chômé.", "missing")])
    if len(label) > LABEL_MAX:
        raise FieldErrors(
            [field_error("label", f"{LABEL_MAX} caractères au plus.", "string_too_long")]
        )

    async def work(conn: asyncpg.Connection) -> str:
        done = await conn.fetchval(
            """INSERT INTO declared_days_off (day, label, declared_by) VALUES ($1, $2, $3)
               ON CONFLICT (day) DO NOTHING RETURNING true""",
            day,
            label,
            _who(who),
        )
        if not done:
            raise FieldErrors(
                [field_error("day", "Ce jour est déjà déclaré chômé.", "already_declared")]
            )
        return f"Jour chômé déclaré : {french.day(day)} « {label} »"

    return await _change(conn, who, address, "day_off_declared", work)


class UnknownDay(Exception):
    """No such declared day off (404)."""


async def remove_day_off(
    conn: asyncpg.Connection, who: Identity, address: str, *, day: date
) -> dict[str, Any]:
    async def work(conn: asyncpg.Connection) -> str:
        label = await conn.fetchval(
            "DELETE FROM declared_days_off WHERE day = $1 RETURNING label", day
        )
        if label is None:
            raise UnknownDay(day)
        return f"Jour chômé retiré : {french.day(day)} « {label} »"

    return await _change(conn, who, address, "day_off_removed", work)
