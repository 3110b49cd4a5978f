"""The focal point's API: who may read and act (signature, role, body), and the answers of the
actions over HTTP (200, 409 naming who acted, 422 naming the field)."""

import json
from datetime import UTC, datetime

import aiohttp
import pytest

from services.treatment import actions, focal_api
from shared.identity import Role
from shared.messages import Contact, Opinion
from tests.front.conftest import PDF
from tests.support import as_staff, eventually
from tests.treatment.conftest import ADMIN, AGENT, ANALYST, COLLEAGUE, OPERATOR, STRANGER
from tests.triage.helpers import of_type, published


async def test_an_unsigned_call_or_one_without_identity_is_refused(treatment):
    event = await treatment.validated()
    async with aiohttp.ClientSession() as plain:
        async with plain.get(f"{treatment.api.base}/requests/{event.code}") as response:
            assert response.status == 401
    status, _ = await treatment.api.get(f"/requests/{event.code}", identity=None)
    assert status == 401
    async with treatment.pool.acquire() as conn:
        refused = await conn.fetchval("SELECT count(*) FROM audit_log WHERE outcome = 'refused'")
    assert refused >= 1


async def test_another_role_is_forbidden_and_readers_only_read(treatment):
    event = await treatment.validated()
    status, _ = await treatment.api.get("/requests", identity=OPERATOR)
    assert status == 403
    status, _ = await treatment.api.call(
        "POST", f"/requests/{event.code}/documents?filename=a.pdf", data=PDF, identity=ANALYST
    )
    assert status == 403
    for reader in (ANALYST, ADMIN):
        status, body = await treatment.api.get(f"/requests/{event.code}", identity=reader)
        assert status == 200
        assert not any(body["may"].values())
        status, _ = await treatment.api.post(f"/requests/{event.code}/take", identity=reader)
        assert status == 403
    status, body = await treatment.api.get(f"/requests?body_id={AGENT.body_id}", identity=ANALYST)
    assert (status, body["total"]) == (200, 1)
    assert (await treatment.row(event.code))["version"] == 1


async def test_a_focal_point_sees_and_acts_only_on_its_own_body(treatment):
    ours = await treatment.validated()
    theirs = await treatment.validated(body_id=STRANGER.body_id)
    status, body = await treatment.api.get("/requests", identity=STRANGER)
    assert status == 200
    assert [item["code"] for item in body["items"]] == [theirs.code]
    status, body = await treatment.api.get(f"/requests/{ours.code}", identity=STRANGER)
    assert status == 404
    for path, sent in (("take", {}), ("tag", {"message": "x"}), ("hold", {"reason": "x"})):
        status, _ = await treatment.api.post(
            f"/requests/{ours.code}/{path}", sent, identity=STRANGER
        )
        assert status == 404
    status, _ = await treatment.api.call(
        "POST", f"/requests/{ours.code}/documents?filename=a.pdf", data=PDF, identity=STRANGER
    )
    assert status == 404
    assert (await treatment.row(ours.code))["version"] == 1


async def test_en_cours_is_paged_and_searched_by_code(treatment):
    codes = [(await treatment.validated()).code for _ in range(3)]
    status, body = await treatment.api.get("/requests?limit=2")
    assert (status, body["total"], len(body["items"])) == (200, 3, 2)
    status, body = await treatment.api.get(f"/requests?code={codes[1]}")
    assert [item["code"] for item in body["items"]] == [codes[1]]
    status, body = await treatment.api.get("/requests?limit=0&view=nowhere")
    assert status == 400
    assert {e["field"] for e in body["errors"]} == {"limit", "view"}


async def test_the_actions_over_http(treatment):
    event = await treatment.validated()
    path = f"/requests/{event.code}"
    status, body = await treatment.api.get(path)
    assert body["may"]["take"] and not body["may"]["resume"]

    status, done = await treatment.api.post(f"{path}/take", {"version": 1})
    assert (status, done["status"], done["version"]) == (200, "in_treatment", 2)
    status, body = await treatment.api.post(f"{path}/hold", {"version": 1}, identity=COLLEAGUE)
    assert status == 422  # the reason is asked for before the version is judged
    assert body["errors"][0]["field"] == "reason"
    status, body = await treatment.api.post(
        f"{path}/hold", {"reason": "Attente du service", "version": 1}, identity=COLLEAGUE
    )
    assert status == 409
    assert body["error"] == "modified" and "koffi.yao" in body["message"]
    status, body = await treatment.api.post(f"{path}/resume", {})
    assert (status, body["error"]) == (409, "not_allowed")

    status, kept = await treatment.api.call(
        "POST", f"{path}/documents?filename=réponse №1.pdf", data=PDF
    )
    assert status == 201
    status, body = await treatment.api.call(
        "POST", f"{path}/documents?filename=page.html", data=b"<html></html>"
    )
    assert (status, body["errors"][0]["code"]) == (422, "file_type_not_allowed")
    status, done = await treatment.api.post(
        f"{path}/answer",
        {"message": "Votre réclamation est réglée.", "document_ids": [kept["document_id"]]},
    )
    assert (status, done["status"]) == (200, "treated")

    status, body = await treatment.api.get(path, identity=ANALYST)
    assert [line["kind"] for line in body["history"]] == ["validated", "assigned", "treated"]
    assert body["history"][1]["label"] == "Prise en compte"
    assert body["answers"][0]["documents"][0]["filename"] == "réponse №1.pdf"
    async with treatment.api.http.get(
        f"{treatment.api.base}/documents/{kept['document_id']}", headers=as_staff(ANALYST)
    ) as response:
        assert (response.status, await response.read()) == (200, PDF)
        assert response.content_disposition.filename == "réponse №1.pdf"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    status, _ = await treatment.api.get(f"/documents/{kept['document_id']}", identity=STRANGER)
    assert status == 404
    async with treatment.pool.acquire() as conn:
        conflicts = await conn.fetchval("SELECT count(*) FROM audit_log WHERE outcome = 'conflict'")
    assert conflicts == 2


async def test_a_reassignment_names_the_new_agents_login_or_is_refused(treatment):
    """Treatment knows no accounts: the caller names the agent by id and login. Without the
    login the agent's id was kept as their login, and shown as « pris en compte par » (a staff
    id that the ministry API must never show)."""
    event = await treatment.validated()
    path = f"/requests/{event.code}"
    await treatment.api.post(f"{path}/take", {"version": 1})
    status, body = await treatment.api.post(
        f"{path}/reassign", {"assignee_id": COLLEAGUE.staff_id, "version": 2}
    )
    assert status == 422, body
    assert [e["field"] for e in body["errors"]] == ["assignee_login"]
    row = await treatment.row(event.code)
    assert (row["assignee_id"], row["assignee_login"], row["version"]) == ("fp-1", "koffi.yao", 2)

    status, done = await treatment.api.post(
        f"{path}/reassign",
        {"assignee_id": COLLEAGUE.staff_id, "assignee_login": COLLEAGUE.login, "version": 2},
    )
    assert (status, done["version"]) == (200, 3)
    row = await treatment.row(event.code)
    assert (row["assignee_id"], row["assignee_login"]) == ("fp-2", "adjoua.n")


@pytest.mark.parametrize("route", [r for r in focal_api.routes if r.method == "POST"])
def test_every_action_is_a_focal_points_alone(route):
    assert route.handler.required_roles == (Role.FOCAL_POINT,)


@pytest.mark.parametrize("route", [r for r in focal_api.routes if r.method == "GET"])
def test_every_view_is_read_by_focal_points_analysts_and_administrators(route):
    assert set(route.handler.required_roles) == set(focal_api.READERS)


async def test_the_unsatisfied_and_the_reopened_have_their_lists(treatment):
    unsatisfied, satisfied, reopened = [await treatment.validated() for _ in range(3)]
    now = datetime.now(UTC)
    for event in (unsatisfied, satisfied, reopened):
        status, _ = await treatment.api.post(f"/requests/{event.code}/answer", {"message": "Ok"})
        assert status == 200
    async with treatment.pool.acquire() as conn, conn.transaction():
        await actions.apply_opinion(conn, unsatisfied.request_id, Opinion.NOT_SATISFIED, None, now)
        await actions.apply_opinion(conn, satisfied.request_id, Opinion.SATISFIED, None, now)
        await actions.apply_reopening(conn, reopened.request_id, "Toujours rien", now)
    for view, expected in (
        ("insatisfaits", [unsatisfied.code]),
        ("retraitement", [reopened.code]),
        ("en_cours", [reopened.code]),
    ):
        status, body = await treatment.api.get(f"/requests?view={view}")
        assert (status, [item["code"] for item in body["items"]]) == (200, expected), view
    status, body = await treatment.api.get(f"/requests/{unsatisfied.code}")
    assert body["may"]["answer_again"] and body["opinion_label"] == "Non satisfait"


async def test_an_actions_event_leaves_through_the_outbox(treatment):
    event = await treatment.validated()
    async with published(treatment.amqp_url, treatment.namespace) as received:
        status, _ = await treatment.api.post(f"/requests/{event.code}/take", {"version": 1})
        assert status == 200

        async def assigned() -> list[dict]:
            return of_type(received, "request.assigned.v1")

        bodies = await eventually(assigned)
    assert bodies[0]["code"] == event.code
    assert bodies[0]["body_id"] == event.body_id
    assert bodies[0]["assignee_id"] == "fp-1"
    assert "contact" not in bodies[0]


async def test_take_in_charge_carries_the_acknowledgement_the_agent_edited(treatment):
    event = await treatment.validated()
    mute = await treatment.validated(contact=Contact(phone="0707123456"))
    path = f"/requests/{event.code}/take"
    status, body = await treatment.api.post(
        path, {"version": 1, "acknowledgement": {"subject": " ", "text": ""}}
    )
    assert status == 422
    assert {e["field"] for e in body["errors"]} == {
        "acknowledgement_subject",
        "acknowledgement_text",
    }
    # No address: nothing to acknowledge to, said on the field.
    status, body = await treatment.api.post(
        f"/requests/{mute.code}/take",
        {"acknowledgement": {"subject": "Prise en compte", "text": "Bonjour."}},
    )
    assert status == 422
    assert [e["field"] for e in body["errors"]] == ["acknowledgement"]
    assert (await treatment.row(mute.code))["assignee_id"] is None
    mail = {"subject": "Votre requête est prise en compte", "text": "Nous la traitons."}
    status, body = await treatment.api.post(path, {"version": 1, "acknowledgement": mail})
    assert status == 200, body
    async with treatment.pool.acquire() as conn:
        sent = await conn.fetchval(
            "SELECT body->'acknowledgement' FROM outbox WHERE message_type = $1",
            "request.assigned.v1",
        )
    assert json.loads(sent) == mail
    status, body = await treatment.api.get(f"/requests/{event.code}")
    [taken] = [h for h in body["history"] if h["kind"] == "assigned"]
    assert taken["details"]["acknowledgement"] == mail
