"""The body's events (treatment's) in the citizen's tracking view: each moves « Niveau
d'avancement » as the life cycle's table says and adds its dated line in the guide's words; a
reassignment shows nothing; an event delivered twice is applied once; and treatment's own
events reach intake over the broker, both services running."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from services.intake import handlers
from services.intake.app import SPEC as intake_spec
from services.intake.app import create_app as intake_app
from services.intake.settings import IntakeSettings
from services.intake.tracking import store
from services.treatment import actions
from shared import french, inbox
from shared.consumer import Delivery
from shared.lifecycle import CITIZEN_LABELS, Status
from shared.messages import (
    Actor,
    AnswerDueSetV1,
    Opinion,
    RequestAssignedV1,
    RequestCitizenAnsweredV1,
    RequestClosedV1,
    RequestOpinionGivenV1,
    RequestPutOnHoldV1,
    RequestReassignedV1,
    RequestReopenedV1,
    RequestResumedV1,
    RequestTreatedV1,
)
from shared.service import POOL
from shared.working_days import calendar, day_of
from tests.front.conftest import submission_fields
from tests.support import RunningApp, delivery_of, eventually, publish_event, signed_session
from tests.treatment.conftest import (
    AGENT,
    BODY,
    treatment,  # noqa: F401  (the fixture)
    validated_event,
)

FOCAL_POINT = Actor(staff_id=AGENT.staff_id, role=AGENT.role.value, body_id=BODY)


class Intake:
    """Intake running; requests submitted to it as the gateway does, events applied to it as its
    consumer does (inbox claim and handler, one transaction)."""

    def __init__(self, running: RunningApp) -> None:
        self.url, self.pool = running.url, running.app[POOL]

    async def submit(self) -> tuple[uuid.UUID, str, str]:
        """(request id, code, email) of a new réclamation."""
        fields = submission_fields()
        async with signed_session() as http, http.post(self.url + "/requests", json=fields) as r:
            body = await r.json()
            assert r.status == 201, body
        request_id = await self.pool.fetchval(
            "SELECT id FROM requests WHERE code = $1", body["code"]
        )
        return request_id, body["code"], fields["contact"]["email"]

    async def deliver(self, event, message_id: uuid.UUID) -> bool:
        """False when the inbox had the message already."""
        delivery = Delivery(
            message_id=message_id,
            message_type=event.type_name(),
            routing_key=event.name,
            correlation_id=None,
            reply_to=None,
        )
        async with self.pool.acquire() as conn, conn.transaction():
            if not await inbox.claim(conn, delivery.message_id, delivery.message_type):
                return False
            await handlers.HANDLERS[event.type_name()](conn, event, delivery)
        return True

    async def view(self, code: str, email: str) -> dict[str, Any]:
        async with self.pool.acquire() as conn:
            found = await store.find(conn, code, store.Who.by_email(email))
        assert found is not None
        return found


@pytest.fixture
async def intake(settings_for) -> AsyncIterator[Intake]:
    async with RunningApp(intake_app(settings_for(IntakeSettings, db_pool_min=1))) as running:
        yield Intake(running)


@pytest.fixture
async def intake_db(database_url) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(database_url, server_settings={"search_path": "intake,public"})
    yield conn
    await conn.close()


def _lines(view: dict) -> list[str]:
    return [h["label"] for h in view["history"]]


async def test_each_body_event_moves_the_label_adds_its_line_and_counts_once(intake):
    request_id, code, email = await intake.submit()
    start = datetime.now(UTC)
    validated = validated_event(request_id=request_id, code=code, decided_at=start)
    assert await intake.deliver(validated, uuid.uuid4())
    ids = {"request_id": request_id, "code": code, "body_id": BODY}
    at = iter(start + timedelta(minutes=n) for n in range(1, 100))
    treated_at = start + timedelta(minutes=5)  # the fifth step; the second answer is that day too
    # (event, « Niveau d'avancement » after it, the line it adds — None: no line)
    steps = [
        (
            RequestAssignedV1(**ids, assignee_id="fp-1", actor=FOCAL_POINT, assigned_at=next(at)),
            CITIZEN_LABELS[Status.IN_TREATMENT],
            "Le point focal de l'organisme a pris en charge la requête.",
        ),
        (
            RequestReassignedV1(
                **ids,
                assignee_id="fp-2",
                previous_assignee_id="fp-1",
                actor=FOCAL_POINT,
                reassigned_at=next(at),
            ),
            CITIZEN_LABELS[Status.IN_TREATMENT],
            None,
        ),
        (
            RequestPutOnHoldV1(
                **ids, reason="Pièces demandées au service", actor=FOCAL_POINT, held_at=next(at)
            ),
            CITIZEN_LABELS[Status.ON_HOLD],
            "L'organisme a mis la requête en attente (voir le motif).",
        ),
        (
            RequestResumedV1(**ids, actor=FOCAL_POINT, resumed_at=next(at)),
            CITIZEN_LABELS[Status.IN_TREATMENT],
            "L'organisme a repris le traitement de la requête.",
        ),
        (
            RequestTreatedV1(
                **ids, message="Votre dossier est traité.", actor=FOCAL_POINT, treated_at=next(at)
            ),
            f"Traité le {french.day(treated_at)}",
            f"Traité le {french.day(treated_at)} : le ministère a répondu ; lisez son message "
            "de traitement et donnez votre avis.",
        ),
        (
            RequestReopenedV1(**ids, message="Toujours rien reçu.", reopened_at=next(at)),
            CITIZEN_LABELS[Status.REOPENED],
            "Vous avez relancé la requête pour un nouveau traitement (retraitement).",
        ),
        (
            RequestTreatedV1(
                **ids, message="Le virement est parti.", actor=FOCAL_POINT, treated_at=next(at)
            ),
            f"Traité le {french.day(treated_at)}",
            f"Traité le {french.day(treated_at)} : le ministère a répondu ; lisez son message "
            "de traitement et donnez votre avis.",
        ),
        (
            RequestOpinionGivenV1(
                **ids, opinion=Opinion.NOT_SATISFIED, comment="Trop tard.", given_at=next(at)
            ),
            "Clôturée — Non satisfait",
            "Vous avez donné votre avis sur le service reçu : Non satisfait.",
        ),
        (
            RequestCitizenAnsweredV1(
                **ids, message="Nous nous excusons.", actor=FOCAL_POINT, answered_at=next(at)
            ),
            "Clôturée — Non satisfait",
            "Le ministère vous a envoyé un nouveau message.",
        ),
    ]
    for event, label, line in steps:
        before = await intake.view(code, email)
        message_id = uuid.uuid4()
        assert await intake.deliver(event, message_id)
        after = await intake.view(code, email)
        assert after["status_label"] == label, event.name
        added = _lines(after)[len(_lines(before)) :]
        assert added == ([line] if line else []), event.name
        if line:
            assert after["history"][-1]["day"] == french.day(after["history"][-1]["at"])
        # Delivered twice: the inbox has it, nothing changes.
        assert not await intake.deliver(event, message_id)
        assert await intake.view(code, email) == after
        # Even applied again past the inbox (its row lost), the line is not written twice.
        delivery = Delivery(message_id, event.type_name(), event.name, None, None)
        async with intake.pool.acquire() as conn, conn.transaction():
            await handlers.HANDLERS[event.type_name()](conn, event, delivery)
        assert await intake.view(code, email) == after

    view = await intake.view(code, email)
    # The latest answer is the one « LECTURE DU MESSAGE DE TRAITEMENT » reads.
    assert view["ministry_message"] == "Le virement est parti."
    assert view["citizen_opinion"] == "Non satisfait"
    assert view["closed"] and view["step"] == 4
    details = {h["label"]: h["detail"] for h in view["history"]}
    assert details["L'organisme a mis la requête en attente (voir le motif)."] == (
        "Pièces demandées au service"
    )
    assert details["Le ministère vous a envoyé un nouveau message."] == "Nous nous excusons."


async def test_no_opinion_in_time_closes_without_return(intake):
    request_id, code, email = await intake.submit()
    start = datetime.now(UTC)
    await intake.deliver(
        validated_event(request_id=request_id, code=code, decided_at=start), uuid.uuid4()
    )
    ids = {"request_id": request_id, "code": code, "body_id": BODY}
    await intake.deliver(
        RequestTreatedV1(
            **ids,
            message="Traité",
            actor=FOCAL_POINT,
            treated_at=start + timedelta(minutes=1),
        ),
        uuid.uuid4(),
    )
    closed = RequestClosedV1(**ids, closed_at=start + timedelta(days=15))
    message_id = uuid.uuid4()
    assert await intake.deliver(closed, message_id)
    assert not await intake.deliver(closed, message_id)
    view = await intake.view(code, email)
    assert view["status_label"] == "Clôturée sans retour"
    assert view["citizen_opinion"] is None
    assert _lines(view)[-1] == "La requête est clôturée sans retour de votre part."
    assert _lines(view).count(_lines(view)[-1]) == 1


async def test_an_answer_older_than_the_opinion_is_still_the_one_to_read(intake):
    """Events in arrival order: an opinion before the answer it judges keeps the request closed,
    and the late answer is still kept for reading."""
    request_id, code, email = await intake.submit()
    start = datetime.now(UTC)
    await intake.deliver(
        validated_event(request_id=request_id, code=code, decided_at=start), uuid.uuid4()
    )
    ids = {"request_id": request_id, "code": code, "body_id": BODY}
    opinion = RequestOpinionGivenV1(
        **ids, opinion=Opinion.SATISFIED, given_at=start + timedelta(minutes=2)
    )
    treated = RequestTreatedV1(
        **ids, message="Réglé.", actor=FOCAL_POINT, treated_at=start + timedelta(minutes=1)
    )
    await intake.deliver(opinion, uuid.uuid4())
    await intake.deliver(treated, uuid.uuid4())
    view = await intake.view(code, email)
    assert view["status_label"] == "Clôturée — Satisfait"
    assert view["ministry_message"] == "Réglé."
    assert [h["event"] for h in view["history"]][-2:] == [
        "request.treated",
        "request.opinion_given",
    ]


async def test_the_bodys_events_reach_the_tracking_view_over_the_broker(
    intake,
    treatment,  # noqa: F811
    amqp_url,
    namespace,
    intake_db,
):
    """No handler called by hand: the analysts' validation goes over the broker to both, the
    focal point's actions leave treatment through its outbox and reach intake."""
    request_id, code, email = await intake.submit()
    validated = validated_event(request_id=request_id, code=code)
    await publish_event(amqp_url, namespace, validated)
    await eventually(lambda: treatment.row(code))

    async def line(event_type: str):
        return await intake_db.fetchval(
            "SELECT true FROM request_history WHERE request_id = $1 AND event_type = $2",
            request_id,
            event_type,
        )

    await eventually(lambda: line("request.validated"))
    who = actions.Who(AGENT, "10.0.0.7")
    await actions.take_in_charge(treatment.pool, code, who, version=1)
    await actions.put_on_hold(treatment.pool, code, who, reason="Pièces demandées", version=2)
    await eventually(lambda: line("request.put_on_hold"))
    view = await intake.view(code, email)
    assert view["status_label"] == CITIZEN_LABELS[Status.ON_HOLD]
    assert _lines(view)[-2:] == [
        "Le point focal de l'organisme a pris en charge la requête.",
        "L'organisme a mis la requête en attente (voir le motif).",
    ]
    assert view["history"][-1]["detail"] == "Pièces demandées"


async def test_the_answer_deadline_is_shown_while_awaited_and_a_late_older_move_is_ignored(intake):
    request_id, code, email = await intake.submit()
    start = datetime.now(UTC)
    await intake.deliver(
        validated_event(request_id=request_id, code=code, decided_at=start), uuid.uuid4()
    )
    ids = {"request_id": request_id, "code": code, "body_id": BODY}
    first = AnswerDueSetV1(**ids, answer_due=date(2027, 3, 1), set_at=start)
    moved = AnswerDueSetV1(**ids, answer_due=date(2027, 3, 4), set_at=start + timedelta(minutes=2))
    await intake.deliver(moved, uuid.uuid4())
    await intake.deliver(first, uuid.uuid4())  # older, arriving late: ignored
    view = await intake.view(code, email)
    assert view["answer_due"] == {"at": "2027-03-04", "day": french.day(date(2027, 3, 4)),
                                  "paused": False}  # fmt: skip
    hold = RequestPutOnHoldV1(
        **ids, reason="Pièces", actor=FOCAL_POINT, held_at=start + timedelta(minutes=3)
    )
    await intake.deliver(hold, uuid.uuid4())
    assert (await intake.view(code, email))["answer_due"]["paused"] is True
    treated = RequestTreatedV1(
        **ids, message="Réglé.", actor=FOCAL_POINT, treated_at=start + timedelta(minutes=4)
    )
    await intake.deliver(treated, uuid.uuid4())
    assert (await intake.view(code, email))["answer_due"] is None  # answered: nothing awaited


async def test_the_answer_deadline_reaches_the_tracking_view_over_the_broker(
    intake,
    treatment,  # noqa: F811
    amqp_url,
    namespace,
):
    """Treatment sets the deadline when the request arrives (its outbox), intake shows it."""
    request_id, code, email = await intake.submit()
    validated = validated_event(request_id=request_id, code=code)
    await publish_event(amqp_url, namespace, validated)
    row = await eventually(lambda: treatment.row(code))

    async def shown():
        return (await intake.view(code, email))["answer_due"]

    due = await eventually(shown)
    assert due["at"] == row["answer_due"].isoformat()
    assert due["day"] == french.day(calendar().add(day_of(validated.decided_at), 60))


async def test_an_older_event_waiting_for_the_lock_of_a_newer_one_does_not_undo_it(
    intake, database_url
):
    """Two copies of intake apply one request's events at once: the validation waits for the
    request's lock while the other copy applies the answer that came after it. Once it has the
    lock it must see that answer, and leave the request answered."""
    request_id, code, email = await intake.submit()
    start = datetime.now(UTC)
    validated = validated_event(request_id=request_id, code=code, decided_at=start)
    answer = RequestTreatedV1(
        request_id=request_id,
        code=code,
        body_id=BODY,
        message="Réglé.",
        actor=FOCAL_POINT,
        treated_at=start + timedelta(minutes=5),
    )
    first, second = [
        await asyncpg.connect(database_url, server_settings={"search_path": "intake,public"})
        for _ in range(2)
    ]
    try:
        answering = first.transaction()
        await answering.start()
        await handlers.on_treated(first, answer, delivery_of(answer))

        async def late_validation() -> None:
            async with second.transaction():
                await handlers.HANDLERS[validated.type_name()](
                    second, validated, delivery_of(validated)
                )

        waiting = asyncio.create_task(late_validation())

        async def blocked() -> bool:
            return await intake.pool.fetchval(
                """SELECT EXISTS (SELECT 1 FROM pg_stat_activity
                                  WHERE pid = $1 AND wait_event_type = 'Lock')""",
                second.get_server_pid(),
            )

        await eventually(blocked)
        await answering.commit()
        await waiting
    finally:
        await first.close()
        await second.close()
    assert (await intake.view(code, email))["status"] == Status.TREATED.value


async def _waiting_on_a_lock(pool, conn: asyncpg.Connection) -> bool:
    return await pool.fetchval(
        "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1",
        conn.get_server_pid(),
    )


async def _done_or_waiting(task, pool, conn):
    return task.done() or await _waiting_on_a_lock(pool, conn)


async def _apply(conn: asyncpg.Connection, event) -> None:
    """``event`` applied as the consumer's batch does, inside the caller's transaction."""
    delivery = delivery_of(event)
    assert await inbox.claim(conn, delivery.message_id, delivery.message_type)
    await handlers.HANDLERS[event.type_name()](conn, event, delivery)


async def test_two_copies_applying_one_requests_events_at_once_wait_in_turn_not_in_a_cycle(
    intake,
):
    """Two copies of intake, each with a batch about one request: copy 1's sets the answer
    deadline then applies the answer, copy 2's puts it on hold. Before, copy 1's
    batch wrote the request's tracking row first (the deadline) and its request row after (the
    answer), copy 2's the other way round: PostgreSQL broke the cycle by failing one batch,
    retried (the two-copies test saw « DeadlockDetected » in intake's log)."""
    request_id, code, email = await intake.submit()
    start = datetime.now(UTC)
    await intake.deliver(
        validated_event(request_id=request_id, code=code, decided_at=start), uuid.uuid4()
    )
    ids = {"request_id": request_id, "code": code, "body_id": BODY}
    due = AnswerDueSetV1(**ids, answer_due=date(2027, 3, 1), set_at=start)
    treated = RequestTreatedV1(
        **ids, message="Réglé.", actor=FOCAL_POINT, treated_at=start + timedelta(minutes=2)
    )
    held = RequestPutOnHoldV1(
        **ids, reason="Pièces", actor=FOCAL_POINT, held_at=start + timedelta(minutes=1)
    )
    pool = intake.pool
    async with pool.acquire() as one, pool.acquire() as two:
        async with one.transaction():
            await intake_spec.lock_first(one, [due, treated])
            await _apply(one, due)

            async def other_copy() -> None:
                async with two.transaction():
                    await intake_spec.lock_first(two, [held])
                    await _apply(two, held)

            applying = asyncio.create_task(other_copy())
            await eventually(lambda: _done_or_waiting(applying, pool, two))
            await _apply(one, treated)
        await applying
    view = await intake.view(code, email)
    assert view["status"] == Status.TREATED  # the answer came after the hold
