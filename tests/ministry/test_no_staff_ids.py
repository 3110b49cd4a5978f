"""No id of Miliê's agents or keys reaches a ministry's system. History lines keep, in their
details, the ids of the agents a request went to (« Réaffecter »: ``assignee_id``,
``previous_assignee_id``, a gateway account's id or ``cle-api:<key id>``); the API passed those
details on as they were, in a request's history and in the changes feed."""

from __future__ import annotations

import json

import aiohttp

from shared.identity import Identity, Role
from tests.ministry.helpers import BODY, Api, new_key, validated_reclamation
from tests.purge.conftest import OPERATOR, call_centre_submission, validated
from tests.support import as_staff, eventually, signed_session

AGENT_ID = "0c5e2a1f-7d4b-4c1e-9a3b-5f6e7d8c9b0a"
FOCAL_POINT = Identity(staff_id=AGENT_ID, role=Role.FOCAL_POINT, body_id=BODY, login="pf.budget")
OTHER_AGENT = "7f1d9c2e-0000-4000-8000-00000000abcd"


async def test_history_and_feed_name_no_agent_nor_key_by_its_id(stack):
    code = await validated_reclamation(stack)
    key = await new_key(stack)
    key_id = key.split("_")[1]
    async with aiohttp.ClientSession() as http:
        api = Api(http, stack.gateway, key)
        status, done, _ = await api.post(f"/requests/{code}/take", {})
        assert status == 200, done
        # A focal point of the body gives it to another agent, in the back office.
        async with (
            signed_session() as signed,
            signed.post(
                f"{stack.url('treatment')}/requests/{code}/reassign",
                json={"assignee_id": OTHER_AGENT, "assignee_login": "awa.kone"},
                headers=as_staff(FOCAL_POINT),
            ) as resp,
        ):
            assert resp.status == 200, await resp.text()

        status, one, _ = await api.get(f"/requests/{code}")
        assert status == 200
        assert [line["kind"] for line in one["history"]][-1] == "reassigned"

        async def fed():
            status, feed, _ = await api.get("/changes")
            assert status == 200, feed
            kinds = [line["kind"] for line in feed["items"]]
            return feed if "reassigned" in kinds else None

        feed = await eventually(fed)
    for answer in (one, feed):
        text = json.dumps(answer, ensure_ascii=False)
        for internal in (OTHER_AGENT, f"cle-api:{key_id}", "assignee_id"):
            assert internal not in text, internal


async def test_a_request_typed_by_phone_names_no_call_centre_operator(stack):
    """request.submitted.v1 names the operator who typed it by phone (for the analysts' page):
    that name is the call centre's staff's, and reaches no ministry's system."""
    _, code = await call_centre_submission(stack, "07 48 91 26 35", "YEBOUE")
    await validated(stack, code, "Recevable.")
    key = await new_key(stack)
    async with aiohttp.ClientSession() as http:
        api = Api(http, stack.gateway, key)

        async def arrived():
            status, one, _ = await api.get(f"/requests/{code}")
            return one if status == 200 else None

        one = await eventually(arrived)
        status, done, _ = await api.post(f"/requests/{code}/take", {})
        assert status == 200, done

        async def fed():
            status, feed, _ = await api.get("/changes")
            assert status == 200, feed
            return feed if code in json.dumps(feed) else None

        feed = await eventually(fed)
        status, taken, _ = await api.get(f"/requests/{code}")
        assert status == 200, taken
    for answer in (one, taken, feed):
        text = json.dumps(answer, ensure_ascii=False)
        for internal in (OPERATOR.staff_id, json.dumps(OPERATOR.login), "operator"):
            assert internal not in text, (internal, text)
