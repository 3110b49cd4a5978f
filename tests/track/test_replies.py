"""The citizen's reply to the body's answer at intake (``POST /tracking/opinion``, ``POST
/tracking/reopen``): checked with the code and the email and throttled like a look-up, allowed by
the life cycle's table only on a treated request, recorded once per answer with its event in the
outbox (one transaction), shown on the tracking view until treatment's event arrives; and the
answer's documents kept in the view from request.treated and request.citizen_answered."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.intake.app import create_app as intake_app
from services.intake.settings import IntakeSettings
from shared import french, lifecycle
from shared.messages import (
    Channel,
    CitizenOpinionRecordedV2,
    CitizenReopeningRecordedV2,
    CitizenReply,
    DocumentRef,
    Opinion,
    RequestCitizenAnsweredV1,
    RequestCitizenReplyRefusedV1,
    RequestClosedV1,
    RequestOpinionGivenV1,
    RequestReopenedV1,
    RequestTreatedV1,
)
from tests.support import RunningApp, signed_session
from tests.track.test_treatment_events import FOCAL_POINT, Intake
from tests.treatment.conftest import BODY, validated_event

PDF = DocumentRef(
    document_id=uuid.uuid4(), filename="reponse.pdf", content_type="application/pdf", size=2048
)


@pytest.fixture
async def intake(settings_for) -> AsyncIterator[Intake]:
    # Limits no test of the flows reaches; the throttling test starts its own.
    settings = settings_for(
        IntakeSettings, db_pool_min=1, tracking_per_code=100, tracking_per_email=100
    )
    async with RunningApp(intake_app(settings)) as running:
        yield Intake(running)


async def _post(intake: Intake, path: str, payload: dict) -> tuple[int, dict, Any]:
    async with signed_session() as http, http.post(intake.url + path, json=payload) as resp:
        return resp.status, await resp.json(), resp.headers


async def _treated(
    intake: Intake, *, documents: list[DocumentRef] | None = None
) -> tuple[uuid.UUID, str, str, datetime]:
    """A réclamation validated then answered by the body; (request id, code, email, answer's
    date)."""
    request_id, code, email = await intake.submit()
    start = datetime.now(UTC)
    await intake.deliver(
        validated_event(request_id=request_id, code=code, decided_at=start), uuid.uuid4()
    )
    at = start + timedelta(seconds=1)
    await intake.deliver(
        RequestTreatedV1(
            request_id=request_id,
            code=code,
            body_id=BODY,
            message="Votre dossier est réglé : le virement est parti.",
            documents=documents or [],
            actor=FOCAL_POINT,
            treated_at=at,
        ),
        uuid.uuid4(),
    )
    return request_id, code, email, at


async def _outbox(intake: Intake, request_id: uuid.UUID) -> list[tuple[str, dict]]:
    rows = await intake.pool.fetch(
        """SELECT o.routing_key, o.body FROM outbox o
           JOIN citizen_replies c ON c.id = o.message_id
           WHERE c.request_id = $1 ORDER BY o.id""",
        request_id,
    )
    return [(r["routing_key"], json.loads(r["body"])) for r in rows]


async def test_an_opinion_is_recorded_with_its_event_and_shown_until_treatment_judges_it(intake):
    request_id, code, email, treated_at = await _treated(intake, documents=[PDF])
    view = await intake.view(code, email)
    assert view["can_give_opinion"] and view["can_reopen"]
    assert view["answer"]["message"] == "Votre dossier est réglé : le virement est parti."
    assert view["answer"]["treated_day"] == french.day(treated_at)
    assert [d["filename"] for d in view["answer"]["documents"]] == ["reponse.pdf"]
    assert view["answer"]["documents"][0]["size_label"] == "2 Ko"
    assert [d["document_id"] for d in view["documents"]] == [str(PDF.document_id)]

    status, body, _ = await _post(
        intake,
        "/tracking/opinion",
        {"code": code, "email": email, "opinion": "not_satisfied", "comment": " Trop lent. "},
    )
    assert status == 202, body
    assert body["message"].startswith("Votre avis a été enregistré")
    assert body["view"]["pending_reply"]["kind"] == "opinion"
    assert body["view"]["pending_reply"]["sentence"].startswith("Votre avis a été enregistré le ")
    assert not body["view"]["can_give_opinion"] and not body["view"]["can_reopen"]
    # The banner no longer asks for the opinion just given.
    assert body["view"]["banner"] == lifecycle.CITIZEN_REPLY_BANNERS["opinion"]
    assert "Donnez votre avis" not in body["view"]["banner"]
    [(key, event)] = await _outbox(intake, request_id)
    assert key == CitizenOpinionRecordedV2.name
    recorded = CitizenOpinionRecordedV2.model_validate(event)
    assert (recorded.code, recorded.body_id) == (code, BODY)
    # The citizen's own, on the web: no operator took it (treatment's history reads as ever).
    assert (recorded.channel, recorded.operator) == (Channel.WEB, None)
    assert (recorded.opinion, recorded.comment) == (Opinion.NOT_SATISFIED, "Trop lent.")

    # A second opinion, or a reopening, of the same answer: refused, nothing more written.
    for path, extra in (
        ("/tracking/opinion", {"opinion": "satisfied"}),
        ("/tracking/reopen", {"message": "Rien reçu."}),
    ):
        status, body, _ = await _post(intake, path, {"code": code, "email": email, **extra})
        assert (status, body["error"]) == (409, "already_given"), path
        assert body["message"] and body["view"]["code"] == code
    assert len(await _outbox(intake, request_id)) == 1

    # Treatment's judgement arrives: the request is closed with that opinion, no pending note.
    await intake.deliver(
        RequestOpinionGivenV1(
            request_id=request_id,
            code=code,
            body_id=BODY,
            opinion=Opinion.NOT_SATISFIED,
            comment="Trop lent.",
            given_at=treated_at + timedelta(minutes=1),
        ),
        uuid.uuid4(),
    )
    view = await intake.view(code, email)
    assert view["status_label"] == "Clôturée — Non satisfait"
    assert view["pending_reply"] is None and not view["can_give_opinion"]
    status, body, _ = await _post(
        intake, "/tracking/opinion", {"code": code, "email": email, "opinion": "satisfied"}
    )
    assert (status, body["error"]) == (409, "already_given")

    # « Répondre à l'usager »: the later message and its document are kept for reading.
    later = DocumentRef(
        document_id=uuid.uuid4(), filename="precisions.png", content_type="image/png", size=900
    )
    await intake.deliver(
        RequestCitizenAnsweredV1(
            request_id=request_id,
            code=code,
            body_id=BODY,
            message="Nous nous excusons du délai.",
            documents=[later],
            actor=FOCAL_POINT,
            answered_at=treated_at + timedelta(minutes=2),
        ),
        uuid.uuid4(),
    )
    view = await intake.view(code, email)
    assert [m["message"] for m in view["later_messages"]] == ["Nous nous excusons du délai."]
    assert view["later_messages"][0]["documents"][0]["filename"] == "precisions.png"
    assert {d["document_id"] for d in view["documents"]} == {
        str(PDF.document_id),
        str(later.document_id),
    }


async def test_reopening_is_unlimited_once_per_answer(intake):
    request_id, code, email, treated_at = await _treated(intake)
    for round_ in range(2):
        status, body, _ = await _post(
            intake, "/tracking/reopen", {"code": code, "email": email, "message": "Rien reçu."}
        )
        assert status == 202, body
        assert body["message"].startswith("Votre requête a été relancée")
        assert body["view"]["pending_reply"]["sentence"].startswith(
            "Votre relance a été enregistrée le "
        )
        assert body["view"]["banner"] == lifecycle.CITIZEN_REPLY_BANNERS["reopening"]
        status, body, _ = await _post(
            intake, "/tracking/reopen", {"code": code, "email": email, "message": "Encore."}
        )
        assert (status, body["error"]) == (409, "already_reopened")
        # Treatment reopens it: no opinion until the new answer.
        reopened_at = treated_at + timedelta(minutes=10 * round_ + 1)
        await intake.deliver(
            RequestReopenedV1(
                request_id=request_id,
                code=code,
                body_id=BODY,
                message="Rien reçu.",
                reopened_at=reopened_at,
            ),
            uuid.uuid4(),
        )
        status, body, _ = await _post(
            intake, "/tracking/opinion", {"code": code, "email": email, "opinion": "satisfied"}
        )
        assert (status, body["error"]) == (409, "already_reopened")
        treated_at = reopened_at + timedelta(minutes=1)
        await intake.deliver(
            RequestTreatedV1(
                request_id=request_id,
                code=code,
                body_id=BODY,
                message=f"Réponse n° {round_ + 2}.",
                actor=FOCAL_POINT,
                treated_at=treated_at,
            ),
            uuid.uuid4(),
        )
        view = await intake.view(code, email)
        assert view["can_reopen"] and view["pending_reply"] is None
        assert view["answer"]["message"] == f"Réponse n° {round_ + 2}."
    events = await _outbox(intake, request_id)
    assert [key for key, _ in events] == [CitizenReopeningRecordedV2.name] * 2
    assert {CitizenReopeningRecordedV2.model_validate(e).channel for _, e in events} == {"web"}


async def test_refusals(intake):
    # Not answered yet: 409 not_answered, with the view.
    request_id, code, email = await intake.submit()
    await intake.deliver(
        validated_event(request_id=request_id, code=code, decided_at=datetime.now(UTC)),
        uuid.uuid4(),
    )
    status, body, _ = await _post(
        intake, "/tracking/opinion", {"code": code, "email": email, "opinion": "satisfied"}
    )
    assert (status, body["error"]) == (409, "not_answered")
    assert body["view"]["code"] == code and not body["view"]["can_give_opinion"]
    status, body, _ = await _post(
        intake, "/tracking/reopen", {"code": code, "email": email, "message": "Alors ?"}
    )
    assert (status, body["error"]) == (409, "not_answered")

    request_id, code, email, _ = await _treated(intake)
    # A wrong email: the very answer of the look-up.
    status, wrong, _ = await _post(
        intake, "/tracking/opinion", {"code": code, "email": "x@example.ci", "opinion": "satisfied"}
    )
    status_lookup, lookup, _ = await _post(
        intake, "/tracking", {"code": code, "email": "x@example.ci"}
    )
    assert (status, wrong) == (status_lookup, lookup) == (404, lookup)
    # Fields: a bad opinion, an oversized comment, an empty reopening message.
    status, body, _ = await _post(
        intake,
        "/tracking/opinion",
        {"code": code, "email": email, "opinion": "ravi", "comment": "x" * 5001},
    )
    assert (status, body["error"]) == (422, "validation_failed")
    assert {e["field"] for e in body["errors"]} == {"opinion", "comment"}
    assert body["view"]["can_give_opinion"]
    status, body, _ = await _post(
        intake, "/tracking/reopen", {"code": code, "email": email, "message": "  "}
    )
    assert (status, body["error"]) == (422, "validation_failed")
    assert [e["field"] for e in body["errors"]] == ["message"]
    assert await _outbox(intake, request_id) == []


async def test_replies_are_throttled_like_a_look_up(settings_for):
    settings = settings_for(IntakeSettings, db_pool_min=1, tracking_per_code=2)
    async with RunningApp(intake_app(settings)) as running:
        intake = Intake(running)
        _, code, _, _ = await _treated(intake)
        # Failures count (a wrong email for the code), as for a look-up.
        payload = {"code": code, "email": "pas.moi@example.ci", "opinion": "satisfied"}
        for _ in range(2):
            status, _, _ = await _post(intake, "/tracking/opinion", payload)
            assert status == 404
        status, body, headers = await _post(intake, "/tracking/opinion", payload)
        assert (status, body["error"]) == (429, "throttled")
        assert int(headers["Retry-After"]) == body["retry_after"] > 0
        assert body["message"].startswith("Trop de tentatives")


async def test_an_opinion_treatment_refused_is_told_in_the_history_status_unchanged(intake):
    """Treatment's clock closed the request « sans retour » before the opinion reached it:
    request.citizen_reply_refused adds the sentence to the history; still « sans retour »."""
    request_id, code, email, treated_at = await _treated(intake)
    status, body, _ = await _post(
        intake, "/tracking/opinion", {"code": code, "email": email, "opinion": "satisfied"}
    )
    assert status == 202, body
    recorded_at = datetime.fromisoformat(body["view"]["pending_reply"]["recorded_at"])
    closed_at = treated_at + timedelta(days=31)
    await intake.deliver(
        RequestClosedV1(request_id=request_id, code=code, body_id=BODY, closed_at=closed_at),
        uuid.uuid4(),
    )
    reason = f"la requête avait été clôturée sans retour le {french.day(closed_at)}"
    refused = RequestCitizenReplyRefusedV1(
        request_id=request_id,
        code=code,
        body_id=BODY,
        reply=CitizenReply.OPINION,
        reason=reason,
        recorded_at=recorded_at,
        refused_at=closed_at + timedelta(minutes=1),
    )
    message_id = uuid.uuid4()
    await intake.deliver(refused, message_id)
    await intake.deliver(refused, message_id)  # a redelivery: nothing more

    view = await intake.view(code, email)
    sentence = f"Votre avis du {french.day(recorded_at)} n'a pas pu être pris en compte : {reason}."
    assert [line["label"] for line in view["history"]].count(sentence) == 1
    assert view["history"][-1]["label"] == sentence
    assert view["history"][-1]["status"] == "closed"
    assert (view["status"], view["status_label"]) == ("closed", "Clôturée sans retour")
    assert view["pending_reply"] is None and not view["can_give_opinion"]
