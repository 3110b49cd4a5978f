"""A reply taken by telephone (« Suivi d'un appel ») at intake: the reply's own id goes to
treatment with it (citizen.*_recorded.v2 ``reply_id``) and comes back in the event treatment
publishes of it (request.opinion_given, request.reopened ``reply_id``); the history line keeps
it, and an operator's view names the operator who took the reply on that line by the id, never
by matching a moment. A line from before (no id) is still named by its moment. While treatment
has not applied the reply, the operator's view says who took it; the citizen's never does."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from services.intake.answers import PendingReply, Recorded
from services.intake.app import create_app as intake_app
from services.intake.settings import IntakeSettings
from shared.identity import Identity, Role
from shared.lifecycle import Event
from shared.messages import (
    CitizenOpinionRecordedV2,
    CitizenReopeningRecordedV2,
    Opinion,
    RequestOpinionGivenV1,
    RequestReopenedV1,
    RequestTreatedV1,
)
from tests.support import RunningApp, as_staff, signed_session
from tests.track.test_replies import _treated
from tests.track.test_treatment_events import FOCAL_POINT, Intake
from tests.treatment.conftest import BODY

OPERATOR = Identity(staff_id="op-7", role=Role.OPERATOR, login="aya.k")


@pytest.fixture
async def intake(settings_for) -> AsyncIterator[Intake]:
    # An operator's look-ups count per operator: limits no test here reaches.
    settings = settings_for(IntakeSettings, db_pool_min=1, tracking_per_code=100)
    async with RunningApp(intake_app(settings)) as running:
        yield Intake(running)


async def _post(
    intake: Intake, path: str, payload: dict, operator: Identity | None = None
) -> tuple[int, dict]:
    """A call to intake, by the citizen's page, or by ``operator`` for a caller (``phone``)."""
    headers = as_staff(operator, channel="phone") if operator else {}
    async with (
        signed_session() as http,
        http.post(intake.url + path, json=payload, headers=headers) as resp,
    ):
        return resp.status, await resp.json()


async def _reply(intake: Intake, code: str, email: str, operator: Identity | None, **said) -> dict:
    """A reply recorded at intake (an opinion, or a reopening with ``message``): its row."""
    path = "/tracking/reopen" if "message" in said else "/tracking/opinion"
    status, body = await _post(intake, path, {"code": code, "email": email, **said}, operator)
    assert status == 202, body
    return dict(
        await intake.pool.fetchrow(
            """SELECT c.id, c.recorded_at, c.kind FROM citizen_replies c
               JOIN requests r ON r.id = c.request_id
               WHERE r.code = $1 ORDER BY c.recorded_at DESC LIMIT 1""",
            code,
        )
    )


async def _operators_view(intake: Intake, code: str, email: str) -> dict[str, Any]:
    status, view = await _post(intake, "/tracking", {"code": code, "email": email}, OPERATOR)
    assert status == 200, view
    return view


def _named(view: dict) -> list[tuple[str, str | None]]:
    """(event, operator named) of the history's lines of the citizen's replies."""
    replies = (Event.OPINION_GIVEN, Event.REOPENED)
    return [(h["event"], h.get("operator_id")) for h in view["history"] if h["event"] in replies]


def _opinion_given(request_id, code: str, given_at: datetime, **more) -> RequestOpinionGivenV1:
    return RequestOpinionGivenV1(
        request_id=request_id,
        code=code,
        body_id=BODY,
        opinion=Opinion.NOT_SATISFIED,
        given_at=given_at,
        **more,
    )


async def test_every_reply_forwarded_to_treatment_says_its_own_id(intake):
    _, code, email, _ = await _treated(intake)
    reply = await _reply(intake, code, email, OPERATOR, opinion="not_satisfied")
    body = await intake.pool.fetchval("SELECT body FROM outbox WHERE message_id = $1", reply["id"])
    recorded = CitizenOpinionRecordedV2.model_validate(json.loads(body))
    assert recorded.reply_id == reply["id"]
    # The citizen's own reply too: the id is the reply's, whoever took it.
    _, code, email, _ = await _treated(intake)
    reply = await _reply(intake, code, email, None, message="Rien reçu.")
    body = await intake.pool.fetchval("SELECT body FROM outbox WHERE message_id = $1", reply["id"])
    assert CitizenReopeningRecordedV2.model_validate(json.loads(body)).reply_id == reply["id"]


async def test_the_line_names_the_operator_by_the_replys_id_whatever_its_moment(intake):
    """Treatment applied the reply with a moment other than the one intake recorded: the line
    is the reply's all the same, by its id."""
    request_id, code, email, treated_at = await _treated(intake)
    reply = await _reply(intake, code, email, OPERATOR, opinion="not_satisfied")
    applied = _opinion_given(
        request_id, code, treated_at + timedelta(minutes=1), reply_id=reply["id"]
    )
    await intake.deliver(applied, uuid.uuid4())
    view = await _operators_view(intake, code, email)
    assert _named(view) == [(Event.OPINION_GIVEN, OPERATOR.staff_id)]
    kept = await intake.pool.fetchval(
        "SELECT reply_id FROM request_history WHERE request_id = $1 AND event_type = $2",
        request_id,
        Event.OPINION_GIVEN.value,
    )
    assert kept == reply["id"]
    # The citizen's own view never names him.
    assert OPERATOR.staff_id not in json.dumps(await intake.view(code, email))


async def test_two_replies_of_one_moment_are_told_apart_by_their_ids(intake):
    """A caller's « Relancer » taken by phone, then, after the new answer, the citizen's own
    from the web, which treatment applied with the very moment of the first: only the first
    line names the operator."""
    request_id, code, email, _ = await _treated(intake)
    by_phone = await _reply(intake, code, email, OPERATOR, message="Rien reçu.")
    at = by_phone["recorded_at"]
    reopened = {"request_id": request_id, "code": code, "body_id": BODY, "message": "Rien reçu."}
    await intake.deliver(
        RequestReopenedV1(**reopened, reopened_at=at, reply_id=by_phone["id"]), uuid.uuid4()
    )
    await intake.deliver(
        RequestTreatedV1(
            request_id=request_id,
            code=code,
            body_id=BODY,
            message="Réponse n° 2.",
            actor=FOCAL_POINT,
            treated_at=at + timedelta(minutes=1),
        ),
        uuid.uuid4(),
    )
    by_web = await _reply(intake, code, email, None, message="Toujours rien.")
    await intake.deliver(
        RequestReopenedV1(**reopened, reopened_at=at, reply_id=by_web["id"]), uuid.uuid4()
    )
    view = await _operators_view(intake, code, email)
    assert sorted(_named(view), key=lambda n: n[1] or "") == [
        (Event.REOPENED, None),
        (Event.REOPENED, OPERATOR.staff_id),
    ]


async def test_a_line_from_before_the_id_is_still_named_by_its_moment(intake):
    """request.opinion_given published before treatment said the reply's id (or by a treatment
    not upgraded yet): intake names the line as it did, by the reply's kind and moment."""
    request_id, code, email, _ = await _treated(intake)
    reply = await _reply(intake, code, email, OPERATOR, opinion="not_satisfied")
    await intake.deliver(_opinion_given(request_id, code, reply["recorded_at"]), uuid.uuid4())
    view = await _operators_view(intake, code, email)
    assert _named(view) == [(Event.OPINION_GIVEN, OPERATOR.staff_id)]


async def test_a_reply_waiting_for_treatment_names_who_took_it_to_the_staff_only(intake):
    _, code, email, _ = await _treated(intake)
    await _reply(intake, code, email, OPERATOR, opinion="not_satisfied")
    pending = (await _operators_view(intake, code, email))["pending_reply"]
    assert (pending["kind"], pending["operator_id"]) == ("opinion", OPERATOR.staff_id)
    # The citizen's view, and the citizens' API's document of it, say nothing of him.
    view = await intake.view(code, email)
    assert view["pending_reply"]["kind"] == "opinion"
    assert "operator_id" not in view["pending_reply"]
    assert OPERATOR.staff_id not in json.dumps(view)
    assert "operator_id" not in PendingReply.model_fields
    # A reply the citizen gave themself, seen by an operator: no one to name.
    _, code, email, _ = await _treated(intake)
    await _reply(intake, code, email, None, opinion="satisfied")
    assert (await _operators_view(intake, code, email))["pending_reply"]["operator_id"] is None


async def test_the_operators_recorded_answer_is_the_documented_one(intake):
    """The 202 to an operator's reply is the citizens' API's answer (``Recorded``): no operator
    in it (the call centre's page reads the request again to show it)."""
    _, code, email, _ = await _treated(intake)
    payload = {"code": code, "email": email, "opinion": "satisfied"}
    status, body = await _post(intake, "/tracking/opinion", payload, OPERATOR)
    assert status == 202, body
    assert Recorded.model_validate(body).view.pending_reply is not None
    assert OPERATOR.staff_id not in json.dumps(body)
