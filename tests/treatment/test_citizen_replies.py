"""The citizen's replies, as intake forwards them (citizen.opinion_recorded,
citizen.reopening_recorded): applied once however often delivered, waiting in treatment's queue
while treatment is down, and a reply the state no longer allows recorded as refused and
acknowledged, never retried."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

from services.treatment import actions, clock, purge
from services.treatment.app import create_app
from services.treatment.settings import TreatmentSettings
from shared import french
from shared.citizen_replies import refused_sentence
from shared.lifecycle import BODY_BY_PHONE_LABELS, BODY_EVENT_LABELS, Event
from shared.messages import (
    CallCentreOperator,
    Channel,
    CitizenOpinionRecordedV1,
    CitizenOpinionRecordedV2,
    CitizenReopeningRecordedV1,
    CitizenReopeningRecordedV2,
    CitizenReply,
    Opinion,
    RequestCitizenReplyRefusedV1,
    RequestPersonalDataPurgedV1,
)
from shared.service import POOL
from tests.support import RunningApp, dead_letters, eventually, publish_event
from tests.treatment.conftest import AGENT, BODY, OPERATOR, deliver, validated_event


def who() -> actions.Who:
    return actions.Who(AGENT, "10.0.0.7")


def opinion_of(event, opinion=Opinion.NOT_SATISFIED, comment="Toujours rien") -> object:
    return CitizenOpinionRecordedV1(
        request_id=event.request_id,
        code=event.code,
        body_id=BODY,
        opinion=opinion,
        comment=comment,
        recorded_at=datetime.now(UTC),
    )


def reopening_of(event, message="Rien n'a changé depuis la réponse.") -> object:
    return CitizenReopeningRecordedV1(
        request_id=event.request_id,
        code=event.code,
        body_id=BODY,
        message=message,
        recorded_at=datetime.now(UTC),
    )


# The call centre's operator who took a caller's reply (« Suivi d'un appel »), as intake says it.
BY_PHONE = {
    "channel": Channel.PHONE,
    "operator": CallCentreOperator(staff_id=OPERATOR.staff_id, login=OPERATOR.login),
}
TAKEN = {"channel": "phone", "operator_id": OPERATOR.staff_id, "operator_login": OPERATOR.login}


async def answered(pool) -> object:
    """A réclamation validated and answered by the body: it waits for the citizen's opinion."""
    event = validated_event()
    assert await deliver(pool, event)
    await actions.answer(pool, event.code, who(), message="Votre dossier est réglé.", version=1)
    return event


async def kinds(pool, code: str) -> list[str]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            """SELECT h.kind FROM history h JOIN treatments t USING (request_id)
               WHERE t.code = $1 ORDER BY h.id""",
            code,
        )
    return [r["kind"] for r in rows]


async def refused_lines(pool, code: str) -> list[dict]:
    """The request's history lines of the citizen's replies refused: message, details."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            """SELECT h.message, h.details::text, h.actor_role FROM history h
               JOIN treatments t USING (request_id)
               WHERE t.code = $1 AND h.kind = 'citizen_reply_refused' ORDER BY h.id""",
            code,
        )
    return [
        {"message": r["message"], "details": json.loads(r["details"]), "role": r["actor_role"]}
        for r in rows
    ]


async def refusals(pool, code: str) -> list[str]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            """SELECT detail FROM audit_log WHERE request_code = $1 AND outcome = 'refused'
               ORDER BY id""",
            code,
        )
    return [r["detail"] for r in rows]


async def test_treatment_stopped_while_a_citizen_gives_an_opinion_gets_it_when_back(
    settings_for, amqp_url, namespace
):
    settings = settings_for(TreatmentSettings, db_pool_min=1)
    async with RunningApp(create_app(settings)) as running:  # declares treatment's queue
        event = await answered(running.app[POOL])
    # Treatment is down: the citizen gives their opinion, intake's relay publishes it.
    await publish_event(amqp_url, namespace, opinion_of(event))

    async with RunningApp(create_app(settings)) as running:
        pool = running.app[POOL]

        async def closed():
            async with pool.acquire() as conn:
                row = await conn.fetchrow(
                    "SELECT status, opinion FROM treatments WHERE code = $1", event.code
                )
            return row if row["status"] == "closed" else None

        row = await eventually(closed)
        assert row["opinion"] == "not_satisfied"
        assert await kinds(pool, event.code) == [
            "validated",
            "assigned",
            "treated",
            "opinion_given",
        ]
        async with pool.acquire() as conn:
            published = await conn.fetchval(
                "SELECT count(*) FROM outbox WHERE message_type = 'request.opinion_given.v1'"
            )
            comment = await conn.fetchval(
                """SELECT o.comment FROM opinions o JOIN treatments t USING (request_id)
                   WHERE t.code = $1""",
                event.code,
            )
        assert published == 1
        assert comment == "Toujours rien"


async def test_an_opinion_delivered_twice_is_applied_once(treatment):
    event = await answered(treatment.pool)
    message_id = str(uuid.uuid4())
    recorded = opinion_of(event, Opinion.SATISFIED, None)
    for _ in range(2):  # a redelivery: the same message id
        await publish_event(
            treatment.amqp_url, treatment.namespace, recorded, message_id=message_id
        )

    async def closed():
        return (await treatment.row(event.code))["status"] == "closed"

    await eventually(closed)
    assert not await deliver(treatment.pool, recorded, uuid.UUID(message_id))
    assert await kinds(treatment.pool, event.code) == [
        "validated",
        "assigned",
        "treated",
        "opinion_given",
    ]
    assert await treatment.count("opinions", event.code) == 1
    assert (await treatment.outbox_types()).count("request.opinion_given.v1") == 1


async def test_a_reopening_delivered_twice_reopens_once(treatment):
    event = await answered(treatment.pool)
    recorded = reopening_of(event)
    message_id = uuid.uuid4()
    assert await deliver(treatment.pool, recorded, message_id)
    assert not await deliver(treatment.pool, recorded, message_id)
    row = await treatment.row(event.code)
    assert row["status"] == "reopened"
    assert await kinds(treatment.pool, event.code) == [
        "validated",
        "assigned",
        "treated",
        "reopened",
    ]
    assert await treatment.count("reopenings", event.code) == 1
    assert (await treatment.outbox_types()).count("request.reopened.v1") == 1


async def test_a_second_opinion_is_recorded_as_refused_and_acknowledged_not_retried(treatment):
    event = await answered(treatment.pool)
    assert await deliver(treatment.pool, opinion_of(event, Opinion.SATISFIED, None))
    before = dict(await treatment.row(event.code))

    # Through the broker: the consumer acknowledges it (nothing dead-lettered, no loop).
    second = opinion_of(event, Opinion.NOT_SATISFIED, "Finalement non")
    await publish_event(treatment.amqp_url, treatment.namespace, second)
    said = await eventually(lambda: refusals(treatment.pool, event.code))
    assert len(said) == 1 and "clôturée" in said[0].lower()
    assert dict(await treatment.row(event.code)) == before  # still « Satisfait »
    assert await treatment.count("opinions", event.code) == 1
    # The body reads it in the request's history; the row and its version are as they were.
    assert await kinds(treatment.pool, event.code) == [
        "validated",
        "assigned",
        "treated",
        "opinion_given",
        "citizen_reply_refused",
    ]
    [line] = await refused_lines(treatment.pool, event.code)
    assert line["message"] == "Finalement non"
    assert line["details"]["reason"] == (
        f"Avis « Non satisfait » du {french.day(second.recorded_at)} reçu après la clôture du "
        f"{french.day(before['closed_at'])} avec l'avis « Satisfait »."
    )
    queue = f"{treatment.namespace}.milie.treatment.dead-letter"
    assert await dead_letters(treatment.amqp_url, queue) == []


async def test_a_reply_the_state_no_longer_allows_is_refused_quietly(treatment):
    """A second « Relancer » while the request is reopened already, an opinion before the body
    answered the reopening: each is an audit line « refused », the request unchanged."""
    event = await answered(treatment.pool)
    assert await deliver(treatment.pool, reopening_of(event))
    assert await deliver(treatment.pool, reopening_of(event, "Et encore une fois."))
    assert (await treatment.row(event.code))["status"] == "reopened"
    assert await treatment.count("reopenings", event.code) == 1
    assert len(await refusals(treatment.pool, event.code)) == 1

    # An opinion on a request not answered yet: refused too, nothing closed.
    assert await deliver(treatment.pool, opinion_of(event))
    assert (await treatment.row(event.code))["status"] == "reopened"
    assert len(await refusals(treatment.pool, event.code)) == 2
    again, late = [
        line["details"]["reason"] for line in await refused_lines(treatment.pool, event.code)
    ]
    assert again.startswith("Relance du ")
    assert again.endswith(" reçue alors que la requête était déjà relancée (retraitement).")
    assert late.startswith("Avis « Non satisfait » du ")
    assert late.endswith(" reçu alors que la requête était déjà relancée (retraitement).")

    # A form read before the reopening: stale, and it names the reopening, not the refusals
    # (they did not move the request).
    try:
        await actions.take_in_charge(treatment.pool, event.code, who(), version=2)
    except actions.Conflict as conflict:
        assert conflict.extra["by"] == "l'usager"
        assert "(relancée par l'usager (retraitement))" in conflict.message
    else:
        raise AssertionError("a stale form was taken")


async def test_a_reply_to_an_unknown_request_is_refused_not_poison(treatment):
    stranger = validated_event()  # never delivered to treatment
    assert await deliver(treatment.pool, opinion_of(stranger))
    assert await refusals(treatment.pool, stranger.code) == [
        "Réponse de l'usager non appliquée : requête inconnue"
    ]
    assert await treatment.outbox(RequestCitizenReplyRefusedV1.type_name())  # told, no history


async def test_an_opinion_arriving_after_the_clock_closed_the_request_is_told_to_the_citizen(
    treatment,
):
    """The broker was down, or it was the last minute: the clock closed the request « sans
    retour » before the opinion intake recorded reached treatment. The refusal is audited as
    before and request.citizen_reply_refused (outbox, same transaction) tells the citizen."""
    event = await answered(treatment.pool)
    treated_at = (await treatment.row(event.code))["treated_at"]
    now = treated_at + timedelta(days=31)
    settings = TreatmentSettings(no_opinion_days=30, unused_document_hours=24)
    assert (await clock.sweep(treatment.pool, settings, now)).closed == [event.code]
    recorded = opinion_of(event, Opinion.SATISFIED, None)

    assert await deliver(treatment.pool, recorded)

    assert len(await refusals(treatment.pool, event.code)) == 1
    assert (await treatment.row(event.code))["status"] == "closed"
    [told] = await treatment.outbox(RequestCitizenReplyRefusedV1.type_name())
    refused = RequestCitizenReplyRefusedV1.model_validate(told)
    assert (refused.request_id, refused.code) == (event.request_id, event.code)
    assert refused.body_id == BODY
    assert refused.reply == CitizenReply.OPINION
    assert refused.recorded_at == recorded.recorded_at
    assert refused.reason == f"la requête avait été clôturée sans retour le {french.day(now)}"
    assert refused_sentence(refused.reply, refused.recorded_at, refused.reason) == (
        f"Votre avis du {french.day(recorded.recorded_at)} n'a pas pu être pris en compte : "
        f"la requête avait été clôturée sans retour le {french.day(now)}."
    )
    # In the same transaction, the line of the body's history, by the platform.
    assert await refused_lines(treatment.pool, event.code) == [
        {
            "message": None,  # no comment given
            "details": {
                "reply": "opinion",
                "opinion": "satisfied",
                "recorded_at": recorded.recorded_at.isoformat(),
                "reason": f"Avis « Satisfait » du {french.day(recorded.recorded_at)} reçu après "
                f"la clôture sans retour du {french.day(now)}.",
            },
            "role": "system",
        }
    ]


async def test_a_reopening_after_an_opinion_is_told_to_the_citizen(treatment):
    event = await answered(treatment.pool)
    assert await deliver(treatment.pool, opinion_of(event, Opinion.NOT_SATISFIED, None))
    assert await deliver(treatment.pool, reopening_of(event))
    [told] = await treatment.outbox(RequestCitizenReplyRefusedV1.type_name())
    assert told["reply"] == "reopening"
    assert told["reason"].startswith("la requête avait déjà été clôturée le ")
    assert told["reason"].endswith("avec votre avis « Non satisfait »")
    [line] = await refused_lines(treatment.pool, event.code)
    assert line["message"] == "Rien n'a changé depuis la réponse."
    assert line["details"]["reply"] == "reopening" and "opinion" not in line["details"]
    assert line["details"]["reason"].startswith("Relance du ")
    assert line["details"]["reason"].endswith("avec l'avis « Non satisfait ».")
    assert "reçue après la clôture du " in line["details"]["reason"]


async def test_an_opinion_given_before_the_last_answer_is_not_applied_to_it(treatment):
    """Two tabs: the citizen gives an opinion in one and « Relancer » in the other; the
    reopening comes first, the body answers again, then the opinion arrives. It judged the first
    answer: applied now, it would close the request on an answer the citizen has not read."""
    event = await answered(treatment.pool)
    stale = opinion_of(event, Opinion.SATISFIED, None)  # recorded now, delivered last
    assert await deliver(treatment.pool, reopening_of(event))
    version = (await treatment.row(event.code))["version"]
    await actions.answer(
        treatment.pool, event.code, who(), message="Voici la nouvelle réponse.", version=version
    )
    assert await deliver(treatment.pool, stale)
    row = await treatment.row(event.code)
    assert row["status"] == "treated" and row["opinion"] is None
    [told] = await treatment.outbox(RequestCitizenReplyRefusedV1.type_name())
    assert told["reply"] == "opinion"
    answered_again = french.day(row["treated_at"])
    assert told["reason"] == (
        f"l'organisme avait répondu de nouveau le {answered_again} : donnez votre avis sur "
        "cette nouvelle réponse"
    )
    assert await refusals(treatment.pool, event.code)
    [line] = await refused_lines(treatment.pool, event.code)
    assert line["details"]["reason"] == (
        f"Avis « Satisfait » du {french.day(stale.recorded_at)} envoyé avant la nouvelle réponse "
        f"de l'organisme du {answered_again} : il portait sur la réponse précédente."
    )


async def test_the_purge_erases_the_citizens_words_of_a_reply_refused(treatment):
    """The refused reply's line keeps the citizen's comment for the body: their personal data,
    erased with the rest a while after closure (request.personal_data_purged)."""
    event = await answered(treatment.pool)
    assert await deliver(treatment.pool, opinion_of(event, Opinion.SATISFIED, None))
    assert await deliver(treatment.pool, reopening_of(event, "Mme KOUASSI relance encore."))
    [line] = await refused_lines(treatment.pool, event.code)
    assert line["message"] == "Mme KOUASSI relance encore."
    purged = RequestPersonalDataPurgedV1(
        request_id=event.request_id, code=event.code, purged_at=datetime.now(UTC)
    )
    async with treatment.pool.acquire() as conn, conn.transaction():
        await purge.purge_requests(conn, [purged])
    [line] = await refused_lines(treatment.pool, event.code)
    assert line["message"] is None
    assert line["details"]["reason"].startswith("Relance du ")  # the body's own words stay


async def _last_line(treatment, code: str) -> dict:
    """The last line of the request's history as treatment serves it to the body's pages."""
    status, item = await treatment.api.get(f"/requests/{code}")
    assert status == 200, item
    line = item["history"][-1]
    return {k: line[k] for k in ("kind", "label", "actor_role", "details")}


async def _delivered_twice(treatment, recorded, status: str) -> None:
    """Publish ``recorded`` twice with one message id (a redelivery), through treatment's
    queue; wait for the request to reach ``status``; the inbox has the message id then."""
    message_id = str(uuid.uuid4())
    for _ in range(2):
        await publish_event(
            treatment.amqp_url, treatment.namespace, recorded, message_id=message_id
        )

    async def reached():
        return (await treatment.row(recorded.code))["status"] == status

    await eventually(reached)
    assert not await deliver(treatment.pool, recorded, uuid.UUID(message_id))


async def test_a_v1_reply_queued_before_the_upgrade_still_applies_once(treatment):
    """Intake published v1 before it published v2: a v1 still waiting in treatment's queue
    (delivered twice) closes the request once, and reads as the citizen's own reply."""
    event = await answered(treatment.pool)
    recorded = opinion_of(event, Opinion.PARTLY_SATISFIED, "Un peu lent")
    assert recorded.type_name() == "citizen.opinion_recorded.v1"
    await _delivered_twice(treatment, recorded, "closed")
    assert await _last_line(treatment, event.code) == {
        "kind": "opinion_given",
        "label": BODY_EVENT_LABELS[Event.OPINION_GIVEN],
        "actor_role": None,
        "details": {"opinion": "partly_satisfied"},
    }
    assert await treatment.count("opinions", event.code) == 1
    assert (await treatment.outbox_types()).count("request.opinion_given.v1") == 1


async def test_one_reply_under_both_versions_applies_once(treatment):
    """The inbox keys on the message id alone: the same reply (intake gives it its row's id)
    arriving as v1 and as v2 is applied by the first only."""
    event = await answered(treatment.pool)
    v1 = reopening_of(event)
    v2 = CitizenReopeningRecordedV2(**v1.model_dump(), **BY_PHONE)
    message_id = uuid.uuid4()
    assert await deliver(treatment.pool, v1, message_id)
    assert not await deliver(treatment.pool, v2, message_id)
    assert await treatment.count("reopenings", event.code) == 1
    assert (await _last_line(treatment, event.code))["details"] == {}


async def test_a_reply_taken_by_phone_applies_once_and_the_history_says_so(treatment):
    """v2: the caller's « Relancer » the call centre took (delivered twice) reopens the request
    once; the body's history line says it came by telephone through the call centre and keeps
    the operator; request.reopened is published once, as for the citizen's own."""
    event = await answered(treatment.pool)
    recorded = CitizenReopeningRecordedV2(
        request_id=event.request_id,
        code=event.code,
        body_id=BODY,
        message="Le montant ne correspond pas.",
        recorded_at=datetime.now(UTC),
        **BY_PHONE,
    )
    await _delivered_twice(treatment, recorded, "reopened")
    assert await _last_line(treatment, event.code) == {
        "kind": "reopened",
        "label": BODY_BY_PHONE_LABELS[Event.REOPENED],
        "actor_role": None,
        "details": TAKEN,
    }
    assert await treatment.count("reopenings", event.code) == 1
    assert (await treatment.outbox_types()).count("request.reopened.v1") == 1

    # A caller's opinion the state no longer allows (reopened, not answered): the refused line
    # keeps how it came too.
    opinion = CitizenOpinionRecordedV2(
        request_id=event.request_id,
        code=event.code,
        body_id=BODY,
        opinion=Opinion.SATISFIED,
        recorded_at=datetime.now(UTC),
        **BY_PHONE,
    )
    assert await deliver(treatment.pool, opinion)
    [line] = await refused_lines(treatment.pool, event.code)
    assert {k: line["details"][k] for k in TAKEN} == TAKEN
    assert line["details"]["reply"] == "opinion"
    assert (await treatment.row(event.code))["status"] == "reopened"


async def test_a_citizens_own_v2_reply_reads_as_before(treatment):
    event = await answered(treatment.pool)
    recorded = CitizenOpinionRecordedV2(
        request_id=event.request_id,
        code=event.code,
        body_id=BODY,
        opinion=Opinion.SATISFIED,
        recorded_at=datetime.now(UTC),
        channel=Channel.WEB,
    )
    assert await deliver(treatment.pool, recorded)
    assert await _last_line(treatment, event.code) == {
        "kind": "opinion_given",
        "label": BODY_EVENT_LABELS[Event.OPINION_GIVEN],
        "actor_role": None,
        "details": {"opinion": "satisfied", "channel": "web"},
    }


async def test_the_replys_own_id_comes_back_in_the_event_treatment_publishes(treatment):
    """Intake forwards a reply with its own id (``reply_id``, its citizen_replies row); the event
    treatment publishes of it (request.opinion_given, request.reopened) carries it back, so that
    intake links its history line to the reply by that id, never by a moment. A reply that did
    not say its id (v1, or v2 from before) publishes none."""
    reopened = await answered(treatment.pool)
    reply_id = uuid.uuid4()
    recorded = CitizenReopeningRecordedV2(
        **reopening_of(reopened).model_dump(), **BY_PHONE, reply_id=reply_id
    )
    assert await deliver(treatment.pool, recorded, reply_id)
    [published] = await treatment.outbox("request.reopened.v1")
    assert published["reply_id"] == str(reply_id)

    closed = await answered(treatment.pool)
    reply_id = uuid.uuid4()
    opinion = opinion_of(closed, Opinion.SATISFIED, None)
    recorded = CitizenOpinionRecordedV2(
        **opinion.model_dump(), channel=Channel.WEB, reply_id=reply_id
    )
    assert await deliver(treatment.pool, recorded, reply_id)
    # Without the id (v1): the event says none.
    assert await deliver(treatment.pool, opinion_of(await answered(treatment.pool)))
    given = await treatment.outbox("request.opinion_given.v1")
    assert [g.get("reply_id") for g in given] == [str(reply_id), None]
