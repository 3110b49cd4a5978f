"""What a trial of the administrator's pages found (December 2026), each defect held by its test
on the real gateway and services: a name without a letter made a catalogue row nobody could
open; an API key was revoked at the first click; a deadline was kept for a body that does not
exist; a limit of 0 closed the citizens' form to everybody."""

from __future__ import annotations

import html
import re

import asyncpg

from shared.identity import Role
from tests.staff.helpers import create_account, form_token, signed_in_session

PASSWORD = "l'administrateur fait l'essai"


def _text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


async def _admin(stack, database_url):
    await create_account(database_url, Role.ADMINISTRATOR, "admin.essai", PASSWORD)
    return await signed_in_session(stack.gateway, "admin.essai", PASSWORD)


async def _post(http, page_url: str, action: str, data: dict) -> tuple[int, str, str]:
    """(status, Location, text) of the form at ``page_url`` posted to ``action``."""
    token = await form_token(http, page_url)
    async with http.post(action, data={"csrf_token": token, **data}, allow_redirects=False) as r:
        return r.status, r.headers.get("Location", ""), await r.text()


async def test_a_name_without_a_letter_is_refused_not_made_an_empty_identifier(stack, database_url):
    gw = stack.gateway
    async with await _admin(stack, database_url) as http:
        others = ("acronym", "phones", "email", "location", "hours")
        body = {"name": "!!!", **dict.fromkeys(others, "")}
        url = gw + "/admin/catalogue/organismes/nouveau"
        status, location, page = await _post(http, url, url, body)
        assert status == 422, location
        assert 'id="err-name"' in page
        assert "Écrivez au moins une lettre ou un chiffre." in _text(page)
        assert 'value="!!!"' in page

        url = gw + "/admin/catalogue/themes/nouveau"
        theme = {"label": "???", "parent_id": "", "position": ""}
        status, location, page = await _post(http, url, url, theme)
        assert status == 422, location
        assert 'id="err-label"' in page

        url = gw + "/admin/catalogue/lieux/nouveau"
        place = {"region": "…", "name": "--", "kind": "commune"}
        status, location, page = await _post(http, url, url, place)
        assert status == 422, location
        assert 'id="err-name"' in page

    conn = await asyncpg.connect(database_url)
    try:
        for table in ("bodies", "themes", "places"):
            assert await conn.fetchval(f"SELECT count(*) FROM intake.{table} WHERE id = ''") == 0
    finally:
        await conn.close()
