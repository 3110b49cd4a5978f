"""Who typed a request by phone: intake keeps the call centre's operator (the staff id and login
the gateway signed) on the request and in request.submitted.v1 ``operator``; triage keeps them
in the submission's history line (the analysts' page names the operator from there). Every
other channel — the citizen's form, /api/v1, Open311, the intake.submit commands — names
nobody; and the citizen's tracking view does not carry the operator."""

from __future__ import annotations

import json

from tests.channels.conftest import command
from tests.channels.test_open311 import OPEN311_KEY, form, get, post, web_submission
from tests.purge.conftest import ANALYST, OPERATOR, call_centre_submission, submitted
from tests.support import as_staff, eventually, signed_session

CALLER_PHONE = "07 48 91 26 35"


async def _submitted_event(intake_db, code: str) -> dict:
    body = await intake_db.fetchval(
        """SELECT body FROM outbox
           WHERE message_type = 'request.submitted.v1' AND body->>'code' = $1""",
        code,
    )
    assert body is not None, code
    return json.loads(body)


async def _submission_line(stack, code: str) -> dict:
    """The details of triage's history line of the submission, once triage has it."""

    async def probe():
        async with (
            signed_session() as http,
            http.get(
                f"{stack.url('triage')}/queue/{code}?contact=0", headers=as_staff(ANALYST)
            ) as resp,
        ):
            if resp.status != 200:
                return None
            item = await resp.json()
        [line] = [h for h in item["history"] if h["kind"] == "submitted"]
        return line

    return (await eventually(probe))["details"]


async def test_a_phone_submission_names_its_operator_and_no_other_channel_does(
    channels_stack, intake_db
):
    stack = channels_stack
    _, by_phone = await call_centre_submission(stack, CALLER_PHONE, "YEBOUE")
    _, on_the_web = await submitted(stack)  # the citizen's own form (a draft, then « OK »)
    by_api = await web_submission(stack.gateway)
    status, _, text = await post(f"{stack.gateway}/open311/v2/requests.json", form())
    assert status == 201, text
    by_open311 = json.loads(text)[0]["service_request_id"]

    # Intake: on the request, and in request.submitted.v1.
    event = await _submitted_event(intake_db, by_phone)
    assert event["channel"] == "phone"
    assert event["operator"] == {"staff_id": OPERATOR.staff_id, "login": OPERATOR.login}
    row = await intake_db.fetchrow(
        "SELECT operator_staff_id, operator_login FROM requests WHERE code = $1", by_phone
    )
    assert tuple(row) == (OPERATOR.staff_id, OPERATOR.login)
    # Triage: with the submission's history line.
    assert await _submission_line(stack, by_phone) == {
        "channel": "phone",
        "operator_id": OPERATOR.staff_id,
        "operator_login": OPERATOR.login,
    }

    for code, channel in ((on_the_web, "web"), (by_api, "api"), (by_open311, "open311")):
        event = await _submitted_event(intake_db, code)
        assert (event["channel"], event["operator"]) == (channel, None), event
        row = await intake_db.fetchrow(
            "SELECT operator_staff_id, operator_login FROM requests WHERE code = $1", code
        )
        assert tuple(row) == (None, None)
        assert await _submission_line(stack, code) == {"channel": channel}

    # The citizen's views of the request typed for them name no operator.
    async with (
        signed_session() as http,
        http.post(
            f"{stack.gateway}/api/v1/tracking", json={"code": by_phone, "phone": CALLER_PHONE}
        ) as resp,
    ):
        tracked = await resp.text()
        assert resp.status == 200, tracked
    for internal in (OPERATOR.staff_id, json.dumps(OPERATOR.login), "operator"):
        assert internal not in tracked, (internal, tracked)
    # Open311 shows only the requests it brought (none of them typed by phone).
    status, _, open311 = await get(
        f"{stack.gateway}/open311/v2/requests/{by_phone}.json", api_key=OPEN311_KEY
    )
    assert status == 404, open311


async def test_a_command_from_another_channel_names_no_operator(channel_client, intake_db):
    reply = await channel_client.submit(command())
    assert reply.body["accepted"] is True, reply.body
    event = await _submitted_event(intake_db, reply.body["code"])
    assert (event["channel"], event["operator"]) == ("broker", None), event
