"""The analysts' day of work over HTTP, on the whole platform in this process (issue 12): an
exact code searched opens the request, the queue's first column is the code as a link, a bad
filter value is said beside its filter, « Valider et passer à la suivante », the back office's
own 404 page, a phone number in the CSV export without an apostrophe."""

from __future__ import annotations

import csv
import io
import re
from urllib.parse import parse_qs, urlsplit

from shared.identity import Role
from tests.front.conftest import submission_fields
from tests.staff.helpers import create_account, signed_in_session
from tests.support import signed_session
from tests.triage.test_pages import _form_values, _in_queue, _page, _post

PASSWORD = "un mot de passe d'analyste"


async def _submit(stack, email: str, **overrides) -> str:
    body = submission_fields(email, **overrides)
    async with (
        signed_session() as http,
        http.post(stack.gateway + "/api/v1/requests", json=body) as resp,
    ):
        data = await resp.json()
        assert resp.status == 201, data
    return data["code"]


async def test_the_queue_leads_to_a_request_by_its_code(stack, database_url):
    await create_account(database_url, Role.ANALYST, "awa.kone", PASSWORD)
    code = await _submit(stack, "code@example.ci")
    await _in_queue(stack, code)
    base = stack.gateway + "/admin/traitements"
    async with await signed_in_session(stack.gateway, "awa.kone", PASSWORD) as http:
        # The code is the link of the row's first cell.
        status, html = await _page(http, base)
        assert status == 200
        first = re.search(r"<tbody>\s*<tr[^>]*>\s*<(t[hd])[^>]*>(.*?)</t[hd]>", html, re.S)
        assert first is not None and first.group(1) == "th"
        assert re.search(rf'<a href="/admin/traitements/{code}\?[^"]*">{code}</a>', first.group(2))

        # An exact code — as typed, or in groups — opens the request, whatever the filters.
        for words in (code, f"{code[:3]} {code[3:6]} {code[6:]}"):
            async with http.get(
                base, params={"q": words, "statut": "rejected"}, allow_redirects=False
            ) as resp:
                assert resp.status == 303
                location = resp.headers["Location"]
            assert location.startswith(f"/admin/traitements/{code}?")
            back = parse_qs(urlsplit(location).query)["retour"][0]
            assert back == "/admin/traitements?statut=rejected"
        status, html = await _page(http, f"{base}?q={code}")
        assert status == 200 and f'n° <span class="code">{code}</span>' in html
        # A code nobody has: the queue, saying nothing matches.
        status, html = await _page(http, f"{base}?q=0000000000")
        assert status == 200 and "Pas d'enregistrement" in html


async def test_a_bad_filter_value_is_said_beside_its_filter(stack, database_url):
    await create_account(database_url, Role.ANALYST, "awa.kone", PASSWORD)
    base = stack.gateway + "/admin/traitements"
    async with await signed_in_session(stack.gateway, "awa.kone", PASSWORD) as http:
        for query in ("statut=tous", "nature=plainte", "canal=pigeon"):
            status, html = await _page(http, f"{base}?{query}")
            assert status == 200, (query, html)
            assert "Service indisponible" not in html
            name = query.split("=")[0]
            assert re.search(rf'<p class="error" id="err-{name}">[^<]+</p>', html), query
            assert f'aria-describedby="err-{name}"' in html
        # The exports of such an address lead back to the queue, which says what is wrong.
        for export in ("export.csv", "export.xlsx"):
            async with http.get(
                f"{base}/{export}?statut=tous&q=guichet", allow_redirects=False
            ) as resp:
                assert resp.status == 303
                assert resp.headers["Location"] == "/admin/traitements?statut=tous&q=guichet"
            status, html = await _page(http, f"{base}/{export}?statut=tous")
            assert status == 200 and '<p class="error" id="err-statut">' in html


async def test_validate_then_the_next_in_the_queue(stack, database_url):
    await create_account(database_url, Role.ANALYST, "awa.kone", PASSWORD)
    first = await _submit(stack, "un@example.ci")
    second = await _submit(stack, "deux@example.ci")
    await _in_queue(stack, first)
    await _in_queue(stack, second)
    base = stack.gateway + "/admin/traitements"
    async with await signed_in_session(stack.gateway, "awa.kone", PASSWORD) as http:
        _, html = await _page(http, f"{base}/{first}")
        assert "Valider et passer à la suivante" in html
        assert re.search(r'<button type="submit" class="danger">Rejeter la requête</button>', html)
        values = {**_form_values(html), "confirm": "oui", "suivante": "1"}
        status, _, location = await _post(http, f"{base}/{first}/valider", values)
        assert status == 303 and location == f"/admin/traitements/{second}?validee={first}"
        _, html = await _page(http, stack.gateway + location)
        assert f"La requête n° {first} est validée. Voici la suivante dans la file." in html
        # The last one: validated, and told the queue is empty.
        values = {**_form_values(html), "confirm": "oui", "suivante": "1"}
        status, _, location = await _post(http, f"{base}/{second}/valider", values)
        assert status == 303 and location.startswith(f"/admin/traitements/{second}?")
        _, html = await _page(http, stack.gateway + location)
        assert "La requête est validée." in html
        assert "Aucune autre requête n'attend dans la file." in html


async def test_the_back_office_has_its_own_404_page(stack, database_url):
    await create_account(database_url, Role.ANALYST, "awa.kone", PASSWORD)
    async with await signed_in_session(stack.gateway, "awa.kone", PASSWORD) as http:
        for path in ("/admin/inconnue", "/admin/traitements/12/34", "/admin/comptes/x/y"):
            status, html = await _page(http, stack.gateway + path)
            assert status == 404, path
            assert "<h1>Page introuvable</h1>" in html
            assert "l'espace d'administration" in html
            assert 'aria-label="Menu de l\'administration"' in html  # the back office's layout
    # Someone not signed in: the site's page, which says nothing of the back office.
    async with signed_session() as http:
        status, html = await _page(http, stack.gateway + "/admin/inconnue")
        assert status == 404 and "Menu de l'administration" not in html


async def test_a_phone_number_in_the_csv_export_has_no_apostrophe(stack, database_url):
    await create_account(database_url, Role.ANALYST, "awa.kone", PASSWORD)
    fields = submission_fields("tel@example.ci", message="=1+2 pas une formule")
    fields["contact"]["phone"] = "+2250707123456"
    code = await _submit(
        stack, "tel@example.ci", contact=fields["contact"], message=fields["message"]
    )
    item = await _in_queue(stack, code)
    phone = item["contact"]["phone"]
    assert phone.startswith("+")
    async with await signed_in_session(stack.gateway, "awa.kone", PASSWORD) as http:
        async with http.get(
            stack.gateway + "/admin/traitements/export.csv", params={"q": code}
        ) as resp:
            assert resp.status == 200
            raw = (await resp.read()).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(raw), delimiter=";"))
    column = rows[0].index("Téléphone")
    assert rows[1][column] == phone  # no apostrophe before it
    assert rows[1][rows[0].index("Message")] == "'=1+2 pas une formule"  # a formula stays inert
