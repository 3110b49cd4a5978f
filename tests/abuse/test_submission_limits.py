"""Submission limits of the anonymous channels (issue 14): per client address (an IPv6 client
counted by its /64), per recipient email and per mobile number, from intake's configuration
table; beyond them a 429 with ``Retry-After`` and a machine-readable body (JSON API, Open311) or a
French page with the time to wait (the form), and nothing stored or sent. Parallel submissions
cannot pass the limit. SMS only to the allowed country codes; names checked."""

from __future__ import annotations

import asyncio
import html

from tests.abuse.conftest import (
    STRICT,
    api_request,
    api_submit,
    draft_of,
    new_email,
    new_phone,
    set_config,
    stored,
    web_confirm,
    web_fill,
    web_session,
)
from tests.channels.conftest import OPEN311_KEY, PLACE, THEME
from tests.support import signed_session


def _assert_429(status: int, body: dict, headers: dict) -> None:
    assert status == 429, body
    assert body["error"] == "throttled"
    retry = int(headers["Retry-After"])
    assert 0 < retry <= 3600 and body["retry_after"] == retry
    assert "Réessayez dans" in body["message"]


async def test_the_json_api_is_limited_per_email_phone_and_address(strict_stack, database_url):
    stack = strict_stack

    # Per email: two requests for one address, from two clients; the third is refused.
    email = new_email()
    for client in ("198.51.100.1", "198.51.100.2"):
        status, body, _ = await api_submit(stack, api_request(email=email), client)
        assert status == 201, body
    before = await stored(database_url)
    _assert_429(*await api_submit(stack, api_request(email=email), "198.51.100.3"))
    assert await stored(database_url) == before  # nothing stored, nothing to send

    # Per mobile number, written two ways (the E.164 form is what counts).
    phone = new_phone()
    spaced = " ".join(phone[i : i + 2] for i in range(0, 10, 2))
    assert (await api_submit(stack, api_request(phone=phone), "198.51.100.4"))[0] == 201
    assert (await api_submit(stack, api_request(phone=spaced), "198.51.100.5"))[0] == 201
    _assert_429(*await api_submit(stack, api_request(phone=phone), "198.51.100.6"))

    # Per client address: an IPv6 client is its /64, whichever of its addresses it uses.
    for i in range(STRICT["submissions_per_client"]):
        status, _, _ = await api_submit(stack, api_request(), f"2001:db8:7:1::{i + 1}")
        assert status == 201
    before = await stored(database_url)
    _assert_429(*await api_submit(stack, api_request(), "2001:db8:7:1:ffff:1:2:3"))
    assert await stored(database_url) == before
    assert (await api_submit(stack, api_request(), "2001:db8:7:2::1"))[0] == 201


async def test_parallel_submissions_cannot_pass_the_limit(strict_stack, database_url):
    stack = strict_stack
    before = await stored(database_url)
    answers = await asyncio.gather(
        *(api_submit(stack, api_request(), "203.0.113.77") for _ in range(12))
    )
    statuses = sorted(a[0] for a in answers)
    assert statuses.count(201) == STRICT["submissions_per_client"], statuses
    assert statuses.count(429) == 12 - STRICT["submissions_per_client"]
    assert (await stored(database_url))[0] == before[0] + STRICT["submissions_per_client"]


async def test_open311_answers_429_with_retry_after(strict_stack, database_url):
    base = strict_stack.gateway + "/open311/v2/requests.json"
    email = new_email()

    def form() -> dict:
        return {
            "api_key": OPEN311_KEY,
            "service_code": "ministere-budget.reclamation",
            "description": "Le guichet des pensions est fermé depuis trois semaines.",
            "email": email,
            "first_name": "Awa",
            "last_name": "TRAORE",
            "phone": new_phone(),
            "attribute[theme_id]": THEME,
            "attribute[place_id]": PLACE,
        }

    async with signed_session() as http:
        for _ in range(STRICT["submissions_per_email"]):
            async with http.post(base, data=form()) as resp:
                assert resp.status == 201, await resp.text()
        async with http.post(base, data=form()) as resp:
            assert resp.status == 429
            assert int(resp.headers["Retry-After"]) > 0
            [error] = await resp.json()
            assert error["code"] == 429 and "Réessayez dans" in error["description"]


async def test_the_form_says_in_french_how_long_to_wait(strict_stack, database_url):
    gateway = strict_stack.gateway
    email = new_email()
    async with web_session() as http:
        for _ in range(STRICT["submissions_per_email"]):
            status, location = await web_fill(http, gateway, email=email)
            assert status == 303, location
            status, location, _ = await web_confirm(http, gateway, draft_of(location))
            assert status == 303 and "/soumettre/enregistree" in location
        before = await stored(database_url)
        status, location = await web_fill(http, gateway, email=email)
        status, page, headers = await web_confirm(http, gateway, draft_of(location))
    assert status == 429
    assert int(headers["Retry-After"]) > 0
    page = html.unescape(page)
    assert "Trop de requêtes" in page
    assert "Réessayez dans 60 minutes." in page
    assert await stored(database_url) == before


async def test_sms_go_only_to_the_allowed_countries(strict_stack, database_url):
    stack = strict_stack
    # A French mobile number: refused beside the field, in French, nothing stored.
    payload = api_request(phone="06 12 34 56 78", country="FR")
    before = await stored(database_url)
    status, body, _ = await api_submit(stack, payload)
    assert status == 422
    [error] = [e for e in body["errors"] if e["field"] == "contact.phone"]
    assert error["code"] == "sms_country_not_allowed"
    assert "+225 (Côte d'Ivoire)" in error["message"]
    assert await stored(database_url) == before

    # On the form's page, beside the telephone field.
    async with web_session() as http:
        status, page = await web_fill(http, stack.gateway, country="FR", phone="0612345678")
    assert status == 422
    beside = html.unescape(page.split('id="err-phone">', 1)[1].split("</p>", 1)[0])
    assert "ne sont envoyés qu'aux numéros +225 (Côte d'Ivoire)" in beside

    # An Ivorian number is fine; an administrator allows France too, and then it is.
    assert (await api_submit(stack, api_request(phone="07 07 12 34 56")))[0] == 201
    await set_config(database_url, sms_country_codes=[225, 33])
    status, body, _ = await _eventually_accepted(stack, payload)
    assert status == 201, body


async def _eventually_accepted(stack, payload):
    # Intake reads its configuration table again within a few seconds.
    from tests.support import eventually

    async def accepted():
        answer = await api_submit(stack, {**payload, "contact": {**payload["contact"]}})
        return answer if answer[0] == 201 else None

    return await eventually(accepted, timeout=15)


async def test_names_hold_only_what_a_name_holds(strict_stack):
    for last_name in ("KONÉ\r\nBcc: x@evil.example", "a@b.c, d@e.f", "<script>", "R2D2"):
        status, body, _ = await api_submit(strict_stack, api_request(last_name=last_name))
        assert status == 422, last_name
        [error] = [e for e in body["errors"] if e["field"] == "contact.last_name"]
        assert "lettres" in error["message"]
    status, _, _ = await api_submit(
        strict_stack, api_request(last_name="N'GUESSAN-KOUAMÉ", first_names="Marie-Ange Zoé B.")
    )
    assert status == 201
