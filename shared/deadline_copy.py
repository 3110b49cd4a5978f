"""The copy of treatment's deadline policy that a consuming service keeps (triage, intake), from
``deadlines.policy_changed``: each event carries the whole policy and the declared days off, so
the copy is replaced whole; its ``revision`` keeps an older event arriving late from undoing a
newer one. The tables (``deadline_rules``, ``declared_days_off``, ``deadline_revision``) are
created by each consumer's own migration, in its own schema, with the same SQL
(services/triage/sql/0071_deadline_copy.sql, services/intake/sql/0072_deadline_copy.sql).
"""

from __future__ import annotations

import asyncpg

from shared.deadline_policy import Policy
from shared.messages import DeadlineRule, DeadlinesPolicyChangedV1
from shared.working_days import Calendar, calendar


async def replace(conn: asyncpg.Connection, event: DeadlinesPolicyChangedV1) -> bool:
    """Replace the copy with ``event``'s policy (call in the consumer's transaction); False when
    the copy is already at this revision or a later one."""
    current = await conn.fetchval("SELECT revision FROM deadline_revision FOR UPDATE")
    if current is not None and current >= event.revision:
        return False
    await conn.execute("DELETE FROM deadline_rules")
    await conn.executemany(
        "INSERT INTO deadline_rules (kind, nature, body_id, days) VALUES ($1, $2, $3, $4)",
        [(r.kind.value, r.nature.value, r.body_id or "", r.days) for r in event.rules],
    )
    await conn.execute("DELETE FROM declared_days_off")
    await conn.executemany(
        "INSERT INTO declared_days_off (day, label) VALUES ($1, $2)",
        [(d.day, d.label) for d in event.days_off],
    )
    await conn.execute("UPDATE deadline_revision SET revision = $1", event.revision)
    return True


async def load(conn: asyncpg.Connection | asyncpg.Pool) -> tuple[Policy, Calendar]:
    """The policy and the working-day calendar as the copy stands."""
    rules = await conn.fetch("SELECT kind, nature, body_id, days FROM deadline_rules")
    days = await conn.fetch("SELECT day FROM declared_days_off")
    policy = Policy.of(
        DeadlineRule(
            kind=r["kind"], nature=r["nature"], body_id=r["body_id"] or None, days=r["days"]
        )
        for r in rules
    )
    return policy, calendar(r["day"] for r in days)
