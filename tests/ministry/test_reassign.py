"""« Réaffecter » through the ministry API: a body's system hands a request to another focal
point of the same body, named by login, under the rule the back office applies (an active focal
point of the key's body: ``gateway.staff.accounts.assignable``); the agent gets the email the
back office's reassignment sends (notify on request.reassigned)."""

from __future__ import annotations

import re
from email.header import decode_header, make_header

import aiohttp
import asyncpg

from gateway.public_api.ministry import openapi
from shared.identity import Role
from shared.service import POOL
from tests.ministry.helpers import BODY, OTHER_BODY, Api, new_key, validated_reclamation
from tests.staff.helpers import agent_email, create_account, page_of, signed_in_session

PASSWORD = "le point focal traite"


async def _people(stack, database_url: str) -> dict[str, object]:
    made = {
        "colleague": await create_account(
            database_url, Role.FOCAL_POINT, "adjoua.n", PASSWORD, BODY, "Adjoua N'GUESSAN"
        ),
        "gone": await create_account(
            database_url, Role.FOCAL_POINT, "ancien.pf", PASSWORD, BODY, "Ancien PF"
        ),
        "stranger": await create_account(
            database_url, Role.FOCAL_POINT, "justice.pf", PASSWORD, OTHER_BODY, "Justice PF"
        ),
        "analyst": await create_account(database_url, Role.ANALYST, "awa.kone", PASSWORD),
    }
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "UPDATE gateway.staff_accounts SET active = false WHERE id = $1", made["gone"].id
        )
    finally:
        await conn.close()
    # Notify's staff directory, as the gateway's account changes keep it (create_account, a
    # shortcut of the tests, does not tell notify).
    colleague = made["colleague"]
    await (
        stack.apps["notify"]
        .app[POOL]
        .execute(
            """INSERT INTO staff_recipients (account_id, login, display_name, email, role,
                                             body_id, alerts)
               VALUES ($1, $2, $3, $4, 'focal_point', $5, 'digest')""",
            str(colleague.id),
            colleague.login,
            colleague.display_name,
            agent_email(colleague.login),
            BODY,
        )
    )
    return made


def _subject(mail) -> str:
    return str(make_header(decode_header(mail["Subject"])))


async def test_a_system_reassigns_to_an_active_focal_point_of_its_body_who_is_told(
    stack, database_url, smtp_server
):
    await _people(stack, database_url)
    code = await validated_reclamation(stack)
    key = await new_key(stack, label="SI Passeports")
    async with aiohttp.ClientSession() as http:
        api = Api(http, stack.gateway, key)
        status, done, _ = await api.post(f"/requests/{code}/take")
        assert status == 200, done
        status, one, _ = await api.get(f"/requests/{code}")
        assert status == 200, one
        assert one["may"]["reassign"] is True
        version = one["version"]

        # Whom a request may not go to: each refusal a 422 with its code, on agent_login.
        for login, reason in (
            ("personne.ici", "unknown_agent"),
            ("ancien.pf", "inactive_agent"),
            # An analyst, another body's focal point: the key's system learns nothing of them.
            ("awa.kone", "unknown_agent"),
            ("justice.pf", "unknown_agent"),
        ):
            status, refused, headers = await api.post(
                f"/requests/{code}/reassign", {"agent_login": login, "version": version}
            )
            assert (status, refused["code"]) == (422, "validation_failed"), (login, refused)
            assert headers["Content-Type"].startswith("application/problem+json")
            assert [(e["field"], e["code"]) for e in refused["errors"]] == [
                ("agent_login", reason)
            ], refused
            assert refused["errors"][0]["message"]
        # Nothing was done meanwhile.
        status, one, _ = await api.get(f"/requests/{code}")
        assert (one["version"], one["history"][-1]["kind"]) == (version, "assigned")

        # A stale version: 409 modified, as the other actions say it.
        status, refused, _ = await api.post(
            f"/requests/{code}/reassign", {"agent_login": "adjoua.n", "version": version - 1}
        )
        assert (status, refused["code"]) == (409, "modified"), refused
        assert refused["current_version"] == version

        # The colleague, by login as the administrator typed it (any case, any spaces).
        status, done, _ = await api.post(
            f"/requests/{code}/reassign", {"agent_login": " Adjoua.N ", "version": version}
        )
        assert (status, done["action"], done["status"]) == (200, "reassigned", "in_treatment")
        assert done["version"] > version
        status, one, _ = await api.get(f"/requests/{code}")
        assert one["assignee_login"] == "adjoua.n"
        assert one["history"][-1]["kind"] == "reassigned"

        # The new agent is told, as when a focal point reassigns in the back office.
        [mail] = await smtp_server.wait_for(agent_email("adjoua.n"))
        assert _subject(mail) == f"Miliê — la requête n° {code} vous est réaffectée"
        text = mail.get_body(("plain",)).get_content()
        assert f"/admin/requetes/{code}" in text
        # Handed over by the body's system, not by a person of the body: the key named by the
        # label the administrator gave it, never by the key itself.
        said = (
            "Le système d'information de votre organisme (clé d'API « SI Passeports ») vous a "
            f"réaffecté la requête n° {code}"
        )
        assert said in " ".join(text.split()), text
        assert key not in text and key.split("_")[-1] not in text
        # The request's history says which key did it, in the API and on the request's page.
        line = one["history"][-1]
        assert (line["label"], line["actor_login"]) == ("Réaffectée", "clé d'API « SI Passeports »")
        async with await signed_in_session(stack.gateway, "adjoua.n", PASSWORD) as staff:
            _, html = await page_of(staff, f"{stack.gateway}/admin/requetes/{code}")
        history = re.sub(r"<[^>]+>", " ", html[html.index('id="historique-titre"') :])
        history = " ".join(history.split())
        assert "Réaffectée (clé d'API « SI Passeports ») À Adjoua N'GUESSAN" in history, history

        # To the agent who has it already: refused on the API's field.
        status, refused, _ = await api.post(
            f"/requests/{code}/reassign", {"agent_login": "adjoua.n"}
        )
        assert status == 422, refused
        assert [(e["field"], e["code"]) for e in refused["errors"]] == [
            ("agent_login", "unchanged")
        ], refused

        # Answered: no longer to be reassigned (409 not_allowed, may.reassign false).
        status, done, _ = await api.post(f"/requests/{code}/answer", {"message": "Prêt."})
        assert status == 200, done
        status, one, _ = await api.get(f"/requests/{code}")
        assert one["may"]["reassign"] is False
        status, refused, _ = await api.post(
            f"/requests/{code}/reassign", {"agent_login": "adjoua.n"}
        )
        assert (status, refused["code"]) == (409, "not_allowed"), refused

        # Another body's request: the same 404 as an unknown code.
        other = await new_key(stack, OTHER_BODY)
        status, refused, _ = await Api(http, stack.gateway, other).post(
            f"/requests/{code}/reassign", {"agent_login": "justice.pf"}
        )
        assert (status, refused["code"]) == (404, "not_found"), refused


async def test_the_body_names_the_agent_and_nothing_else(stack):
    key = await new_key(stack)
    async with aiohttp.ClientSession() as http:
        api = Api(http, stack.gateway, key)
        for body, field in (({}, "agent_login"), ({"agent_login": "a", "assignee_id": "x"}, None)):
            status, refused, _ = await api.post("/requests/5030529490/reassign", body)
            assert (status, refused["code"]) == (422, "validation_failed"), refused
            if field:
                assert [e["field"] for e in refused["errors"]] == [field]


def test_the_openapi_document_has_the_operation():
    spec = openapi.document()["paths"][openapi.BASE + "/requests/{code}/reassign"]["post"]
    assert spec["operationId"] == "reassign"
    body = spec["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert body.endswith("/ReassignIn")
    schemas = openapi.document()["components"]["schemas"]
    assert set(schemas["ReassignIn"]["required"]) == {"agent_login"}
    assert "reassign" in schemas["Allowed"]["properties"]
    assert {"422", "409", "404"} <= set(spec["responses"])
