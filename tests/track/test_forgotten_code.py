"""« Code requête oublié ? »: the codes of an address emailed to it, and the same page whether
the address is known or not."""

from __future__ import annotations

import html
import json
import re
from email.header import decode_header, make_header

import aiohttp

from tests.browser import axe_violations
from tests.support import signed_session
from tests.track.conftest import STRICT, post_json, submit

SAME_ANSWER = (
    "Si cette adresse a servi à soumettre des requêtes, vous allez recevoir leurs codes par email."
)


def _text_of(mail) -> str:
    part = next(p for p in mail.walk() if p.get_content_type() == "text/plain")
    return part.get_payload(decode=True).decode("utf-8")


async def _ask(page, gateway: str, email: str) -> str:
    await page.goto(gateway + "/suivre")
    await page.get_by_role("link", name="Code requête oublié ?").click()
    await page.get_by_label("Adresse e-mail ou numéro de mobile").fill(email)
    await page.get_by_role("button", name="Recevoir mes codes").click()
    return (await page.locator("main").inner_text()).replace(email, "<adresse>")


async def test_forgotten_codes_are_emailed_and_the_page_says_the_same_for_any_address(
    relaxed_stack, page, smtp_server, intake_db
):
    stack = relaxed_stack
    email = "konan.yao@example.ci"
    _, first = await submit(stack, email)
    _, second = await submit(stack, email, nature="suggestion")
    await submit(stack, "someone.else@example.ci")
    # The acknowledgements of the submissions arrive first; the reminder is one more email.
    await smtp_server.wait_for(email, count=2)

    unknown_page = await _ask(page, stack.gateway, "jamais.vu@example.ci")
    assert SAME_ANSWER in unknown_page
    assert await axe_violations(page) == []
    known_page = await _ask(page, stack.gateway, "Konan.Yao@Example.ci")
    assert known_page == unknown_page

    mails = await smtp_server.wait_for(email, count=3)
    reminder = next(m for m in mails if "code" in str(make_header(decode_header(m["Subject"]))))
    subject = str(make_header(decode_header(reminder["Subject"])))
    assert subject == "Miliê — les codes de vos 2 requêtes"
    text = _text_of(reminder)
    assert first in text and second in text
    assert "Réclamation du" in text and "Suggestion du" in text
    assert f"{stack.gateway}/suivre?code={first}" in text
    # Only the known address got a reminder: one event in intake's outbox (both answers were
    # given after their transactions committed), none for the unknown address.
    rows = await intake_db.fetch(
        "SELECT body FROM outbox WHERE message_type = 'citizen.codes_reminder_requested.v2'"
    )
    assert [json.loads(r["body"])["email"] for r in rows] == [email]
    assert not smtp_server.to("jamais.vu@example.ci")


async def test_reminders_are_throttled_per_email_and_per_client(strict_stack):
    url = strict_stack.gateway + "/api/v1/tracking/codes-reminder"
    per_email = STRICT["reminder_per_email"]
    for _ in range(per_email):
        status, body, _ = await post_json(url, {"email": "cible@example.ci"})
        assert status == 202
        assert body == {"message": SAME_ANSWER}
    status, body, headers = await post_json(url, {"email": "cible@example.ci"})
    assert status == 429
    assert int(headers["Retry-After"]) > 0
    assert body["message"].startswith("Trop de tentatives. Réessayez dans ")

    # Per client: other addresses, the same client, until its own limit.
    answers = [
        (await post_json(url, {"email": f"autre{i}@example.ci"}))[0]
        for i in range(STRICT["reminder_per_client"])
    ]
    assert answers[-1] == 429
    assert answers.count(202) == STRICT["reminder_per_client"] - per_email - 1

    # The page says when to try again, in French.
    async with signed_session(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(strict_stack.gateway + "/suivre/code-oublie") as resp:
            token = resp.cookies["milie_csrf"].value
        async with http.post(
            strict_stack.gateway + "/suivre/code-oublie",
            data={"csrf_token": token, "email": "cible@example.ci"},
        ) as resp:
            page = html.unescape(await resp.text())
            assert resp.status == 429
            assert re.search(r"Trop de tentatives\. Réessayez dans \d+ minutes?\.", page)
