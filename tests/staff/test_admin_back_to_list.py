"""The back office's items opened from a searched and paged list (an account, a public body) and
the refusals of an action on a row gone from the catalogue: each brings the administrator back to
the list at the search and page they were on, as « Clés d'API » and « Délais » do."""

from __future__ import annotations

import html
import re

import asyncpg

from shared.identity import Role
from tests.staff.helpers import create_account
from tests.staff.test_admin_leftovers import _hidden, _kept_at, _second_page
from tests.staff.test_admin_trial import _admin, _post, _text


async def _item(http, gw: str, list_page: str, path: str, back: str) -> str:
    """The item at ``path``, through its link on the list's page: the link carries ``back``."""
    link = f"{path}?{back}"
    assert f'href="{html.escape(link)}"' in list_page, link
    async with http.get(gw + link) as resp:
        assert resp.status == 200
        return await resp.text()


def _back_in_every_form(page: str, actions: list[str], back: str) -> None:
    """Each form of ``page`` posting to one of ``actions`` carries the list's search and page."""
    carried = dict(re.findall(r"([a-z]+)=([^&]+)", back.replace("+", " ")))
    for action in actions:
        fields = _hidden(page, action)
        assert {k: fields.get(k) for k in carried} == carried, (action, fields)


async def test_an_account_opened_from_the_list_keeps_its_search_and_page(stack, database_url):
    """« Comptes »: the link from the list to an account lost the search and the page, so after
    any action (disable, enable, a new address, a new role…) the account's breadcrumb led to an
    unsearched first page."""
    for n in range(30):
        await create_account(database_url, Role.ANALYST, f"agent.essai.{n:02d}", "Motdepasse-1234")
    gw = stack.gateway
    url = gw + "/admin/comptes"
    words = "agent.essai"
    async with await _admin(stack, database_url) as http:
        back, page = await _second_page(http, url, words)
        account_id = re.search(
            r'href="/admin/comptes/([0-9a-f-]{36})\?[^"]*">agent\.essai\.27<', page
        )
        assert account_id, "no link to agent.essai.27 carrying the search"
        path = f"/admin/comptes/{account_id[1]}"
        page = await _item(http, gw, page, path, back)
        crumb = f'href="/admin/comptes?{html.escape(back)}">Comptes</a>'
        assert crumb in page
        _back_in_every_form(page, [f"{path}/email", f"{path}/role"], back)
        # « Désactiver le compte… » asks first, at the search and page.
        assert _hidden(page, path) == {"confirmer": "desactiver", "q": words, "page": "2"}

        # Not through the question (an old form): asked, at the search and page.
        action = f"{gw}{path}/desactiver"
        status, location, _ = await _post(http, gw + path, action, {"q": words, "page": "2"})
        assert (status, location) == (303, f"{path}?confirmer=desactiver&{back}")
        async with http.get(gw + location) as resp:
            page = await resp.text()
        assert f'href="{path}?{html.escape(back)}">Annuler</a>' in page
        confirmed = _hidden(page, f"{path}/desactiver")
        assert confirmed == {"confirm": "oui", "q": words, "page": "2"}
        status, location, _ = await _post(http, gw + path, action, confirmed)
        assert (status, location) == (303, f"{path}?fait=desactive&{back}")
        async with http.get(gw + location) as resp:
            page = await resp.text()
        assert "Le compte est désactivé" in _text(page)
        assert crumb in page

        # Every other action, done: back at the account's page with the search and page.
        for action, typed, done in [
            ("activer", {}, "active"),
            ("email", {"email": "agent.essai.27@budget.gouv.ci"}, "email"),
            ("role", {"role": Role.OPERATOR.value, "body_id": ""}, "role"),
        ]:
            fields = {**_hidden(page, f"{path}/{action}"), **typed}
            status, location, _ = await _post(http, gw + path, f"{gw}{path}/{action}", fields)
            assert (status, location) == (303, f"{path}?fait={done}&{back}"), action
            async with http.get(gw + location) as resp:
                page = await resp.text()
            assert crumb in page

        # Refused: shown again with the search and page, its forms still carrying them.
        for action, typed, status_said in [
            ("email", {"email": "x" * 300 + "@budget.gouv.ci"}, 422),
            ("role", {"role": "empereur", "body_id": ""}, 422),
        ]:
            fields = {**_hidden(page, f"{path}/{action}"), **typed}
            status, _, refused = await _post(http, gw + path, f"{gw}{path}/{action}", fields)
            assert status == status_said, action
            assert "Le changement n'est pas enregistré" in _text(refused)
            assert crumb in refused
            _back_in_every_form(refused, [f"{path}/email", f"{path}/role"], back)

        # One's own account cannot be disabled: refused at the search and page too.
        async with http.get(url, params={"q": "admin.essai"}) as resp:
            own = re.search(
                r'href="/admin/comptes/([0-9a-f-]{36})[^"]*">admin\.essai<', await resp.text()
            )
        own_path = f"/admin/comptes/{own[1]}"
        status, _, refused = await _post(
            http, gw + own_path, f"{gw}{own_path}/desactiver", {"q": words, "page": "2"}
        )
        assert status == 409
        assert crumb in refused

        # The crumb's list: at the search and the page.
        async with http.get(f"{url}?{back}") as resp:
            listed = await resp.text()
        assert "Affichage 26 à 30 sur 30 lignes" in _text(listed)


async def thirty_bodies(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.executemany(
            "INSERT INTO intake.bodies (id, name, location) VALUES ($1, $2, 'Plateau')",
            [(f"essai-organisme-{n:02d}", f"Organisme d'essai {n:02d}") for n in range(30)],
        )
    finally:
        await conn.close()


async def test_a_body_opened_from_the_catalogue_keeps_its_search_and_page(stack, database_url):
    """« Catalogue › Organismes »: the link from the list to a body lost the search and the
    page, so after retiring, restoring or changing it the breadcrumb led to an unsearched first
    page."""
    await thirty_bodies(database_url)
    gw = stack.gateway
    url = gw + "/admin/catalogue"
    words = "organisme d essai"
    async with await _admin(stack, database_url) as http:
        back, page = await _second_page(http, url, words)
        path = "/admin/catalogue/organismes/essai-organisme-27"
        page = await _item(http, gw, page, path, back)
        crumb = f'href="/admin/catalogue?{html.escape(back)}">Catalogue</a>'
        assert crumb in page
        _back_in_every_form(
            page, [f"{path}/retirer", f"{path}/themes", f"{path}/nouveau-theme"], back
        )

        # Retired, then restored: back at the body's page, with the search and page.
        for action, done in [("retirer", "retire"), ("retablir", "retabli")]:
            fields = _hidden(page, f"{path}/{action}")
            status, location, _ = await _post(http, gw + path, f"{gw}{path}/{action}", fields)
            assert (status, location) == (303, f"{path}?fait={done}&{back}"), action
            async with http.get(gw + location) as resp:
                page = await resp.text()
            assert crumb in page

        # A new theme refused (no label): shown again at the search and page.
        fields = {**_hidden(page, f"{path}/nouveau-theme"), "label": "", "children": ""}
        status, _, refused = await _post(http, gw + path, f"{gw}{path}/nouveau-theme", fields)
        assert status == 422
        assert crumb in refused
        _back_in_every_form(refused, [f"{path}/retirer", f"{path}/nouveau-theme"], back)

        # « Modifier l'organisme »: its link, its form and its « Annuler » carry them, and so
        # does the way back after it.
        form = await _item(http, gw, page, f"{path}/modifier", back)
        assert f'href="{path}?{html.escape(back)}">Annuler</a>' in form
        assert crumb in form
        typed = {
            "name": "Organisme d'essai 27 bis",
            "acronym": "",
            "phones": "",
            "email": "",
            "location": "Plateau",
            "hours": "",
            **_hidden(form, f"{path}/modifier"),
        }
        assert (typed["q"], typed["page"]) == (words, "2")
        status, _, refused = await _post(
            http, gw + path, f"{gw}{path}/modifier", {**typed, "email": "pas une adresse"}
        )
        assert status == 422
        assert crumb in refused and f'href="{path}?{html.escape(back)}">Annuler</a>' in refused
        status, location, _ = await _post(http, gw + path, f"{gw}{path}/modifier", typed)
        assert (status, location) == (303, f"{path}?fait=modifie&{back}")
        async with http.get(gw + location) as resp:
            page = await resp.text()
        assert crumb in page
        async with http.get(f"{url}?{back}") as resp:
            listed = await resp.text()
        _kept_at(listed, "/admin/catalogue", words, 2)


async def test_retiring_a_row_gone_from_the_catalogue_leads_back_to_the_list(stack, database_url):
    """« Lieux » and « Thèmes » (and a body): retiring or restoring a row intake no longer has
    (an old page, an old tab) answered « Ce lieu n'est pas dans le catalogue. » on the citizens'
    error page (« Revenir à l'accueil »), outside the back office, with no way back to the list."""
    gw = stack.gateway
    async with await _admin(stack, database_url) as http:
        for kind, said, label in [
            ("lieux", "Ce lieu n'est pas dans le catalogue.", "Retour à la liste des lieux"),
            ("themes", "Ce thème n'est pas dans le catalogue.", "Retour à la liste des thèmes"),
            (
                "organismes",
                "Cet organisme n'est pas dans le catalogue.",
                "Retour à la liste des organismes",
            ),
        ]:
            list_path = "/admin/catalogue" if kind == "organismes" else f"/admin/catalogue/{kind}"
            for action in ("retirer", "retablir"):
                status, _, page = await _post(
                    http,
                    gw + list_path,
                    f"{gw}/admin/catalogue/{kind}/essai-disparu/{action}",
                    {"q": "essai", "page": "2"},
                )
                assert status == 404, (kind, action)
                assert 'class="bo-menu"' in page  # the back office's own page, its menu
                assert said in _text(page)
                assert "Revenir à l'accueil" not in page
                link = f'href="{list_path}?q=essai&amp;page=2">{label}</a>'
                assert link in page, (kind, action)
