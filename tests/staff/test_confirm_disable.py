"""Disabling an account asks first (issue 12): the account page's button opens a question, and
only its « Oui, désactiver le compte » disables — without JavaScript. A post that did not go
through the question disables nothing and leads to it."""

from __future__ import annotations

import html as markup
import re

import asyncpg

from shared.identity import Role
from tests.staff.helpers import create_account, form_token, signed_in_session

PASSWORD = "correct horse battery staple"


async def _active(database_url: str, login: str) -> bool:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchval(
            "SELECT active FROM gateway.staff_accounts WHERE login = $1", login
        )
    finally:
        await conn.close()


async def test_disabling_an_account_asks_for_confirmation(gateway_alone, database_url):
    gw = await gateway_alone()
    await create_account(database_url, Role.ADMINISTRATOR, "admin.kouassi", PASSWORD)
    analyst = await create_account(database_url, Role.ANALYST, "awa.kone", PASSWORD)
    page = f"{gw.url}/admin/comptes/{analyst.id}"
    async with await signed_in_session(gw.url, "admin.kouassi", PASSWORD) as http:
        async with http.get(page) as resp:
            html = markup.unescape(await resp.text())
        # The first button only asks (a GET to the same page): no form posts from here.
        assert f'action="/admin/comptes/{analyst.id}/desactiver"' not in html
        assert re.search(r'<input type="hidden" name="confirmer" value="desactiver">', html)
        assert "Désactiver le compte…" in html

        async with http.get(page, params={"confirmer": "desactiver"}) as resp:
            html = markup.unescape(await resp.text())
        assert "Êtes-vous sûr de vouloir désactiver le compte awa.kone ?" in html
        assert f'action="/admin/comptes/{analyst.id}/desactiver"' in html
        assert '<input type="hidden" name="confirm" value="oui">' in html
        assert f'<a href="/admin/comptes/{analyst.id}">Annuler</a>' in html

        # A post without the answer disables nothing: it leads to the question.
        token = await form_token(http, page)
        async with http.post(
            f"{page}/desactiver", data={"csrf_token": token}, allow_redirects=False
        ) as resp:
            assert resp.status == 303
            assert resp.headers["Location"] == f"/admin/comptes/{analyst.id}?confirmer=desactiver"
        assert await _active(database_url, "awa.kone")

        async with http.post(
            f"{page}/desactiver", data={"csrf_token": token, "confirm": "oui"}
        ) as resp:
            html = markup.unescape(await resp.text())
        assert "Le compte est désactivé ; ses sessions ont pris fin." in html
        assert not await _active(database_url, "awa.kone")
