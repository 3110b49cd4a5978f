"""The page with the code after « OK »: the code comes in a short-lived signed cookie set by
« OK »'s answer (never in the URL); without it, or with one not ours, the page asks intake."""

from __future__ import annotations

import re
from http.cookies import SimpleCookie

import aiohttp
import asyncpg

FORM = "/soumettre/formulaire"
FIELDS = {
    "nature": "reclamation",
    "body_id": "ministere-budget",
    "place_id": "abidjan-plateau",
    "message": "Le guichet ferme avant l'heure.",
    "last_name": "KONE",
    "first_names": "Awa",
    "country": "CI",
    "phone": "0707123456",
    "email": "awa@example.ci",
    "terms_accepted": "on",
}


async def _ok(http: aiohttp.ClientSession, base: str, token: str, draft_id: str):
    data = {"csrf_token": token, "draft_id": draft_id}
    return await http.post(base + "/soumettre/confirmer", data=data, allow_redirects=False)


async def _code_page(http: aiohttp.ClientSession, url: str) -> tuple[int, str | None]:
    async with http.get(url, allow_redirects=False) as resp:
        found = re.search(r"\b(\d{10})\b", await resp.text())
        return resp.status, found.group(1) if found else None


async def test_the_code_page_reads_the_signed_cookie_of_ok_and_else_asks_intake(
    front, database_url
):
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(f"{front}{FORM}?nature=reclamation&organisme=ministere-budget") as r:
            token = re.search(r'name="csrf_token" value="([^"]+)"', await r.text()).group(1)
        form = aiohttp.FormData()
        form.add_field("csrf_token", token)
        form.add_field("draft_id", "")
        for name, value in FIELDS.items():
            form.add_field(name, value)
        form.add_field("attachments", b"", filename="", content_type="application/octet-stream")
        async with http.post(front + FORM, data=form, allow_redirects=False) as resp:
            assert resp.status == 303, await resp.text()
            draft_id = resp.headers["Location"].rpartition("brouillon=")[2]

        async with await _ok(http, front, token, draft_id) as resp:
            assert resp.status == 303
            location = resp.headers["Location"]
            cookie = SimpleCookie(resp.headers["Set-Cookie"])["milie_enregistree"]
        assert location == f"/soumettre/enregistree?brouillon={draft_id}"
        assert cookie["path"] == "/soumettre/enregistree" and cookie["httponly"]
        assert cookie["samesite"] == "Strict" and 0 < int(cookie["max-age"]) <= 600

        conn = await asyncpg.connect(database_url)
        try:
            stored = [
                r["code"].strip() for r in await conn.fetch("SELECT code FROM intake.requests")
            ]
            assert len(stored) == 1 and stored[0] in cookie.value
            assert stored[0] not in location
            status, shown = await _code_page(http, front + location)
            assert status == 200 and shown == stored[0]

            # « OK » again (the browser's history): the same code, still one request.
            async with await _ok(http, front, token, draft_id) as resp:
                assert resp.status == 303
            assert await conn.fetchval("SELECT count(*) FROM intake.requests") == 1

            # A cookie not ours (its code changed) is ignored: intake gives the true code.
            def receipt(value: str | None) -> None:
                http.cookie_jar.clear(lambda morsel: morsel.key == "milie_enregistree")
                if value is not None:
                    http.cookie_jar.update_cookies({"milie_enregistree": value})

            receipt(cookie.value.replace(stored[0], "1234567890"))
            assert await _code_page(http, front + location) == (200, stored[0])
            receipt(cookie.value[:-1] + "\u00e9")  # not ASCII: refused, not crashed on
            assert await _code_page(http, front + location) == (200, stored[0])

            # With the signed cookie the page needs nothing from intake, the draft gone or not.
            await conn.execute("DELETE FROM intake.drafts")
            receipt(cookie.value)
            assert await _code_page(http, front + location) == (200, stored[0])
            # For another draft the cookie says nothing; nor does intake any more.
            other = location.replace(draft_id[:8], "00000000")
            assert (await _code_page(http, front + other))[0] == 410
            receipt(None)
            assert (await _code_page(http, front + location))[0] == 410
        finally:
            await conn.close()
