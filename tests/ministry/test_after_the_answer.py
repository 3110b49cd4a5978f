"""After the answer, through the ministry API as the focal point sees it in the back office: until
when the citizen's opinion is awaited (« Avis attendu jusqu'au », « Avis attendus »), the opinion
given, and « Répondre à l'usager » again to a citizen who closed the request unsatisfied
(« Insatisfaits »), with the focal point's refusals."""

from __future__ import annotations

from datetime import datetime

import aiohttp

from gateway.public_api.ministry import openapi
from shared.messages import Opinion
from shared.service import POOL
from tests.ministry.helpers import Api, last_change, new_key, validated_reclamation
from tests.support import eventually, signed_session

EMAIL = "kone.mariam@example.ci"
ANSWER = "Votre dossier de bourse a été transmis à la commission."
COMMENT = "Je n'ai toujours aucune date de versement."
AGAIN = "La commission se réunit le 12 : un agent vous appellera le lendemain."


async def _treatment_says_until(stack, code: str) -> str | None:
    """What treatment says the citizen's window is (the tracking page's « Donnez votre avis
    jusqu'au »)."""
    async with signed_session() as http:
        url = f"{stack.url('treatment')}/citizen/opinion-until"
        async with http.get(url, params={"code": code}) as resp:
            assert resp.status == 200
            return (await resp.json())["opinion_until"]


def _same_limit(given: str | None, expected: str) -> bool:
    """The same day, or the same moment (the API writes UTC with « Z »)."""
    if given is None or (len(given) == 10) != (len(expected) == 10):
        return False
    return datetime.fromisoformat(given) == datetime.fromisoformat(expected)


async def _unsatisfied_citizen(stack, http: aiohttp.ClientSession, code: str) -> None:
    """The citizen closes the request « Non satisfait » on the public tracking API, once intake
    holds the answer."""

    async def intake_has_the_answer() -> bool:
        return (
            await stack.apps["intake"]
            .app[POOL]
            .fetchval(
                """SELECT t.treated_at IS NOT NULL FROM request_tracking t
               JOIN requests r ON r.id = t.request_id WHERE r.code = $1""",
                code,
            )
        )

    await eventually(intake_has_the_answer)
    opinion = {
        "code": code,
        "email": EMAIL,
        "opinion": Opinion.NOT_SATISFIED.value,
        "comment": COMMENT,
    }
    async with http.post(f"{stack.gateway}/api/v1/tracking/opinion", json=opinion) as resp:
        assert resp.status == 202, await resp.text()


async def test_the_opinion_awaited_then_given_then_a_further_answer(stack):
    code = await validated_reclamation(stack, email=EMAIL)
    key = await new_key(stack, label="SI Bourses")
    async with aiohttp.ClientSession() as http:
        api = Api(http, stack.gateway, key)
        status, done, _ = await api.post(f"/requests/{code}/take")
        assert status == 200, done
        status, done, _ = await api.post(f"/requests/{code}/answer", {"message": ANSWER})
        assert (status, done["action"]) == (200, "treated"), done

        # Answered: the opinion awaited until the day treatment gives, in the request and in
        # « Avis attendus ».
        until = await _treatment_says_until(stack, code)
        assert until is not None
        status, one, _ = await api.get(f"/requests/{code}")
        assert status == 200, one
        assert _same_limit(one["opinion_until"], until), (one["opinion_until"], until)
        assert (one["opinion"], one["further_answer_message"], one["further_answer_at"]) == (
            None,
            None,
            None,
        )
        assert one["may"]["answer_again"] is False
        status, page, _ = await api.get("/requests?list=avis_attendus")
        assert status == 200, page
        assert [i["code"] for i in page["items"]] == [code]
        assert _same_limit(page["items"][0]["opinion_until"], until)
        # The feed's lines say the request as it is now, the window with it.
        line = await last_change(api, "treated")
        assert _same_limit(line["opinion_until"], until) and line["opinion"] is None

        # Not closed unsatisfied yet: no further answer.
        status, refused, headers = await api.post(
            f"/requests/{code}/answer-again", {"message": AGAIN}
        )
        assert (status, refused["code"]) == (409, "not_allowed"), refused
        assert headers["Content-Type"].startswith("application/problem+json")

        await _unsatisfied_citizen(stack, http, code)

        async def closed() -> dict | None:
            status, one, _ = await api.get(f"/requests/{code}")
            assert status == 200, one
            return one if one["status"] == "closed" else None

        one = await eventually(closed)
        assert (one["opinion"], one["opinion_label"]) == ("not_satisfied", "Non satisfait")
        assert one["opinion_comment"] == COMMENT and one["opinion_at"]
        assert one["answer_message"] == ANSWER
        assert (one["opinion_until"], one["further_answer_message"]) == (None, None)
        assert one["may"]["answer_again"] is True
        status, page, _ = await api.get("/requests?list=insatisfaits")
        assert [i["code"] for i in page["items"]] == [code]
        assert page["items"][0]["opinion_comment"] == COMMENT

        # The focal point's refusals: no message, a stale version, an unknown field.
        status, refused, _ = await api.post(f"/requests/{code}/answer-again", {"message": " "})
        assert (status, refused["code"]) == (422, "validation_failed"), refused
        assert [e["field"] for e in refused["errors"]] == ["message"]
        status, refused, _ = await api.post(
            f"/requests/{code}/answer-again", {"message": AGAIN, "version": one["version"] - 1}
        )
        assert (status, refused["code"]) == (409, "modified"), refused
        assert refused["current_version"] == one["version"]
        status, refused, _ = await api.post(
            f"/requests/{code}/answer-again", {"message": AGAIN, "opinion": "satisfied"}
        )
        assert (status, refused["code"]) == (422, "validation_failed"), refused

        status, done, _ = await api.post(
            f"/requests/{code}/answer-again", {"message": AGAIN, "version": one["version"]}
        )
        assert (status, done["action"], done["status"]) == (200, "citizen_answered", "closed")
        status, one, _ = await api.get(f"/requests/{code}")
        assert one["further_answer_message"] == AGAIN
        assert one["further_answer_at"] == done["at"]
        assert [a["kind"] for a in one["answers"]] == ["treated", "citizen_answered"]
        status, page, _ = await api.get("/requests?list=insatisfaits")
        assert page["items"][0]["further_answer_message"] == AGAIN
        line = await last_change(api, "citizen_answered")
        assert (line["message"], line["at"], line["status"]) == (AGAIN, done["at"], "closed")
        assert (line["opinion"], line["opinion_label"], line["opinion_until"]) == (
            "not_satisfied",
            "Non satisfait",
            None,
        )


def test_the_openapi_document_says_answer_again_and_what_follows_the_answer():
    document = openapi.document()
    again = document["paths"][f"{openapi.BASE}/requests/{{code}}/answer-again"]["post"]
    assert again["operationId"] == "answerAgain"
    assert {"404", "409", "422"} <= set(again["responses"])
    body = again["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert body.endswith("/AnswerAgainIn")
    schemas = document["components"]["schemas"]
    for model in ("RequestSummary", "RequestDetail"):
        fields = schemas[model]["properties"]
        assert {"opinion_until", "opinion", "further_answer_message", "further_answer_at"} <= set(
            fields
        ), model
    assert {"opinion_until", "opinion"} <= set(schemas["Change"]["properties"])
    assert "answer_again" in schemas["Allowed"]["properties"]
    lists = next(
        p
        for p in document["paths"][f"{openapi.BASE}/requests"]["get"]["parameters"]
        if p["name"] == "list"
    )
    assert {"insatisfaits", "avis_attendus"} <= set(lists["schema"]["enum"])
