"""The analysts' « Tableau de bord » (issue 12): every number is a link to its list, and that
list shows as many requests as the number says — the period's requests by nature, « En attente
d'examen » and « En retard »."""

from __future__ import annotations

import html as htmllib
import re

import asyncpg

from shared.identity import Role
from tests.staff.helpers import create_account, signed_in_session
from tests.support import eventually
from tests.triage.test_day_work import _submit
from tests.triage.test_pages import _in_queue, _page

PASSWORD = "le tableau des analystes"


def _cards(page: str) -> dict[str, tuple[int, str]]:
    """label → (figure, link) of every card of the dashboard."""
    found = re.findall(
        r'<li class="card[^"]*">\s*<h3>([^<]+)</h3>\s*<p class="figure"><a href="([^"]+)">(\d+)<',
        page,
    )
    return {htmllib.unescape(label): (int(figure), href) for label, href, figure in found}


def _rows(page: str) -> int:
    """The requests a queue page lists (one code link per row)."""
    body = re.search(r"<tbody>(.*?)</tbody>", page, re.S)
    assert body is not None
    return len(set(re.findall(r'href="/admin/traitements/(\d{10})\?', body[1])))


async def test_every_number_of_the_analysts_dashboard_leads_to_its_list(stack, database_url):
    await create_account(database_url, Role.ANALYST, "tableau.analyste", PASSWORD)
    codes = [
        await _submit(stack, "t1@example.ci"),
        await _submit(stack, "t2@example.ci"),
        await _submit(stack, "t3@example.ci", nature="suggestion"),
    ]
    for code in codes:
        await _in_queue(stack, code)
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            """UPDATE triage.queue_items SET admissibility_deadline = now() - interval '2 days'
               WHERE code = $1""",
            codes[0],
        )
    finally:
        await conn.close()

    async with await signed_in_session(stack.gateway, "tableau.analyste", PASSWORD) as http:

        async def counted():
            status, page = await _page(http, stack.gateway + "/admin/")
            assert status == 200
            cards = _cards(page)
            return cards if cards.get("Total requêtes", (0,))[0] == 3 else None

        cards = await eventually(counted)
        assert cards["Réclamation"][0] == 2 and cards["Suggestion"][0] == 1
        assert cards["En attente d'examen"][0] == 3
        assert cards["En retard"][0] == 1
        assert cards["En retard"][1] == "/admin/traitements?retard=1"
        for label, (figure, href) in cards.items():
            assert href.startswith("/admin/traitements"), label
            status, page = await _page(http, stack.gateway + htmllib.unescape(href))
            assert status == 200, href
            assert _rows(page) == figure, (label, href)


async def test_the_call_centre_dashboard_leads_to_the_form_and_asks_no_period(
    gateway_alone, database_url
):
    """An operator's dashboard counts nothing: no « PERIODE DU … » to fill in for nothing, and
    the way to the form in the page, not only in the menu."""
    gateway = await gateway_alone()
    await create_account(database_url, Role.OPERATOR, "centre.accueil", PASSWORD)
    async with await signed_in_session(gateway.url, "centre.accueil", PASSWORD) as operator:
        async with operator.get(f"{gateway.url}/admin/") as resp:
            page = await resp.text()
    assert 'class="bo-period"' not in page and "PERIODE DU" not in page
    assert '<a class="button" href="/admin/appel">Saisir une requête</a>' in page


async def test_the_help_page_tells_how_agents_really_sign_in(gateway_alone, database_url):
    """« Document d'aide » as the platform works: a password the agent chooses through the
    emailed link, then the second factor; a new link from an administrator, never a password
    « notifié au préalable » nor « réinitialisé » by someone else."""
    gateway = await gateway_alone()
    await create_account(database_url, Role.FOCAL_POINT, "pf.aide", PASSWORD, "ministere-budget")
    async with await signed_in_session(gateway.url, "pf.aide", PASSWORD) as focal:
        async with focal.get(f"{gateway.url}/admin/aide") as resp:
            page = htmllib.unescape(await resp.text())
    assert "notifiés au préalable" not in page and "réinitialisent un mot de passe" not in page
    assert "choisissez votre mot de passe" in page and "code à 6 chiffres" in page
    assert "un administrateur vous envoie un nouveau lien de connexion" in page
    assert "demandes d'information" in page and "(.xlsx)" in page
