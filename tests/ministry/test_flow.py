"""A ministry's system does what a focal point does, through the API with its body's key: list,
read, take in charge, answer with a document (one carrying JavaScript refused first, as a
citizen's would be); the citizen reads the answer and downloads the document; the changes feed
tells the system what happened, without skipping."""

from __future__ import annotations

import html
import json

import aiohttp

from gateway.public_api.ministry import openapi
from shared import attachments
from shared.identity import Role
from tests.front.conftest import pdf_bytes, with_javascript
from tests.ministry.helpers import BODY, PDF, Api, new_key, validated_reclamation
from tests.staff.helpers import create_account, form_token, new_session, signed_in_session
from tests.support import eventually

EMAIL = "awa.diallo@example.ci"
PASSWORD = "mot de passe du point focal"
ANSWER = "Votre passeport est disponible au guichet 3 de la préfecture."


async def test_list_take_answer_with_a_document_and_the_citizen_reads_it(stack, database_url):
    code = await validated_reclamation(stack, email=EMAIL)
    key = await new_key(stack, label="SIGFIP Budget")
    async with aiohttp.ClientSession() as http:
        api = Api(http, stack.gateway, key)
        status, page, _ = await api.get("/requests?list=en_cours")
        assert status == 200, page
        assert [item["code"] for item in page["items"]] == [code]
        # The feed gives a line once every older transaction has ended (a line committed late
        # must come after the cursors given before it): wait for it.
        feed = await _changes(api, "", 1)
        assert [c["kind"] for c in feed["items"] if c["code"] == code] == ["validated"]
        cursor = feed["next"]

        status, one, _ = await api.get(f"/requests/{code}")
        assert status == 200, one
        assert one["may"] == {
            "take": True,
            "hold": True,
            "resume": False,
            "reassign": True,
            "answer": True,
            "answer_again": False,
        }
        status, done, _ = await api.post(f"/requests/{code}/take", {"version": one["version"]})
        assert (status, done["action"]) == (200, "assigned"), done
        # A PDF carrying JavaScript: refused as a citizen's would be, the reason in the problem.
        status, refused, headers = await api.call(
            "POST",
            f"/requests/{code}/documents?filename=reponse.pdf",
            data=pdf_bytes(with_javascript),
            headers={"Content-Type": "application/pdf"},
        )
        assert headers["Content-Type"].startswith("application/problem+json")
        assert (status, refused["code"]) == (422, "validation_failed"), refused
        assert refused["errors"] == [
            {
                "field": "document",
                "code": "pdf_javascript",
                "message": attachments.problem(attachments.PDF_JAVASCRIPT, "reponse.pdf"),
            }
        ]
        status, doc, _ = await api.call(
            "POST",
            f"/requests/{code}/documents?filename=reponse.pdf",
            data=PDF,
            headers={"Content-Type": "application/pdf"},
        )
        assert status == 201, doc
        # Somebody acted since the version the system read: refused, nothing written.
        status, stale, headers = await api.post(
            f"/requests/{code}/answer", {"message": ANSWER, "version": one["version"]}
        )
        assert (status, stale["code"]) == (409, "modified"), stale
        assert headers["Content-Type"].startswith("application/problem+json")
        status, done, _ = await api.post(
            f"/requests/{code}/answer",
            {"message": ANSWER, "document_ids": [doc["document_id"]], "version": done["version"]},
        )
        assert (status, done["action"]) == (200, "treated"), done

        status, one, _ = await api.get(f"/requests/{code}")
        assert [a["message"] for a in one["answers"]] == [ANSWER]
        assert one["answers"][0]["actor_login"].startswith("clé d'API")
        status, data, headers = await api.get(f"/documents/{doc['document_id']}")
        assert (status, data) == (200, PDF)

        feed = await _changes(api, cursor, 2)
        assert [c["kind"] for c in feed["items"]] == ["assigned", "treated"]
        status, again, _ = await api.get(f"/changes?after={feed['next']}")
        assert (again["items"], again["next"]) == ([], feed["next"])

        # The body's agents read in the back office what the system did, under the key's name.
        await create_account(database_url, Role.FOCAL_POINT, "pf.flux", PASSWORD, BODY)
        async with await signed_in_session(stack.gateway, "pf.flux", PASSWORD) as agent:
            async with agent.get(f"{stack.gateway}/admin/requetes/{code}") as resp:
                page = await resp.text()
                assert resp.status == 200
                assert "SIGFIP Budget" in html.unescape(page) and ANSWER in html.unescape(page)

        # The citizen reads the answer on the tracking API.
        async def answered():
            async with http.post(
                f"{stack.gateway}/api/v1/tracking", json={"code": code, "email": EMAIL}
            ) as resp:
                body = await resp.json()
                return resp.status == 200 and ANSWER in json.dumps(body, ensure_ascii=False)

        await eventually(answered)

        # … and downloads the document from « Suivre une requête », the bytes the system sent.
        async with new_session() as citizen:
            token = await form_token(citizen, stack.gateway + "/suivre")
            form = {
                "csrf_token": token,
                "code": code,
                "email": EMAIL,
                "document_id": doc["document_id"],
            }
            async with citizen.post(stack.gateway + "/suivre/document", data=form) as resp:
                assert (resp.status, await resp.read()) == (200, PDF)
                assert resp.headers["Content-Type"] == "application/pdf"


async def test_a_system_answering_a_request_nobody_took_takes_it_in_charge(stack):
    """As in the back office: the one answering a request nobody took has taken it — the API
    names it in ``assignee_login`` and its history says « Prise en compte » before the answer."""
    code = await validated_reclamation(stack, email=EMAIL)
    key = await new_key(stack, label="SIGFIP Réponses")
    async with aiohttp.ClientSession() as http:
        api = Api(http, stack.gateway, key)
        status, one, _ = await api.get(f"/requests/{code}")
        assert (status, one["assignee_login"]) == (200, None), one
        status, done, _ = await api.post(
            f"/requests/{code}/answer", {"message": ANSWER, "version": one["version"]}
        )
        assert (status, done["action"]) == (200, "treated"), done
        status, one, _ = await api.get(f"/requests/{code}")
        assert one["assignee_login"] == "clé d'API « SIGFIP Réponses »"
        assert [h["kind"] for h in one["history"]] == ["validated", "assigned", "treated"]
        feed = await _changes(api, "", 3)
        assert [c["kind"] for c in feed["items"] if c["code"] == code] == [
            "validated",
            "assigned",
            "treated",
        ]


async def _changes(api: Api, after: str, count: int) -> dict:
    async def enough():
        status, feed, _ = await api.get(f"/changes?after={after}" if after else "/changes")
        assert status == 200, feed
        return feed if len(feed["items"]) >= count else None

    return await eventually(enough)


def test_the_openapi_document_names_every_reason_a_document_is_refused():
    upload = openapi.document()["paths"][f"{openapi.BASE}/requests/{{code}}/documents"]["post"]
    refused = upload["responses"]["422"]
    assert refused["content"]["application/problem+json"]["schema"]["$ref"].endswith("/Problem")
    for code in attachments.INSPECTION_REFUSALS:
        assert code in refused["description"], code
