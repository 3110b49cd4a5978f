"""Submission keys through the public JSON API: scoped to the channel and to the request they
came with; and no public answer (JSON API, Open311) names a row by its internal id."""

from __future__ import annotations

import json
import re

import aiohttp

from services.intake import submissions
from services.intake.domain import SubmissionIn
from shared.db import run_in_transaction
from shared.service import POOL
from tests.channels.conftest import BODY, OPEN311_KEY, PLACE, THEME

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)


def payload(email: str = "aya.kouassi@example.ci", **overrides) -> dict:
    return {
        "nature": "reclamation",
        "body_id": BODY,
        "theme_id": THEME,
        "message": "Le guichet est fermé aux heures d'ouverture affichées.",
        "contact": {"country": "CI", "phone": "07 07 12 34 56", "email": email},
        "submission_key": "client-retry-1",
        **overrides,
    }


async def post(url: str, **kwargs) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.post(url, **kwargs) as resp:
        return resp.status, await resp.text()


async def test_a_key_is_the_request_it_came_with_and_answers_no_row_id(channels_stack):
    url = channels_stack.gateway + "/api/v1/requests"
    status, text = await post(url, json=payload())
    assert status == 201, text
    first = json.loads(text)
    assert UUID.search(text) is None, text
    assert set(first) == {"code", "nature", "nature_label", "submitted_at", "replayed", "told_by"}
    # An email and a mobile number: the code is sent by both.
    assert first["told_by"] == ["email", "sms"]

    # The same request with the same key (a retry): the same code, nothing new.
    status, text = await post(url, json=payload())
    assert status == 200 and json.loads(text)["code"] == first["code"]
    assert json.loads(text)["replayed"] is True

    # Another citizen's request with that key: refused, and never the first one's code.
    status, text = await post(url, json=payload("someone.else@example.ci"))
    assert status == 409, text
    refused = json.loads(text)
    assert refused["error"] == "submission_key_reused"
    assert refused["errors"][0]["field"] == "submission_key"
    assert first["code"] not in text and "code" not in refused
    status, text = await post(url, json=payload(message="Une tout autre requête."))
    assert status == 409 and first["code"] not in text


async def test_the_same_key_from_another_channel_is_another_submission(channels_stack):
    pool = channels_stack.apps["intake"].app[POOL]

    async def submit(channel: str) -> submissions.Accepted:
        sub = SubmissionIn.model_validate({**payload(), "channel": channel})
        return await run_in_transaction(pool, lambda conn: submissions.submit(conn, sub))

    api, phone = await submit("api"), await submit("phone")
    assert not api.replayed and not phone.replayed
    assert api.code != phone.code
    assert (await submit("api")).code == api.code


async def test_open311_answers_name_requests_by_their_code_only(channels_stack):
    base = channels_stack.gateway + "/open311/v2"
    form = {
        "api_key": OPEN311_KEY,
        "service_code": f"{BODY}.reclamation",
        "description": "Le guichet des pensions est fermé depuis trois semaines.",
        "email": "awa.traore@example.ci",
        "phone": "07 07 65 43 21",
        "attribute[place_id]": PLACE,
    }
    status, text = await post(f"{base}/requests.json", data=form)
    assert status == 201, text
    assert UUID.search(text) is None, text
    code = json.loads(text)[0]["service_request_id"]
    for path in (f"requests/{code}.json", f"requests/{code}.xml"):
        async with aiohttp.ClientSession() as http, http.get(f"{base}/{path}") as resp:
            answer = await resp.text()
            assert resp.status == 200, answer
        assert code in answer and UUID.search(answer) is None, answer
