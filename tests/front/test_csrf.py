"""A forged CSRF token, whatever its characters, is refused with the site's 403 page."""

from __future__ import annotations

import re

import aiohttp
import pytest
from yarl import URL

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


async def test_the_blank_form_kept_rendered_carries_each_browsers_own_token(front):
    """The blank submission form is rendered once and kept (``submission.BLANK_FORMS``): each
    browser still gets its own token, the one of its cookie, and otherwise the same page; a
    browser that already has a token gets that one."""
    form = front + "/soumettre/formulaire?nature=reclamation&organisme=ministere-budget"
    pages = []
    for _ in range(2):
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            for _ in range(2):  # the second time with the cookie the first one set
                async with http.get(form) as resp:
                    assert resp.status == 200
                    assert resp.headers["Cache-Control"] == "no-store"
                    html = await resp.text()
                token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
                cookie = http.cookie_jar.filter_cookies(URL(front))[csrf.COOKIE].value
                assert token == cookie
                pages.append((token, html))
    (first, page), (again, same), (other, page_other), _ = pages
    assert first == again and first != other
    assert page == same and page.replace(first, "") == page_other.replace(other, "")
    assert "\x00" not in page and 'name="body_id" value="ministere-budget"' in page
