"""The ministries' keys: made by an administrator and shown once, kept hashed, revoked at once;
sent in a header, never in an address; a key of one body reaches nothing of another; every call
logged; a limit of calls a minute per key."""

from __future__ import annotations

import hashlib
import re
from html import unescape

import aiohttp
import asyncpg

from shared.identity import Role
from tests.front.conftest import PNG
from tests.ministry.helpers import OTHER_BODY, PDF, Api, new_key, validated_reclamation
from tests.staff.helpers import create_account, form_token, signed_in_session
from tests.support import signed_session
from tests.triage.access import _file_of_a_request

PASSWORD = "mot de passe des clés d'API"
KEY = re.compile(r"milie_[0-9a-f]{12}_[A-Za-z0-9_-]{43}")


async def _gateway_rows(database_url: str, sql: str, *args) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def test_an_administrator_makes_a_key_sees_it_once_and_revokes_it_at_once(
    stack, database_url
):
    await create_account(database_url, Role.ADMINISTRATOR, "admin.cles", PASSWORD)
    await create_account(database_url, Role.ANALYST, "analyste.cles", PASSWORD)
    pages = f"{stack.gateway}/admin/cles-api"
    async with await signed_in_session(stack.gateway, "admin.cles", PASSWORD) as admin:
        token = await form_token(admin, pages)
        async with admin.get(f"{stack.gateway}/admin/aide") as resp:
            assert 'href="/admin/cles-api' in await resp.text()  # the menu's entry
        form = {"csrf_token": token, "body_id": "ministere-budget", "label": "SIGFIP Budget"}
        async with admin.post(pages, data={**form, "calls_per_minute": "0"}) as resp:
            assert resp.status == 422
            # The bound written as French numbers are (grouped thousands), not « 1000000 ».
            said = re.sub(r"\s", " ", await resp.text())
            assert re.search(r"Un nombre entier de 1 à \d{1,3}( \d{3})+\.", said), said
        async with admin.post(pages, data={**form, "calls_per_minute": "120"}) as resp:
            html = await resp.text()
            # Post/redirect/get: the key is on the page the creation redirected to.
            assert resp.status == 200, html
            assert [r.status for r in resp.history] == [303]
            assert "no-store" in resp.headers["Cache-Control"]
        shown = KEY.findall(html)
        assert len(set(shown)) == 1
        key = shown[0]
        key_id, secret = key.split("_")[1], key.split("_", 2)[2]
        # Never shown again, and kept as a digest only.
        async with admin.get(pages) as resp:
            listing = await resp.text()
        assert secret not in listing and key_id in listing and "SIGFIP Budget" in listing
        rows = await _gateway_rows(database_url, "SELECT * FROM gateway.api_keys")
        assert [(r["id"], r["body_id"], r["calls_per_minute"]) for r in rows] == [
            (key_id, "ministere-budget", 120)
        ]
        assert bytes(rows[0]["secret_hash"]) == hashlib.sha256(secret.encode()).digest()
        assert secret not in repr(dict(rows[0]))

        async with aiohttp.ClientSession() as http:
            api = Api(http, stack.gateway, key)
            status, page, _ = await api.get("/requests")
            assert status == 200, page
            async with admin.get(pages) as resp:
                assert "jamais" not in await resp.text()  # last used: now
            # Only administrators reach the page.
            async with await signed_in_session(stack.gateway, "analyste.cles", PASSWORD) as analyst:
                async with analyst.get(pages, allow_redirects=False) as resp:
                    assert resp.status == 403
            async with admin.post(
                f"{pages}/{key_id}/revoquer",
                data={"csrf_token": token, "confirm": "oui"},  # « Oui, révoquer la clé »
                allow_redirects=False,
            ) as resp:
                assert resp.status == 303
            status, refused, headers = await api.get("/requests")
            assert (status, refused["code"]) == (401, "revoked_key")
            assert headers["WWW-Authenticate"].startswith("Bearer")
        async with admin.get(f"{pages}/{key_id}") as resp:
            page_html = await resp.text()
            assert "Révoquée le" in page_html and "listRequests" in page_html
    logged = await _gateway_rows(
        database_url,
        "SELECT action, target, actor_login FROM gateway.audit_log WHERE action LIKE 'api_key%'"
        " ORDER BY id",
    )
    assert [(r["action"], r["target"], r["actor_login"]) for r in logged] == [
        ("api_key_created", f"clé d'API {key_id}", "admin.cles"),
        ("api_key_revoked", f"clé d'API {key_id}", "admin.cles"),
    ]


async def test_reloading_the_page_of_a_new_key_makes_no_second_key_and_shows_it_no_more(
    stack, database_url
):
    await create_account(database_url, Role.ADMINISTRATOR, "admin.recharge", PASSWORD)
    pages = f"{stack.gateway}/admin/cles-api"
    async with await signed_in_session(stack.gateway, "admin.recharge", PASSWORD) as admin:
        token = await form_token(admin, pages)
        form = {
            "csrf_token": token,
            "body_id": "ministere-budget",
            "label": "SIGFIP Budget",
            "calls_per_minute": "60",
        }
        async with admin.post(pages, data=form, allow_redirects=False) as resp:
            assert resp.status == 303, await resp.text()
            shown_at = resp.headers["Location"]
            # The key is in neither the address nor a cookie.
            assert not KEY.search(shown_at) and not KEY.search(str(resp.headers))
        async with admin.get(f"{stack.gateway}{shown_at}") as resp:
            first = await resp.text()
            assert resp.status == 200 and "no-store" in resp.headers["Cache-Control"]
        (key,) = set(KEY.findall(first))
        # The reload: the same address again.
        async with admin.get(f"{stack.gateway}{shown_at}") as resp:
            again = await resp.text()
            assert resp.status == 200
        assert not KEY.search(again) and key.split("_", 2)[2] not in again
        assert "La clé n'est montrée qu'une fois" in unescape(again)
        # Another session of the same administrator never sees it either.
        async with await signed_in_session(stack.gateway, "admin.recharge", PASSWORD) as other:
            async with other.get(f"{stack.gateway}{shown_at}") as resp:
                assert not KEY.search(await resp.text())
    rows = await _gateway_rows(database_url, "SELECT id FROM gateway.api_keys")
    assert [r["id"] for r in rows] == [key.split("_")[1]]
    left = await _gateway_rows(database_url, "SELECT * FROM gateway.api_keys_to_show")
    assert left == []


async def test_no_call_is_answered_without_a_valid_key_in_a_header(stack):
    key = await new_key(stack)
    unknown = "milie_0123456789ab_" + "A" * 43
    async with aiohttp.ClientSession() as http:
        for given in (None, unknown, "pas une clé", key[:-1]):
            status, body, headers = await Api(http, stack.gateway, given).get("/requests")
            assert status == 401, (given, body)
            assert headers["Content-Type"].startswith("application/problem+json")
            assert body["code"] == ("missing_key" if given is None else "invalid_key")
            assert body["status"] == 401 and body["type"].endswith(body["code"])
        # X-Api-Key works as well as Authorization: Bearer.
        async with http.get(
            f"{stack.gateway}/api/ministeres/v1/requests", headers={"X-Api-Key": key}
        ) as resp:
            assert resp.status == 200
        status, body, _ = await Api(http, stack.gateway, key).post(
            "/requests/0000000000/hold", {"reason": "x" * 3_000_000}
        )
        assert (status, body["code"]) == (413, "too_large")
        # Anything else under the API is a problem too.
        status, body, headers = await Api(http, stack.gateway, key).call("DELETE", "/requests")
        assert (status, body["code"], headers["Allow"]) == (405, "method_not_allowed", "GET")
        status, body, _ = await Api(http, stack.gateway, None).get("/nulle-part")
        assert (status, body["code"]) == (404, "unknown_endpoint")
        # A key in the address is refused, even with a good one in the header: it ends up in logs.
        api = Api(http, stack.gateway, key)
        for query in (f"api_key={key}", f"q={key}", "token=x"):
            status, body, _ = await api.get(f"/requests?{query}")
            assert (status, body["code"]) == (400, "key_in_url"), query


async def test_a_key_of_one_body_reaches_nothing_of_another(stack):
    code = await validated_reclamation(stack)
    ours = await new_key(stack)
    theirs = await new_key(stack, OTHER_BODY)
    async with aiohttp.ClientSession() as http:
        api = Api(http, stack.gateway, ours)
        status, one, _ = await api.get(f"/requests/{code}")
        assert status == 200
        async with signed_session() as signed:  # a file a citizen sent to the key's body
            attachment = await _file_of_a_request(signed, stack.url("intake"))
        status, data, headers = await api.get(f"/attachments/{attachment}")
        assert (status, headers["Content-Type"], data) == (200, "image/png", PNG)
        status, doc, _ = await api.call(
            "POST",
            f"/requests/{code}/documents?filename=a.pdf",
            data=PDF,
            headers={"Content-Type": "application/pdf"},
        )
        assert status == 201
        stranger = Api(http, stack.gateway, theirs)
        status, page, _ = await stranger.get("/requests")
        assert (status, page["total"], page["items"]) == (200, 0, [])
        for path in ("", "/opinions", "/reopenings"):
            status, body, _ = await stranger.get(f"/requests/{code}{path}")
            assert (status, body["code"]) == (404, "not_found"), path
        for action, sent in (("take", {}), ("hold", {"reason": "x"}), ("resume", {})):
            status, body, _ = await stranger.post(f"/requests/{code}/{action}", sent)
            assert (status, body["code"]) == (404, "not_found"), action
        status, body, _ = await stranger.post(f"/requests/{code}/answer", {"message": "x"})
        assert status == 404
        status, body, _ = await stranger.call(
            "POST",
            f"/requests/{code}/documents?filename=a.pdf",
            data=PDF,
            headers={"Content-Type": "application/pdf"},
        )
        assert status == 404
        status, body, _ = await stranger.get(f"/documents/{doc['document_id']}")
        assert status == 404
        status, body, _ = await stranger.get(f"/attachments/{attachment}")
        assert (status, body["code"]) == (404, "not_found")
        status, feed, _ = await stranger.get("/changes")
        assert (status, feed["items"]) == (200, [])
        status, one, _ = await api.get(f"/requests/{code}")
        assert (one["version"], one["assignee_login"]) == (1, None)


async def test_every_call_is_logged_with_its_key_body_operation_and_code(stack, database_url):
    code = await validated_reclamation(stack)
    key = await new_key(stack)
    key_id = key.split("_")[1]
    async with aiohttp.ClientSession() as http:
        api = Api(http, stack.gateway, key)
        await api.get("/requests")
        await api.get(f"/requests/{code}")
        await api.post(f"/requests/{code}/take", {})
        await api.post(f"/requests/{code}/hold", {"reason": ""})  # 422
        await Api(http, stack.gateway, None).get(f"/requests/{code}")  # 401
    rows = await _gateway_rows(
        database_url,
        "SELECT key_id, body_id, method, operation, request_code, status, address"
        " FROM gateway.api_calls ORDER BY id",
    )
    assert [tuple(r.values()) for r in rows] == [
        (key_id, "ministere-budget", "GET", "listRequests", None, 200, "127.0.0.1"),
        (key_id, "ministere-budget", "GET", "getRequest", code, 200, "127.0.0.1"),
        (key_id, "ministere-budget", "POST", "takeInCharge", code, 200, "127.0.0.1"),
        (key_id, "ministere-budget", "POST", "putOnHold", code, 422, "127.0.0.1"),
        (None, None, "GET", "getRequest", code, 401, "127.0.0.1"),
    ]
    # Treatment's own history and audit name the key as the actor.
    treatment = await _gateway_rows(
        database_url,
        "SELECT actor_id, action FROM treatment.audit_log WHERE request_code = $1",
        code,
    )
    assert (f"cle-api:{key_id}", "assigned") in [tuple(r.values()) for r in treatment]


async def test_each_key_has_its_limit_of_calls_a_minute(stack):
    limited = await new_key(stack, calls_per_minute=2)
    other = await new_key(stack, calls_per_minute=2)
    async with aiohttp.ClientSession() as http:
        api = Api(http, stack.gateway, limited)
        statuses = [(await api.get("/requests"))[0] for _ in range(2)]
        status, body, headers = await api.get("/requests")
        if status != 429:  # the minute turned between the calls: a fresh window
            statuses = [(await api.get("/requests"))[0] for _ in range(1)]
            status, body, headers = await api.get("/requests")
        assert statuses[-1] == 200
        assert (status, body["code"]) == (429, "rate_limited")
        assert 1 <= int(headers["Retry-After"]) <= 60 and body["retry_after"] >= 1
        status, _, _ = await Api(http, stack.gateway, other).get("/requests")
        assert status == 200
