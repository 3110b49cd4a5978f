"""The citizen sees their own attachments on the tracking page (staff saw « piece.pdf », the
citizen's table had no « Pièces jointes » row): each name and size, and a download that asks the
same code and email as the answer's documents — never a file of another request, never for a
wrong email."""

from __future__ import annotations

import re

import aiohttp
import asyncpg

from tests.front.conftest import PDF
from tests.front.test_confirmation_kept import FIELDS
from tests.front.test_phone_360 import TOKEN

FORM = "/soumettre/formulaire"
EMAIL = FIELDS["email"]
ROW = re.compile(r'<th scope="row">Pièces jointes</th>\s*<td id="attachments">(.*?)</td>', re.S)


def _hidden(page: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', page).group(1)


async def _submitted_with_a_file(front: str, database_url: str) -> str:
    """The code of a request sent through the form's pages with « releve.pdf » attached."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        await _submit_with_a_file(http, front)
    conn = await asyncpg.connect(database_url)
    try:
        return (await conn.fetchval("SELECT code FROM intake.requests")).strip()
    finally:
        await conn.close()


async def _submit_with_a_file(http: aiohttp.ClientSession, front: str) -> None:
    async with http.get(f"{front}{FORM}?nature=reclamation&organisme=ministere-budget") as r:
        token = TOKEN.search(await r.text()).group(1)
    form = aiohttp.FormData()
    form.add_field("csrf_token", token)
    form.add_field("draft_id", "")
    for name, value in FIELDS.items():
        form.add_field(name, value)
    form.add_field("attachments", PDF, filename="releve.pdf", content_type="application/pdf")
    async with http.post(front + FORM, data=form) as resp:
        page = await resp.text()
        assert resp.url.path == "/soumettre/confirmer", page[:3000]
    confirm = {
        "csrf_token": _hidden(page, "csrf_token"),
        "draft_id": _hidden(page, "draft_id"),
        "version": _hidden(page, "version"),
    }
    async with http.post(front + "/soumettre/confirmer", data=confirm) as resp:
        assert resp.url.path == "/soumettre/enregistree", await resp.text()


async def test_the_citizen_sees_and_downloads_their_own_attachments(front, database_url):
    code = await _submitted_with_a_file(front, database_url)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(front + "/suivre") as resp:
            token = TOKEN.search(await resp.text()).group(1)
        typed = {"csrf_token": token, "code": code, "email": EMAIL}
        async with http.post(front + "/suivre", data=typed) as resp:
            assert resp.status == 200
            page = await resp.text()
        row = re.search(
            r'<th scope="row">Pièces jointes</th>\s*<td id="attachments">(.*?)</td>', page, re.S
        )
        assert row, "no « Pièces jointes » row on the tracking page"
        assert "releve.pdf" in row.group(1) and "(1 Ko)" in row.group(1)
        attachment_id = _hidden(row.group(1), "attachment_id")

        wanted = {**typed, "attachment_id": attachment_id}
        async with http.post(front + "/suivre/piece-jointe", data=wanted) as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"] == "application/pdf"
            assert resp.headers["Content-Disposition"].startswith("attachment")
            assert resp.headers["Cache-Control"] == "no-store"
            assert await resp.read() == PDF
        # The wrong email: the tracking form again, no file.
        wrong = {**wanted, "email": "quelqu.un@example.ci"}
        async with http.post(front + "/suivre/piece-jointe", data=wrong) as resp:
            assert resp.status == 404
            assert resp.headers["Content-Type"].startswith("text/html")
        # A file that is not this request's: the page again, with why.
        other = {**wanted, "attachment_id": "00000000-0000-0000-0000-000000000000"}
        async with http.post(front + "/suivre/piece-jointe", data=other) as resp:
            assert resp.status == 404
            assert "Pièces jointes" in await resp.text()


async def test_the_attachments_row_on_a_phone_and_by_keyboard(front, database_url, browser):
    """At 360 px: the row reads « Télécharger releve.pdf (1 Ko) », axe finds nothing, the page
    does not scroll sideways, and the keyboard alone downloads the file. (A plain form: the test
    above downloads it with no script at all; axe needs JavaScript in the page to run.)"""
    from tests.browser import axe_violations
    from tests.front.pages import new_page, no_horizontal_scroll

    code = await _submitted_with_a_file(front, database_url)
    context, page = await new_page(browser, width=360)
    page.set_default_timeout(20_000)
    try:
        await page.goto(front + "/suivre")
        await page.get_by_label("Code Requête").fill(code)
        await page.get_by_label("Adresse e-mail ou numéro de mobile").fill(EMAIL)
        await page.get_by_role("button", name="Valider").click()
        cell = page.locator("#attachments")
        await cell.wait_for()
        button = cell.get_by_role("button", name="Télécharger releve.pdf (1 Ko)")
        await button.wait_for()
        assert await no_horizontal_scroll(page)
        assert await axe_violations(page) == []
        await button.focus()
        async with page.expect_download() as info:
            await page.keyboard.press("Enter")
        download = await info.value
        assert download.suggested_filename == "releve.pdf"
        assert (await download.path()).read_bytes() == PDF
    finally:
        await context.close()
