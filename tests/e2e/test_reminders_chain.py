"""Reminders and escalation across the platform (in process, real PostgreSQL, RabbitMQ and
SMTP): treatment's clock writes them, its outbox publishes them, notify emails the body's focal
point once, stats counts the missed deadline in « délais respectés »."""

from __future__ import annotations

from datetime import UTC, date, datetime

from services.treatment import clock
from services.treatment.settings import TreatmentSettings
from shared.service import POOL
from tests.support import eventually
from tests.treatment.conftest import BODY, deliver, validated_event

NOW = datetime(2026, 6, 15, 9, tzinfo=UTC)
FOCAL = "pf@budget.ci"


async def test_the_clock_reminds_the_focal_point_and_the_statistics_count_the_late(
    stack, smtp_server
):
    treatment = stack.apps["treatment"].app[POOL]
    notify = stack.apps["notify"].app[POOL]
    await notify.execute(
        """INSERT INTO staff_recipients (account_id, login, display_name, email, role, body_id)
           VALUES ('pf-1', 'pf.budget', 'Koffi Yao', $1, 'focal_point', $2)""",
        FOCAL,
        BODY,
    )
    waiting = validated_event(decided_at=datetime(2026, 6, 5, 9, tzinfo=UTC))
    late = validated_event(decided_at=datetime(2026, 5, 4, 9, tzinfo=UTC))
    for event in (waiting, late):
        assert await deliver(treatment, event)
    await treatment.execute(
        "UPDATE treatments SET answer_due = $2, assignee_id = 'pf-1' WHERE code = $1",
        late.code,
        date(2026, 6, 11),
    )

    # Two sweeps (a restart, another copy): each reminder and the escalation once.
    for _ in range(2):
        await clock.sweep(treatment, TreatmentSettings(), NOW)

    mails = await smtp_server.wait_for(FOCAL, count=2)
    subjects = sorted(str(m["Subject"]) for m in mails)
    assert any(waiting.code in s and "prendre en compte" in s for s in subjects), subjects
    assert any(late.code in s and "sans réponse" in s for s in subjects), subjects

    stats = stack.apps["stats"].app[POOL]

    async def counted():
        return await stats.fetch("SELECT request_id, answer_due, body_id FROM deadline_misses")

    [missed] = await eventually(counted)
    assert (missed["request_id"], missed["answer_due"], missed["body_id"]) == (
        late.request_id,
        date(2026, 6, 11),
        BODY,
    )
    met = await stats.fetchval("SELECT count(*) FROM deadline_answers")
    assert met == 0

    async def all_sent() -> bool:
        return not await notify.fetchval("SELECT count(*) FROM deliveries WHERE status = 'pending'")

    await eventually(all_sent)
    assert len(smtp_server.to(FOCAL)) == 2
