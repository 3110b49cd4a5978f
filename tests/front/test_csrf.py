"""A forged CSRF token, whatever its characters, is refused with the site's 403 page."""

from __future__ import annotations

import aiohttp
import pytest

from gateway.web import csrf


@pytest.mark.parametrize(
    "token",
    ["é.é", "abc.dé", "\u202f", "not-a-token"],
    ids=["non-ascii", "non-ascii-mac", "narrow-space", "no-dot"],
)
async def test_a_forged_token_gets_the_403_page_not_an_error(front, token):
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        http.cookie_jar.update_cookies({csrf.COOKIE: token})
        async with http.post(
            front + "/suivre",
            data={"csrf_token": token, "code": "5030529490", "email": "awa@example.ci"},
            allow_redirects=False,
        ) as resp:
            assert resp.status == 403
            assert "Formulaire expiré ou invalide" in await resp.text()
