"""Treatment stopped while a citizen gives an opinion: the opinion arrives when it is back.

The six real processes; a réclamation submitted, validated by an analyst and answered by the
body's focal point; the treatment process stopped; the citizen's opinion recorded (as intake
publishes it, citizen.opinion_recorded); treatment started again closes the request with it, and
triage, reading request.opinion_given, lets the analysts send their « Message
d'éclaircissement »."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from shared.identity import Identity, Role
from shared.messages import CitizenOpinionRecordedV1, Opinion
from tests.e2e.conftest import BODY, analyst_headers, submission
from tests.support import as_staff, eventually, publish_event, signed_session

FOCAL_POINT = as_staff(Identity("e2e-focal", Role.FOCAL_POINT, body_id=BODY, login="point.focal"))


async def _call(method: str, url: str, headers: dict | None = None, body: dict | None = None):
    async with (
        signed_session() as http,
        http.request(method, url, headers=headers, json=body) as resp,
    ):
        return resp.status, await resp.json(content_type=None)


async def answered(platform, email: str) -> tuple[str, dict]:
    """A réclamation from ``email`` submitted through the gateway, validated by an analyst and
    answered by the focal point: its code and treatment's item as it was before the answer."""
    status, created = await _call(
        "POST", platform.url("gateway") + "/api/v1/requests", body=submission(email)
    )
    assert status == 201, created
    code = created["code"]
    queue = platform.url("triage") + f"/queue/{code}"

    async def queued():
        status, item = await _call("GET", queue, headers=analyst_headers())
        return item if status == 200 else None

    await eventually(queued)
    status, _ = await _call("POST", queue + "/validate", headers=analyst_headers(), body={})
    assert status == 200

    at_body = platform.url("treatment") + f"/requests/{code}"

    async def in_treatment():
        status, item = await _call("GET", at_body, headers=FOCAL_POINT)
        return item if status == 200 else None

    item = await eventually(in_treatment)
    status, done = await _call(
        "POST",
        at_body + "/answer",
        headers=FOCAL_POINT,
        body={"message": "Les bulletins sont partis ce matin.", "version": item["version"]},
    )
    assert (status, done["status"]) == (200, "treated"), done
    return code, item


async def test_treatment_stopped_while_a_citizen_gives_an_opinion(platform, amqp_url, namespace):
    code, item = await answered(platform, "avis@example.ci")
    queue = platform.url("triage") + f"/queue/{code}"
    at_body = platform.url("treatment") + f"/requests/{code}"

    await platform.stop("treatment")
    # The citizen says « Non satisfait »; intake's relay publishes it while treatment is down.
    await publish_event(
        amqp_url,
        namespace,
        CitizenOpinionRecordedV1(
            request_id=UUID(item["request_id"]),
            code=code,
            body_id=BODY,
            opinion=Opinion.NOT_SATISFIED,
            comment="Toujours rien reçu.",
            recorded_at=datetime.now(UTC),
        ),
    )
    await platform.start("treatment")
    await platform.wait_ready(["treatment"])

    async def closed():
        status, item = await _call("GET", at_body, headers=FOCAL_POINT)
        return item if status == 200 and item["status"] == "closed" else None

    item = await eventually(closed)
    assert item["opinion"] == "not_satisfied"

    async def clarification_possible():
        status, item = await _call("GET", queue, headers=analyst_headers())
        return item if status == 200 and item["may_clarify"] else None

    item = await eventually(clarification_possible)
    assert item["opinion_comment"] == "Toujours rien reçu."
