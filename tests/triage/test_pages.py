"""The analysts' pages over HTTP, on the whole platform in this process: two analysts on one
request (one wins, the other is told), a stale page, the re-index form, the CSRF guard, the
exports, an attachment through the gateway, the call centre's form posted twice."""

from __future__ import annotations

import csv
import html as markup
import io
import re
import zipfile
from datetime import datetime

import asyncpg
import openpyxl

from shared.identity import Identity, Role
from tests.front.conftest import OWNER, PNG, submission_fields
from tests.staff.helpers import (
    assert_private_answer,
    create_account,
    form_token,
    signed_in_session,
)
from tests.support import as_staff, eventually, signed_session

PASSWORD = "un mot de passe d'analyste"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
VERSION = re.compile(r'name="version" value="(\d+)"')


async def _submit(stack, email: str, **overrides) -> str:
    body = submission_fields(email, **overrides)
    async with (
        signed_session() as http,
        http.post(stack.gateway + "/api/v1/requests", json=body) as resp,
    ):
        data = await resp.json()
        assert resp.status == 201, data
    return data["code"]


async def _in_queue(stack, code: str) -> dict:
    who = Identity(staff_id="t", role=Role.ANALYST)
    async with signed_session() as http:

        async def probe():
            headers = as_staff(who)
            async with http.get(f"{stack.url('triage')}/queue/{code}", headers=headers) as r:
                return await r.json() if r.status == 200 else None

        return await eventually(probe)


async def _page(http, url: str) -> tuple[int, str]:
    async with http.get(url) as resp:
        return resp.status, markup.unescape(await resp.text())


async def _post(http, url: str, data: dict) -> tuple[int, str, str]:
    async with http.post(url, data=data, allow_redirects=False) as resp:
        return resp.status, markup.unescape(await resp.text()), resp.headers.get("Location", "")


def _form_values(html: str) -> dict[str, str]:
    return {"csrf_token": TOKEN.search(html).group(1), "version": VERSION.search(html).group(1)}


async def test_two_analysts_one_request_and_a_stale_page(stack, database_url):
    await create_account(database_url, Role.ANALYST, "awa.kone", PASSWORD, display_name="Awa Koné")
    await create_account(database_url, Role.ANALYST, "yao.kouame", PASSWORD)
    first = await _submit(stack, "un@example.ci")
    second = await _submit(stack, "deux@example.ci")
    await _in_queue(stack, first)
    await _in_queue(stack, second)
    awa = await signed_in_session(stack.gateway, "awa.kone", PASSWORD)
    yao = await signed_in_session(stack.gateway, "yao.kouame", PASSWORD)
    base = stack.gateway + "/admin/traitements"
    async with awa, yao:
        # Both open the first request; Awa validates, then Yao tries to reject.
        _, awa_page = await _page(awa, f"{base}/{first}")
        _, yao_page = await _page(yao, f"{base}/{first}")
        status, _, location = await _post(
            awa, f"{base}/{first}/valider", {**_form_values(awa_page), "confirm": "oui"}
        )
        assert (status, location) == (303, f"/admin/traitements/{first}?fait=valider")
        status, html, _ = await _post(
            yao,
            f"{base}/{first}/rejeter",
            {**_form_values(yao_page), "message": "Hors sujet", "confirm": "oui"},
        )
        assert status == 409
        # The one who decided, by name (issue 12).
        assert "Cette requête a déjà été traitée par Awa Koné le " in html
        assert 'role="alert" id="probleme"' in html
        assert "Rejeter la requête" not in html  # no decision form on a decided request

        # The second: Yao's page is read, then Awa re-indexes it; Yao's validation is refused.
        _, yao_page = await _page(yao, f"{base}/{second}")
        _, awa_page = await _page(awa, f"{base}/{second}")
        status, html, _ = await _post(
            awa,
            f"{base}/{second}/reindexer",
            {
                **_form_values(awa_page),
                "body_id": "ministere-justice",
                "theme_id": "pas-un-theme",
                "confirm": "oui",
            },
        )
        assert status == 422
        error = re.search(r'<p class="error" id="err-reindexer-theme_id">([^<]+)</p>', html)
        assert error and "n'est pas proposé pour cet organisme" in error.group(1)
        assert 'aria-describedby="hint-reindexer-theme_id err-reindexer-theme_id"' in html
        assert '<option value="ministere-justice" selected>' in html  # the choice is kept
        status, _, location = await _post(
            awa,
            f"{base}/{second}/reindexer",
            {
                **_form_values(awa_page),
                "body_id": "ministere-justice",
                "theme_id": "accueil-agent",
                "message": "Relève de la Justice.",
                "confirm": "oui",
            },
        )
        assert status == 303
        _, after = await _page(awa, stack.gateway + location)
        assert "La requête est réindexée" in after
        assert "De « Ministère du budget et du Portefeuille de l'Etat — ACCUEIL : Espace" in after
        status, html, _ = await _post(
            yao, f"{base}/{second}/valider", {**_form_values(yao_page), "confirm": "oui"}
        )
        assert status == 409
        assert "modifiée entre-temps par Awa Koné" in html

        # A form without its CSRF token changes nothing.
        status, _, _ = await _post(yao, f"{base}/{second}/valider", {"confirm": "oui"})
        assert status == 403
        item = await _in_queue(stack, second)
        assert item["status"] == "waiting"

        # A hand-made address with an unknown criterion: said next to it, the queue still shown.
        status, html = await _page(awa, f"{base}?nature=plainte")
        assert status == 200
        assert 'id="err-nature"' in html and second in html
        # An unknown code.
        assert (await _page(awa, f"{base}/1234567891"))[0] == 404


async def test_exports_and_attachments_through_the_gateway(stack, database_url):
    await create_account(database_url, Role.ANALYST, "awa.kone", PASSWORD)
    intake = stack.url("intake")
    headers = {"X-Draft-Owner": OWNER}
    fields = submission_fields(
        "pj@example.ci", message='=HYPERLINK("http://x";"clic") Voir la photo jointe.'
    )
    async with signed_session() as http:
        async with http.post(f"{intake}/drafts", json={"fields": fields}, headers=headers) as r:
            draft = await r.json()
        async with http.post(
            f"{intake}/drafts/{draft['draft_id']}/files",
            params={"filename": "guichet fermé.png"},
            data=PNG,
            headers=headers,
        ) as r:
            stored = await r.json()
            assert r.status == 201, stored
        async with http.post(f"{intake}/drafts/{draft['draft_id']}/submit", headers=headers) as r:
            code = (await r.json())["code"]
    item = await _in_queue(stack, code)
    assert item["attachments"][0]["filename"] == "guichet fermé.png"

    async with await signed_in_session(stack.gateway, "awa.kone", PASSWORD) as http:
        base = stack.gateway + "/admin/traitements"
        _, html = await _page(http, f"{base}/{code}")
        # The country as the citizen chose it in the form, not its ISO code.
        assert "<dt>Pays</dt><dd>COTE D'IVOIRE (+225)</dd>" in html
        link = f"/admin/pieces-jointes/{stored['id']}"
        assert f'href="{link}"' in html
        async with http.get(stack.gateway + link) as resp:
            assert resp.status == 200
            assert await resp.read() == PNG
            assert resp.headers["Content-Type"] == "image/png"
            assert resp.headers["Content-Disposition"].startswith("attachment;")
            assert resp.headers["X-Content-Type-Options"] == "nosniff"
            # Streamed: the headers went out before any middleware saw the answer.
            assert "sandbox" in resp.headers["Content-Security-Policy"]  # intake's, kept
            assert "no-store" in resp.headers["Cache-Control"]
            assert resp.headers["X-Frame-Options"] == "DENY"
            assert resp.headers["Referrer-Policy"] == "same-origin"

        async with http.get(f"{base}/export.csv?q={code}") as resp:
            assert resp.status == 200
            assert_private_answer(resp, hsts=False)  # MILIE_ENV=test: no HSTS
            data = await resp.read()
        assert data.startswith("\ufeff".encode())
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
        assert [r[0] for r in rows] == ["N°", code]
        assert rows[1][6].startswith("'=HYPERLINK")
        conn = await asyncpg.connect(database_url)
        try:
            logged = await conn.fetchval(
                "SELECT detail FROM triage.audit_log WHERE action = 'export' ORDER BY id LIMIT 1"
            )
        finally:
            await conn.close()
        assert logged == "1 ligne exportée (CSV)"

        async with http.get(f"{base}/export.xlsx?q={code}") as resp:
            assert resp.status == 200
            assert_private_answer(resp, hsts=False)
            assert resp.headers["Content-Type"].startswith(
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            )
            data = await resp.read()
        sheet = openpyxl.load_workbook(io.BytesIO(data)).active
        cells = [list(row) for row in sheet.iter_rows(values_only=True)]
        assert cells[0][:2] == ["N°", "Nature"]
        # The code stays text (its leading zeros kept); a text cell of a workbook is never a
        # formula: shown as the citizen wrote it.
        assert cells[1][0] == code
        assert cells[1][6].startswith('=HYPERLINK("http://x";"clic")')
        assert sheet["A2"].data_type == "s" and sheet["G2"].data_type == "s"
        # Dates are dates, in Abidjan's time, shown the French way; the days left a number.
        submitted = cells[0].index("Soumise le")
        assert isinstance(cells[1][submitted], datetime)
        assert cells[1][submitted].strftime("%d/%m/%Y %H:%M") == rows[1][submitted]
        assert sheet.cell(2, submitted + 1).number_format == "dd/mm/yyyy hh:mm"
        assert isinstance(cells[1][cells[0].index("Jours restants")], int)
        # The header stays in sight and filters.
        assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref.startswith("A1:")
        with zipfile.ZipFile(io.BytesIO(data)) as book:
            xml = book.read("xl/worksheets/sheet1.xml").decode()
        assert 'r="G2" t="inlineStr"' in xml  # inline text: nothing for Excel to evaluate


async def test_the_call_centre_form_twice_makes_one_request(stack, database_url):
    await create_account(database_url, Role.OPERATOR, "centre.appels", PASSWORD)
    async with await signed_in_session(stack.gateway, "centre.appels", PASSWORD) as http:
        url = stack.gateway + "/admin/appel"
        token = await form_token(http, url)
        _, html = await _page(http, url)
        key = re.search(r'name="submission_key" value="([^"]+)"', html).group(1)
        form = {
            "csrf_token": token,
            "submission_key": key,
            "nature": "demande_information",
            "body_id": "ministere-budget",
            "message": "Quels papiers pour un passeport ?",
            "phone": "0707123456",
            "country": "CI",
            "terms_accepted": "on",
            # A field the citizen's form does not have is ignored, whatever it says.
            "channel": "web",
        }
        first = await _post(http, url, form)
        again = await _post(http, url, form)
        codes = [
            "".join(re.search(r'id="code">(\d{3}) (\d{3}) (\d{4})<', html).groups())
            for _, html, _ in (first, again)
        ]
        assert first[0] == again[0] == 200
        assert codes[0] == codes[1]
        # The same form edited after « Retour » (another request, the same key): not the first
        # request's code, but the form again with the reason and a new key.
        status, html, _ = await _post(http, url, {**form, "message": "Et pour une carte ?"})
        assert status == 409
        assert codes[0] not in html and "a déjà enregistré une autre requête" in html
        assert re.search(r'name="submission_key" value="([^"]+)"', html).group(1) != key
    item = await _in_queue(stack, codes[0])
    assert item["channel"] == "phone"
    assert item["contact"]["email"] is None
    # The public JSON API cannot pass itself off as the call centre.
    fields = submission_fields("api@example.ci")
    async with signed_session() as plain:
        # The channel is the gateway's to say, in the signed call: a body naming one is refused.
        async with plain.post(
            stack.gateway + "/api/v1/requests", json={**fields, "channel": "phone"}
        ) as r:
            assert r.status == 422
            assert [e["field"] for e in (await r.json())["errors"]] == ["channel"]
        async with plain.post(stack.gateway + "/api/v1/requests", json=fields) as r:
            api_code = (await r.json())["code"]
    assert (await _in_queue(stack, api_code))["channel"] == "api"
