"""« Code requête oublié ? »: the advice to look among unwanted emails is given for an email
only — the trial saw it under a mobile number, whose codes go by SMS."""

from __future__ import annotations

import aiohttp

from tests.front.test_phone_360 import TOKEN

JUNK = "courriers indésirables"


async def _answer(front: str, typed: str) -> str:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(front + "/suivre/code-oublie") as resp:
            token = TOKEN.search(await resp.text()).group(1)
        form = {"csrf_token": token, "email": typed}
        async with http.post(front + "/suivre/code-oublie", data=form) as resp:
            assert resp.status == 200, await resp.text()
            return await resp.text()


async def test_the_junk_mail_advice_is_for_an_email_only(front):
    by_email = await _answer(front, "aya.kouassi@example.ci")
    assert JUNK in by_email and 'id="resultat"' in by_email
    by_sms = await _answer(front, "07 07 12 34 56")
    assert 'id="resultat"' in by_sms and 'href="/suivre"' in by_sms
    assert JUNK not in by_sms
