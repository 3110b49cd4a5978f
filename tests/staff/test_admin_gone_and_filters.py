"""The administrator's lists and their rows' actions: an action posted on a row or an account
that is gone (an old tab) answers the back office's « … introuvable » page with the way back to
its list, changing nothing; a list's own filters (the accounts' role, the bodies' state) travel
with its rows' links and forms and come back after the action, as its search and page do; and
« Créer un compte » comes back to the list it was opened from."""

from __future__ import annotations

import html
import re
import uuid
from urllib.parse import parse_qsl, urlencode, urlsplit

import asyncpg

from gateway.staff.accounts import ROLE_LABELS
from shared.identity import Role
from tests.staff.helpers import create_account
from tests.staff.test_admin_back_to_list import thirty_bodies
from tests.staff.test_admin_leftovers import _hidden
from tests.staff.test_admin_trial import _admin, _post, _text

BODY = {"name": "Organisme fantôme", "acronym": "", "phones": "", "email": "", "location": "X"}


async def _counts(database_url: str) -> dict[str, int]:
    """What an action could have changed: the catalogue's rows, the accounts, the journal."""
    conn = await asyncpg.connect(database_url)
    try:
        return {
            table: await conn.fetchval(f"SELECT count(*) FROM {table}")
            for table in (
                "intake.bodies",
                "intake.themes",
                "intake.body_themes",
                "intake.places",
                "gateway.staff_accounts",
                "gateway.audit_log",
                "gateway.notify_outbox",
            )
        }
    finally:
        await conn.close()


def _query(address: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(html.unescape(address)).query))


def _gone(page: str, title: str, list_path: str, label: str, back: dict[str, str]) -> None:
    """``page`` is the back office's « introuvable » page, leading back to ``list_path`` at
    ``back``."""
    assert 'class="bo-menu"' in page  # the back office's own layout, its menu
    assert "Revenir à l'accueil" not in page  # not the citizens' error page
    heading = re.search(r"<h1>(.*?)</h1>", page)
    assert heading and html.unescape(heading[1]) == title
    assert "Rien n'a été modifié" in _text(page)
    links = [
        href
        for href, text in re.findall(r'<a href="([^"]*)">([^<]*)</a>', page)
        if html.unescape(text) == label
    ]
    assert len(links) == 1, (label, links)
    assert urlsplit(html.unescape(links[0])).path == list_path
    assert _query(links[0]) == back


async def test_an_action_posted_on_a_row_or_an_account_gone_answers_the_back_office_page(
    stack, database_url
):
    """« Modifier », « Thèmes proposés », « Ajouter un thème » on a body, « Modifier » on a theme
    or a place, and each action on an account, posted from an old tab on a row that is no longer
    there (or never was), answered the citizens' error page (« Revenir à l'accueil »), outside the
    back office, with no way back to the list; only retiring and restoring said it in the back
    office."""
    gw = stack.gateway
    catalogue = "/admin/catalogue"
    gone = "essai-disparu"
    back = {"q": "essai", "page": "2"}
    async with await _admin(stack, database_url) as http:
        before = await _counts(database_url)
        for path, typed, title, list_path, label in [
            (
                f"{catalogue}/organismes/{gone}/modifier",
                {**BODY, "hours": ""},
                "Organisme introuvable",
                catalogue,
                "Retour à la liste des organismes",
            ),
            (
                f"{catalogue}/organismes/{gone}/themes",
                {"themes": "autre"},
                "Organisme introuvable",
                catalogue,
                "Retour à la liste des organismes",
            ),
            (
                f"{catalogue}/organismes/{gone}/nouveau-theme",
                {"label": "Thème fantôme", "children": "Sous-thème fantôme"},
                "Organisme introuvable",
                catalogue,
                "Retour à la liste des organismes",
            ),
            (
                f"{catalogue}/themes/{gone}/modifier",
                {"label": "Thème fantôme", "position": "3"},
                "Thème introuvable",
                f"{catalogue}/themes",
                "Retour à la liste des thèmes",
            ),
            (
                f"{catalogue}/lieux/{gone}/modifier",
                {"region": "Abidjan", "name": "Lieu fantôme", "kind": "commune"},
                "Lieu introuvable",
                f"{catalogue}/lieux",
                "Retour à la liste des lieux",
            ),
        ]:
            status, location, page = await _post(http, gw + list_path, gw + path, {**back, **typed})
            assert (status, location) == (404, ""), path
            _gone(page, title, list_path, label, back)
        assert await _counts(database_url) == before

        # An account deleted since its page was opened, and one that never was.
        deleted = await create_account(database_url, Role.ANALYST, "agent.parti", "Motdepasse-1234")
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute("DELETE FROM gateway.staff_accounts WHERE id = $1", deleted.id)
        finally:
            await conn.close()
        before = await _counts(database_url)
        filtered = {**back, "filtre-role": Role.ANALYST.value}
        for account_id in (deleted.id, uuid.uuid4()):
            for action, typed in [
                ("desactiver", {"confirm": "oui"}),
                ("activer", {}),
                ("nouveau-lien", {"confirm": "oui"}),
                ("email", {"email": "agent.parti@budget.gouv.ci"}),
                ("role", {"role": Role.OPERATOR.value, "body_id": ""}),
                ("double-authentification", {"confirm": "oui"}),
            ]:
                path = f"/admin/comptes/{account_id}/{action}"
                status, location, page = await _post(
                    http, gw + "/admin/comptes", gw + path, {**filtered, **typed}
                )
                assert (status, location) == (404, ""), path
                _gone(
                    page,
                    "Compte introuvable",
                    "/admin/comptes",
                    "Retour à la liste des comptes",
                    filtered,
                )

        # A key revoked, a reason changed: the same page, the same way back.
        for path, typed, title, list_path, label, list_back in [
            (
                "/admin/cles-api/0123456789ab/revoquer",
                {"confirm": "oui", **back},
                "Clé d'API introuvable",
                "/admin/cles-api",
                "Retour à la liste des clés d'API",
                back,
            ),
            (
                "/admin/motifs/987654321",
                {"kind": "rejection", "label": "Motif fantôme", "text": "", "position": "1"},
                "Motif introuvable",
                "/admin/motifs",
                "Retour à la liste des motifs",
                {},
            ),
        ]:
            status, location, page = await _post(http, gw + list_path, gw + path, typed)
            assert (status, location) == (404, ""), path
            _gone(page, title, list_path, label, list_back)
        assert await _counts(database_url) == before


async def _page(http, url: str) -> str:
    async with http.get(url) as resp:
        assert resp.status == 200, url
        return await resp.text()


async def test_a_list_s_own_filters_travel_with_its_rows_and_come_back(stack, database_url):
    """« Comptes » filtered by role, « Catalogue » by state: the links to a row, its forms and the
    address after an action carried the search and the page only, so the administrator came
    back to the unfiltered list — at a page that showed other rows."""
    for n in range(30):
        await create_account(database_url, Role.ANALYST, f"agent.essai.{n:02d}", "Motdepasse-1234")
    for n in range(5):
        await create_account(database_url, Role.OPERATOR, f"agent.essai.op{n}", "Motdepasse-1234")
    gw = stack.gateway
    async with await _admin(stack, database_url) as http:
        back = {"q": "agent.essai", "filtre-role": Role.ANALYST.value, "page": "2"}
        listed = await _page(http, f"{gw}/admin/comptes?{urlencode(back)}")
        assert "Affichage 26 à 30 sur 30 lignes" in _text(listed)
        link = re.search(r'href="(/admin/comptes/([0-9a-f-]{36})[^"]*)">agent\.essai\.27<', listed)
        assert link, "no link to agent.essai.27"
        assert _query(link[1]) == back
        path = f"/admin/comptes/{link[2]}"
        page = await _page(http, gw + html.unescape(link[1]))
        crumb = re.search(r'<p class="breadcrumb"><a href="([^"]*)">Comptes</a>', page)
        assert crumb and _query(crumb[1]) == back
        for action in ("email", "role"):
            assert _hidden(page, f"{path}/{action}") == back, action
        assert _hidden(page, path) == {"confirmer": "desactiver", **back}
        # Not through the question (an old form): asked, with the filters.
        status, location, _ = await _post(http, gw + path, f"{gw}{path}/desactiver", back)
        assert status == 303 and _query(location) == {"confirmer": "desactiver", **back}
        status, location, _ = await _post(
            http, gw + path, f"{gw}{path}/desactiver", {"confirm": "oui", **back}
        )
        assert status == 303 and _query(location) == {"fait": "desactive", **back}
        page = await _page(http, gw + location)
        crumb = re.search(r'<p class="breadcrumb"><a href="([^"]*)">Comptes</a>', page)
        assert crumb and _query(crumb[1]) == back
        assert _hidden(page, f"{path}/activer") == back
        # The list's role filter and the role to give, side by side in the same form.
        status, location, _ = await _post(
            http,
            gw + path,
            f"{gw}{path}/role",
            {"role": Role.OPERATOR.value, "body_id": "", **back},
        )
        assert status == 303 and _query(location) == {"fait": "role", **back}
        page = await _page(http, gw + location)
        assert f"Rôle {ROLE_LABELS[Role.OPERATOR]} " in _text(page)
        # A refused change: shown again, its forms still carrying the filters.
        status, _, refused = await _post(
            http, gw + path, f"{gw}{path}/role", {"role": "empereur", "body_id": "", **back}
        )
        assert status == 422
        assert _hidden(refused, f"{path}/email") == back
        # A parameter the list does not read, or a value longer than any it gives, is left out.
        odd = {**back, "retour": "https://ailleurs.example", "filtre-role": "x" * 500}
        page = await _page(http, f"{gw}{path}?{urlencode(odd)}")
        assert _hidden(page, f"{path}/email") == {"q": "agent.essai", "page": "2"}

        await thirty_bodies(database_url)
        back = {"q": "organisme d essai", "etat": "actifs", "page": "2"}
        listed = await _page(http, f"{gw}/admin/catalogue?{urlencode(back)}")
        path = "/admin/catalogue/organismes/essai-organisme-27"
        link = re.search(rf'href="({re.escape(path)}\?[^"]*)"', listed)
        assert link and _query(link[1]) == back
        page = await _page(http, gw + html.unescape(link[1]))
        for action in ("retirer", "themes", "nouveau-theme"):
            assert _hidden(page, f"{path}/{action}") == back, action
        status, location, _ = await _post(http, gw + path, f"{gw}{path}/retirer", back)
        assert status == 303 and _query(location) == {"fait": "retire", **back}
        page = await _page(http, gw + location)
        crumb = re.search(r'<p class="breadcrumb"><a href="([^"]*)">Catalogue</a>', page)
        assert crumb and _query(crumb[1]) == back


async def test_creating_an_account_comes_back_to_the_list_it_was_opened_from(stack, database_url):
    """« Créer un compte » led to a form whose breadcrumb, « Annuler » and the account made
    forgot the list's search, page and filters."""
    for n in range(30):
        await create_account(database_url, Role.ANALYST, f"agent.essai.{n:02d}", "Motdepasse-1234")
    gw = stack.gateway
    back = {"q": "agent.essai", "filtre-role": Role.ANALYST.value, "page": "2"}
    async with await _admin(stack, database_url) as http:
        listed = await _page(http, f"{gw}/admin/comptes?{urlencode(back)}")
        link = re.search(r'<a class="button" href="([^"]*)">Créer un compte</a>', listed)
        assert link and urlsplit(html.unescape(link[1])).path == "/admin/comptes/nouveau"
        assert _query(link[1]) == back
        form = await _page(http, gw + html.unescape(link[1]))
        crumb = re.search(r'<p class="breadcrumb"><a href="([^"]*)">Comptes</a>', form)
        assert crumb and _query(crumb[1]) == back
        cancel = re.search(r'<a href="([^"]*)">Annuler</a>', form)
        assert cancel and urlsplit(html.unescape(cancel[1])).path == "/admin/comptes"
        assert _query(cancel[1]) == back
        assert _hidden(form, "/admin/comptes/nouveau") == back
        typed = {
            "login": "agent.nouveau",
            "display_name": "Agent Nouveau",
            "email": "agent.nouveau@budget.gouv.ci",
            "role": Role.OPERATOR.value,  # not the list's role filter (analyst)
            "body_id": "",
            **back,
        }
        url = gw + "/admin/comptes/nouveau"
        status, _, refused = await _post(http, url, url, {**typed, "login": "a"})
        assert status == 422
        assert _hidden(refused, "/admin/comptes/nouveau") == back
        crumb = re.search(r'<p class="breadcrumb"><a href="([^"]*)">Comptes</a>', refused)
        assert crumb and _query(crumb[1]) == back
        status, location, _ = await _post(http, url, url, typed)
        assert status == 303
        assert _query(location) == {"fait": "cree", **back}
        page = await _page(http, gw + location)
        assert "Le compte est créé" in _text(page)
        assert f"Rôle {ROLE_LABELS[Role.OPERATOR]} " in _text(page)
        crumb = re.search(r'<p class="breadcrumb"><a href="([^"]*)">Comptes</a>', page)
        assert crumb and _query(crumb[1]) == back


async def test_a_nul_character_posted_with_a_list_s_search_or_filter_is_left_out(
    stack, database_url
):
    """A list's address holding a NUL character is refused (400: PostgreSQL stores none), but the
    same search or filter posted with an action (a hand-made form) was carried back as it was:
    the keys' list shown again with a refused creation searched PostgreSQL with it (500), and an
    account's action, or its « Compte introuvable » page, led to an address refused as invalid."""
    account = await create_account(database_url, Role.ANALYST, "agent.nul", "Motdepasse-1234")
    gw = stack.gateway
    nul = "agent\x00nul"
    async with await _admin(stack, database_url) as http:
        url = gw + "/admin/cles-api"
        typed = {"body_id": "", "label": "", "calls_per_minute": "1", "tri": "creee"}
        status, _, refused = await _post(http, url, url, {**typed, "q": nul, "page": "2"})
        assert status == 422, refused
        assert _hidden(refused, "/admin/cles-api", "post") == {"tri": "creee", "page": "2"}

        path = f"/admin/comptes/{account.id}"
        back = {"q": "agent", "filtre-role": Role.ANALYST.value, "page": "2"}
        for name in ("q", "filtre-role"):
            kept = {k: v for k, v in back.items() if k != name}
            posted = {**back, name: nul}
            status, location, _ = await _post(http, gw + path, f"{gw}{path}/activer", posted)
            assert status == 303, location
            assert _query(location) == {"fait": "active", **kept}, location
            await _page(http, gw + location)  # 200, not « Adresse invalide »

            gone = f"/admin/comptes/{uuid.uuid4()}/activer"
            status, _, page = await _post(http, gw + path, gw + gone, posted)
            assert status == 404
            _gone(
                page, "Compte introuvable", "/admin/comptes", "Retour à la liste des comptes", kept
            )
