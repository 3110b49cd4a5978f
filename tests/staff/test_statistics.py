"""« Statistiques » and « Consultations » in the back office: counts per body from the stats
service, filtered by the period « PERIODE DU … au … », exported; a focal point sees its own
body's counts only; the « En attente » count is shown to an administrator too."""

from __future__ import annotations

import csv
import html as markup
import io
import re
import zipfile
from datetime import UTC, datetime

import aiohttp
import openpyxl
from markupsafe import escape

from shared.identity import Role
from tests.front.conftest import submission_fields
from tests.staff.helpers import create_account, signed_in_session
from tests.support import eventually, signed_session

PASSWORD = "les chiffres de la période"
BUDGET, JUSTICE = "ministere-budget", "ministere-justice"


async def _submit(stack, http: aiohttp.ClientSession, **overrides) -> str:
    fields = submission_fields(**overrides)
    async with http.post(stack.gateway + "/api/v1/requests", json=fields) as resp:
        body = await resp.json()
        assert resp.status == 201, body
    return body["code"]


async def _page(http: aiohttp.ClientSession, url: str) -> str:
    async with http.get(url) as resp:
        assert resp.status == 200, url
        return await resp.text()


def _cells(html: str, body_name: str) -> list[str]:
    """The figures of a body's row in the statistics table."""
    name = re.escape(str(escape(body_name)))
    row = re.search(rf"<th scope=\"row\">{name}</th>(.*?)</tr>", html, re.S)
    return re.findall(r"<td>(\d+)</td>", row[1]) if row else []


async def _catalogue_names(stack) -> list[str]:
    async with (
        signed_session() as http,
        http.get(stack.url("intake") + "/catalogue/bodies") as resp,
    ):
        assert resp.status == 200
        return [b["name"] for b in (await resp.json())["bodies"]]


async def test_statistics_and_consultations_follow_the_period_and_the_body(stack, database_url):
    await create_account(database_url, Role.ADMINISTRATOR, "stats.admin", PASSWORD)
    await create_account(database_url, Role.FOCAL_POINT, "stats.pf", PASSWORD, BUDGET)
    async with signed_session() as http:
        await _submit(stack, http, body_id=BUDGET)
        await _submit(stack, http, body_id=BUDGET, nature="suggestion")
        await _submit(stack, http, body_id=JUSTICE)
    today = datetime.now(UTC).date().isoformat()
    budget_name = "Ministère du budget et du Portefeuille de l'Etat"

    async with await signed_in_session(stack.gateway, "stats.admin", PASSWORD) as admin:
        base = stack.gateway + "/admin/statistiques"

        async def counted():
            html = await _page(admin, base)
            return html if _cells(html, budget_name)[:1] == ["2"] else None

        html = await eventually(counted)
        # Total 2: one Réclamation, one Suggestion, both « En attente ».
        assert _cells(html, budget_name)[:3] == ["2", "1", "1"]
        assert "TOTAUX" in html and "Justice" in html
        # The analysts' count is in the shell for an administrator too, named « En attente
        # d'examen » like the column of requests not yet examined: a bare « En attente » also
        # named the body's count and the focal point's « Mettre en attente ».
        said = html.replace("&#39;", "'")
        assert re.search(r"En attente d'examen <span class=\"badge[^\"]*\">3<", said)
        assert re.search(r">En attente d'examen(<| ▲)", said.split("<thead>", 1)[1])
        assert not re.search(r"En attente(?! d'examen)", said)

        # Every body of the catalogue is listed, on one page, as on the public page.
        catalogue = await _catalogue_names(stack)
        listed = re.findall(r'<th scope="row">([^<]+)</th>', html)
        assert set(catalogue) <= {str(markup.unescape(n)) for n in listed}
        assert "TOTAUX" in listed and 'aria-label="Pagination"' not in html

        # A period without requests: every body with zeros; the period of today: the same rows.
        html = await _page(admin, f"{base}?du=2019-01-01&au=2019-12-31")
        assert "PERIODE DU 01/01/2019 au 31/12/2019" in html
        assert _cells(html, budget_name)[:1] == ["0"]
        html = await _page(admin, f"{base}?du={today}&au={today}&q=budget")
        assert _cells(html, budget_name) and "Justice" not in html

        # The exports: the same rows, with the totals.
        async with admin.get(f"{base}/export.csv?q=budget") as resp:
            rows = list(
                csv.reader(io.StringIO((await resp.read()).decode("utf-8-sig")), delimiter=";")
            )
        assert rows[0][:3] == ["Organisme public", "Total", "Réclamation"]
        assert [r[:2] for r in rows[1:]] == [[budget_name, "2"], ["TOTAUX", "2"]]
        async with admin.get(f"{base}/export.xlsx") as resp:
            assert resp.status == 200
            data = await resp.read()
        book = zipfile.ZipFile(io.BytesIO(data))
        assert "TOTAUX" in book.read("xl/worksheets/sheet1.xml").decode()
        # Read back: the counts are numbers Excel can add, the header frozen and filtered.
        sheet = openpyxl.load_workbook(io.BytesIO(data)).active
        table = [list(r) for r in sheet.iter_rows(values_only=True)]
        budget_row = next(r for r in table if r[0] == budget_name)
        assert budget_row[1] == 2 and isinstance(budget_row[1], int)
        assert all(isinstance(v, int) for r in table[1:] for v in r[1:])
        assert len(table) - 2 >= len(catalogue)  # every body, then TOTAUX
        assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref.startswith("A1:")
        assert sheet.column_dimensions["A"].width > len("Organisme public")

        # « Consultations »: the period's requests by nature, each a link to their list.
        html = await _page(admin, stack.gateway + f"/admin/consultations?du={today}&au={today}")
        assert re.search(r">Réclamations</a> <span class=\"figure\">2<", html)
        assert f"statut=all&amp;nature=suggestion&amp;du={today}" in html or (
            f"du={today}&amp;au={today}&amp;statut=all&amp;nature=suggestion" in html
        )

        # The dashboard's figures follow the period too.
        html = await _page(admin, stack.gateway + "/admin/?du=2019-01-01&au=2019-12-31")
        assert re.search(
            r"<h3>Total requêtes</h3>\s*<p class=\"figure\"><a href=\"[^\"]+\">0<", html
        )

    # A focal point: its own body's counts only, whatever the address asks.
    async with await signed_in_session(stack.gateway, "stats.pf", PASSWORD) as focal:
        html = await _page(focal, stack.gateway + "/admin/statistiques?q=justice")
        assert "Justice" not in html
        html = await _page(focal, stack.gateway + "/admin/statistiques")
        assert _cells(html, budget_name)[:1] == ["2"] and "Justice" not in html
