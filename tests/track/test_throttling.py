"""Enumeration: a wrong code and a wrong email get the same answer; look-ups are throttled on
their failures per code and per email from one client address, and on every attempt per client
address (``X-Forwarded-For`` believed from a trusted proxy only); a stranger who knows a code
cannot lock its owner out; a throttled answer says when to try again."""

from __future__ import annotations

import asyncio
import html
import re
import uuid

import aiohttp
from yarl import URL

from shared.codes import new_code
from tests.browser import axe_violations
from tests.support import signed_session
from tests.track.conftest import PROXY_ADDRESS, STRICT, post_json, submit

RETRY_PAGE = re.compile(r"Trop de tentatives\. Réessayez dans (\d+) minutes?\.")


def _email() -> str:
    return f"x{uuid.uuid4().hex[:8]}@example.ci"


def _client() -> str:
    """A client address no other attempt of the test used."""
    n = uuid.uuid4().int
    return f"10.{n % 250}.{(n >> 8) % 250}.{(n >> 16) % 250 + 1}"


async def _lookup(stack, code: str, email: str, *, via_proxy_for: str | None = None):
    """One API look-up; through the trusted proxy on behalf of ``via_proxy_for`` if given,
    else straight from 127.0.0.1."""
    return await post_json(
        stack.gateway + "/api/v1/tracking",
        {"code": code, "email": email},
        source=PROXY_ADDRESS if via_proxy_for else None,
        forwarded_for=via_proxy_for,
    )


def _assert_throttled(status: int, body: dict, headers: dict, window: int = 900) -> None:
    assert status == 429, body
    retry_after = int(headers["Retry-After"])
    assert 0 < retry_after <= window
    assert body["retry_after"] == retry_after
    assert RETRY_PAGE.fullmatch(body["message"])


async def _page(http: aiohttp.ClientSession, gateway: str, code: str, email: str):
    async with http.get(gateway + "/suivre") as resp:
        assert resp.status == 200
    token = http.cookie_jar.filter_cookies(URL(gateway))["milie_csrf"].value
    async with http.post(
        gateway + "/suivre", data={"csrf_token": token, "code": code, "email": email}
    ) as resp:
        return resp.status, await resp.text(), dict(resp.headers)


async def test_wrong_code_and_wrong_email_get_the_same_answer(strict_stack):
    stack = strict_stack
    email = "aya.kouassi@example.ci"
    _, code = await submit(stack, email)
    other_code = new_code()
    assert other_code != code

    wrong_code = await _lookup(stack, other_code, email, via_proxy_for=_client())
    wrong_email = await _lookup(stack, code, "aya.k@example.ci", via_proxy_for=_client())
    assert wrong_code[0] == wrong_email[0] == 404
    # Each answer names its own call (correlation_id), nothing else tells them apart.
    assert wrong_code[1].pop("correlation_id") != wrong_email[1].pop("correlation_id")
    assert wrong_code[1] == wrong_email[1]
    assert wrong_code[2]["Content-Length"] == wrong_email[2]["Content-Length"]
    right = await _lookup(stack, code, email, via_proxy_for=_client())
    assert right[0] == 200 and right[1]["code"] == code

    # A mistyped code (bad check digit) is said to be mistyped, before any look-up or count.
    mistyped = code[:-1] + str((int(code[-1]) + 1) % 10)
    client = _client()
    for _ in range(STRICT["tracking_per_client"] + 1):
        status, body, _ = await _lookup(stack, mistyped, email, via_proxy_for=client)
        assert status == 422
        assert body["errors"][0]["code"] == "code_mistyped"
    assert (await _lookup(stack, code, email, via_proxy_for=client))[0] == 200

    # The page: the same status and the same page but for the values typed.
    email2, wrong = "konan.yao@example.ci", "konan.y@example.ci"
    _, code2 = await submit(stack, email2)
    other_code = new_code()
    jar = aiohttp.CookieJar(unsafe=True)
    connector = aiohttp.TCPConnector(local_addr=(PROXY_ADDRESS, 0))
    async with signed_session(cookie_jar=jar, connector=connector) as http:
        http.headers["X-Forwarded-For"] = _client()
        a = await _page(http, stack.gateway, other_code, email2)
        b = await _page(http, stack.gateway, code2, wrong)
    assert a[0] == b[0] == 404
    typed_a = a[1].replace(other_code, "<code>").replace(email2, "<email>")
    typed_b = b[1].replace(code2, "<code>").replace(wrong, "<email>")
    assert typed_a == typed_b
    assert "Aucune requête ne correspond" in html.unescape(a[1])
    assert a[2]["Cache-Control"] == "no-store"


async def test_lookups_are_throttled_per_code_per_email_and_per_client(strict_stack, page):
    stack = strict_stack
    email = "awa.traore@example.ci"
    _, code = await submit(stack, email)

    # Per code: a stranger who knows the code guesses emails from one address, and is stopped
    # there; the owner, from another address, still gets in with the right email.
    stranger = _client()
    for _ in range(STRICT["tracking_per_code"]):
        status, _, _ = await _lookup(stack, code, _email(), via_proxy_for=stranger)
        assert status == 404
    _assert_throttled(*await _lookup(stack, code, _email(), via_proxy_for=stranger))
    owner = _client()
    for _ in range(STRICT["tracking_per_code"] + 1):  # successes never count toward the limit
        assert (await _lookup(stack, code, email, via_proxy_for=owner))[0] == 200
    # The owner's own slips (from a phone this time) count against that address only, and the
    # right pair after them is still let in.
    owner = _client()
    for _ in range(STRICT["tracking_per_code"] - 1):
        assert (await _lookup(stack, code, _email(), via_proxy_for=owner))[0] == 404
    assert (await _lookup(stack, code, email, via_proxy_for=owner))[0] == 200

    # Guesses sent together cannot pass the limit: each takes its place before the look-up.
    racer, guessed = _client(), new_code()
    answers = await asyncio.gather(
        *(
            _lookup(stack, guessed, _email(), via_proxy_for=racer)
            for _ in range(3 * STRICT["tracking_per_code"])
        )
    )
    statuses = sorted(a[0] for a in answers)
    assert statuses.count(404) == STRICT["tracking_per_code"], statuses
    assert set(statuses) == {404, 429}

    # Per email: wrong codes from one address.
    target = _email()
    guesser = _client()
    for _ in range(STRICT["tracking_per_email"]):
        status, _, _ = await _lookup(stack, new_code(), target, via_proxy_for=guesser)
        assert status == 404
    _assert_throttled(*await _lookup(stack, new_code(), target, via_proxy_for=guesser))
    assert (await _lookup(stack, new_code(), target, via_proxy_for=_client()))[0] == 404

    # Per client address, behind the trusted proxy: the rightmost untrusted hop is the client,
    # whatever the client wrote to its left.
    client = _client()
    for i in range(STRICT["tracking_per_client"]):
        status, _, _ = await _lookup(
            stack, new_code(), _email(), via_proxy_for=f"192.0.2.{i + 1}, {client}"
        )
        assert status == 404
    _assert_throttled(
        *await _lookup(stack, new_code(), _email(), via_proxy_for=f"198.51.100.7, {client}")
    )
    assert (await _lookup(stack, new_code(), _email(), via_proxy_for=_client()))[0] == 404

    # From an untrusted peer (127.0.0.1), X-Forwarded-For is ignored: every attempt is the
    # peer's, whatever address the header names.
    for _ in range(STRICT["tracking_per_client"]):
        status, _, _ = await post_json(
            stack.gateway + "/api/v1/tracking",
            {"code": new_code(), "email": _email()},
            forwarded_for=_client(),
        )
        assert status == 404
    _assert_throttled(
        *await post_json(
            stack.gateway + "/api/v1/tracking",
            {"code": new_code(), "email": _email()},
            forwarded_for=_client(),
        )
    )

    # The page says it in French, with when to try again.
    async with signed_session(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        status, text, headers = await _page(http, stack.gateway, new_code(), _email())
    assert status == 429
    assert int(headers["Retry-After"]) > 0
    found = RETRY_PAGE.search(html.unescape(text))
    assert found and 1 <= int(found.group(1)) <= 15
    assert 'role="alert"' in text

    # The same answer in a browser (this peer is throttled): the values kept, axe satisfied.
    await page.goto(stack.gateway + "/suivre")
    await page.get_by_label("Code Requête").fill(code)
    await page.get_by_label("Adresse e-mail ou numéro de mobile").fill(email)
    await page.get_by_role("button", name="Valider").click()
    assert RETRY_PAGE.search(await page.locator("#resultat").inner_text())
    assert await page.get_by_label("Code Requête").input_value() == code
    assert await axe_violations(page) == []
