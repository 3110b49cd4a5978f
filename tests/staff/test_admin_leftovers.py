"""What the trial of the administrator's pages left (December 2026), each defect held by its test
on the real gateway and services: forms that cut what was typed before checking it (a value
with something after its first 100 or 200 characters was saved as its beginning)."""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import Awaitable
from typing import TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit

import asyncpg

from shared.identity import Role
from tests.staff.helpers import create_account, form_token, signed_in_session
from tests.staff.test_admin_trial import PASSWORD, _admin, _post, _text

T = TypeVar("T")


async def _count(database_url: str, sql: str, *args: object) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def test_over_long_input_is_refused_as_typed_in_every_admin_form(stack, database_url):
    """Each form cut its values (100, 200, 1 000 or 20 characters) and checked the rest: what
    came after the cut was lost, and a value padded past it was saved as its beginning."""
    gw = stack.gateway
    async with await _admin(stack, database_url) as http:
        # « Lieux »: cut at 200 and stripped, « Essaiville <250 spaces> Nord » was saved whole
        # as « Essaiville ».
        url = gw + "/admin/catalogue/lieux/nouveau"
        name = "Essaiville" + " " * 250 + "Nord"
        place = {"region": "Bagoué", "name": name, "kind": "commune"}
        status, location, page = await _post(http, url, url, place)
        assert status == 422, location
        assert 'id="err-name"' in page
        assert "Ce texte compte 264 caractères : 100 au plus." in _text(page)
        assert f'value="{name}"' in page  # what was typed, shown again whole
        region = "Région " + "r" * 143  # 150 characters: cut at 200, it said « 100 … au plus »
        status, _, page = await _post(
            http, url, url, {**place, "name": "Essaiville", "region": region}
        )
        assert status == 422
        assert "Ce texte compte 150 caractères : 100 au plus." in _text(page)
        assert f'value="{region}"' in page

        # « Délais »: the days cut at 100, « 30 <200 spaces> 0 » was saved as 30 days.
        url = gw + "/admin/delais"
        days = "30" + " " * 200 + "0"
        rule = {"nature": "reclamation", "kind": "answer", "body_id": "ministere-budget"}
        status, location, page = await _post(http, url, url, {**rule, "days": days})
        assert status == 422, location
        assert 'id="err-days"' in page
        assert "Ce texte compte 203 caractères : 20 au plus." in _text(page)
        # Shown again as typed, up to four times what the field takes (forms.TYPED_ROOM).
        assert f'value="{days[:80]}"' in page

        # A day off: cut at 1 000, « 07/08/2027 <995 spaces> x » was declared the 7 August.
        typed = "07/08/2027" + " " * 995 + "x"
        status, location, page = await _post(
            http, url, url + "/jours", {"day": typed, "label": "Deuil national"}
        )
        assert status == 422, location
        assert 'id="err-day"' in page
        assert "Ce texte compte 1 006 caractères : 20 au plus." in _text(page)

        # Removing one: cut at 20, « 2031-08-07 <20 spaces> x » removed the 7 August 2031.
        declared = {"day": "07/08/2031", "label": "Deuil national"}
        assert (await _post(http, url, url + "/jours", declared))[0] == 303
        status, location, page = await _post(
            http, url, url + "/jours/supprimer", {"day": "2031-08-07" + " " * 20 + "x"}
        )
        assert status == 422, location
        assert "Date invalide" in _text(page)

        # « Clés d'API »: refused in the words of every other form, and shown again as typed.
        url = gw + "/admin/cles-api"
        label = "SIGFIP " + "s" * 293  # 300 characters
        key = {"body_id": "ministere-budget", "label": label, "calls_per_minute": "60"}
        status, location, page = await _post(http, url, url, key)
        assert status == 422, location
        assert 'id="err-label"' in page
        assert "Ce texte compte 300 caractères : 120 au plus." in _text(page)
        assert f'value="{label}"' in page

        # « Motifs »: its own « 120 caractères au plus. », and a megabyte sent back whole.
        url = gw + "/admin/motifs"
        reason = {"kind": "reject", "label": "Hors sujet " + "h" * 139, "text": "Hors sujet."}
        status, location, page = await _post(http, url, url, reason)
        assert status == 422, location
        assert "Ce texte compte 150 caractères : 120 au plus." in _text(page)
        assert f'value="{reason["label"]}"' in page
        status, _, page = await _post(http, url, url, {**reason, "label": "x" * 1_000_000})
        assert status == 422
        assert "Ce texte compte 1 000 000 caractères : 120 au plus." in _text(page)
        assert len(page) < 20_000

    # Nothing written, not even a cut value.
    assert (
        await _count(database_url, "SELECT count(*) FROM intake.places WHERE name ~ '^Essaiville'")
        == 0
    )
    assert (
        await _count(
            database_url,
            "SELECT count(*) FROM treatment.deadline_policy WHERE body_id = 'ministere-budget'",
        )
        == 0
    )
    days_off = "SELECT array_agg(day::text ORDER BY day) FROM treatment.declared_days_off"
    assert await _count(database_url, days_off) == ["2031-08-07"]
    assert await _count(database_url, "SELECT count(*) FROM gateway.api_keys") == 0
    assert (
        await _count(
            database_url, "SELECT count(*) FROM triage.reasons WHERE label ~ '^(Hors sujet h|xx)'"
        )
        == 0
    )


def _hidden(page: str, action: str, method: str = "") -> dict[str, str]:
    """The hidden fields of the form of ``page`` that posts to ``action`` (but the token); with
    ``method``, of its form of that method (a list's search and its creation share an address)."""
    opening = f'<form method="{method}" ' if method else "<form[^>]*"
    form = re.search(rf'{opening}action="{re.escape(action)}"[^>]*>(.*?)</form>', page, re.S)
    assert form, action
    fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form[1])
    return {name: html.unescape(value) for name, value in fields if name != "csrf_token"}


async def _through_form(http, gw: str, page: str, action: str, back: str, typed: dict) -> str:
    """Where the form at ``action`` sends the administrator when they follow its link on the
    list's ``page`` (at the search and page ``back``), then post ``typed`` in it: the link, the
    form's hidden fields and its « Annuler » carry ``back``."""
    link = f"{action}?{back}"
    assert html.escape(link) in page
    async with http.get(gw + link) as resp:
        form = await resp.text()
    list_path = (
        action.rsplit("/", 2)[0] if action.endswith("/modifier") else action.rsplit("/", 1)[0]
    )
    assert f'href="{list_path}?{html.escape(back)}">Annuler</a>' in form
    carried = _hidden(form, action)
    assert carried == dict(parse_qsl(back))
    status, location, _ = await _post(http, gw + link, gw + action, {**typed, **carried})
    assert status == 303
    return location


async def test_an_action_on_a_place_comes_back_to_the_search_and_page_it_started_from(
    stack, database_url
):
    """The places are searched and paged 50 at a time: adding, changing, retiring or restoring
    one brought the administrator back to the first page of every place, the search lost."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.executemany(
            """INSERT INTO intake.places (id, region, name, kind, region_position)
               VALUES ($1, 'Région d''essai', $2, 'sous-prefecture', 99)""",
            [(f"essai-village-{n:03d}", f"Village {n:03d}") for n in range(80)],
        )
    finally:
        await conn.close()
    gw = stack.gateway
    url = gw + "/admin/catalogue/lieux"
    back = "q=region+d+essai&page=2"
    async with await _admin(stack, database_url) as http:
        async with http.get(f"{url}?{back}") as resp:
            page = await resp.text()
        assert "Village 060" in page
        # « Retirer », then « Rétablir »: the list's form carries the search and the page.
        action = "/admin/catalogue/lieux/essai-village-060/retirer"
        carried = _hidden(page, action)
        assert carried == {"q": "region d essai", "page": "2"}
        status, location, _ = await _post(http, f"{url}?{back}", gw + action, carried)
        assert status == 303
        assert location == f"/admin/catalogue/lieux?fait=retire&{back}#l-essai-village-060"
        async with http.get(gw + location) as resp:
            page = await resp.text()
        assert "Affichage 51 à 80 sur 80 lignes" in _text(page)
        action = "/admin/catalogue/lieux/essai-village-060/retablir"
        status, location, _ = await _post(http, gw + location, gw + action, _hidden(page, action))
        assert location == f"/admin/catalogue/lieux?fait=retabli&{back}#l-essai-village-060"

        # « Modifier »: the link, then the form, carry them.
        typed = {"region": "Région d'essai", "name": "Village 061 bis", "kind": "commune"}
        action = "/admin/catalogue/lieux/essai-village-061/modifier"
        location = await _through_form(http, gw, page, action, back, typed)
        assert location == f"/admin/catalogue/lieux?fait=modifie&{back}#l-essai-village-061"

        # « Ajouter un lieu » from that page: back at the search, at the page that shows it.
        typed = {"region": "Région d'essai", "name": "Village 099", "kind": "commune"}
        location = await _through_form(
            http, gw, page, "/admin/catalogue/lieux/nouveau", back, typed
        )
        assert location.startswith(f"/admin/catalogue/lieux?fait=lieu-cree&{back}#l-"), location
        async with http.get(gw + location) as resp:
            assert "Village 099" in _text(await resp.text())


async def _all_at_once(database_url: str, saves: list[Awaitable[T]]) -> list[T]:
    """``saves`` run together, each held at its write (the reasons' table locked against writes)
    until all of them wait there, then let go at once: every check a save makes before writing
    is made before any of them writes — the race of two administrators, every time."""
    conn = await asyncpg.connect(database_url)
    try:
        held = conn.transaction()
        await held.start()
        await conn.execute("LOCK TABLE triage.reasons IN SHARE MODE")
        running = asyncio.gather(*saves)
        waiting = """SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
                     WHERE c.relname = 'reasons' AND NOT l.granted
                       AND l.database = (SELECT oid FROM pg_database
                                         WHERE datname = current_database())"""
        # Until each save waits at its write (or one ended before writing: its answer says).
        while not running.done() and await conn.fetchval(waiting) < len(saves):
            pass
        await held.rollback()
        return await running
    finally:
        await conn.close()


async def test_reasons_saved_at_the_same_moment_keep_one_label(stack, database_url):
    """Two administrators saving one motif at the same moment both passed the check for a twin
    (made before the write): the analysts' list then offered it twice. Made or renamed."""
    url = stack.gateway + "/admin/motifs"
    await create_account(database_url, Role.ADMINISTRATOR, "admin.deux", PASSWORD)
    async with (
        await _admin(stack, database_url) as first,
        await signed_in_session(stack.gateway, "admin.deux", PASSWORD) as second,
    ):
        tokens = {first: await form_token(first, url), second: await form_token(second, url)}

        async def save(http, action: str, data: dict) -> tuple[int, str]:
            data = {"csrf_token": tokens[http], **data}
            async with http.post(action, data=data, allow_redirects=False) as resp:
                return resp.status, _text(await resp.text())

        typed = ["Hors sujet", "hors sujet", "HORS SUJET", "Hors  sujet"]
        said = await _all_at_once(
            database_url,
            [
                save(
                    (first, second)[n % 2],
                    url,
                    {"kind": "reject", "label": label, "text": "Hors du service public."},
                )
                for n, label in enumerate(typed)
            ],
        )
        assert sorted(status for status, _ in said) == [303, 422, 422, 422]
        for status, page in said:
            if status == 422:
                assert "Un motif de même usage porte déjà cet intitulé." in page

        # Two motifs renamed alike at the same moment.
        ids = await _reason_ids(database_url, "reformulate")
        renamed = {"label": "À préciser", "text": "Précisez votre demande.", "position": "0"}
        said = await _all_at_once(
            database_url,
            [save(http, f"{url}/{i}", renamed) for http, i in zip((first, second), ids[:2])],
        )
        assert sorted(status for status, _ in said) == [303, 422]
        assert "Un motif de même usage porte déjà cet intitulé." in dict(said)[422]

    twins = """SELECT count(*) FROM triage.reasons
               WHERE lower(regexp_replace(label, '\\s+', ' ', 'g')) = $1"""
    assert await _count(database_url, twins, "hors sujet") == 1
    assert await _count(database_url, twins, "à préciser") == 1


async def _reason_ids(database_url: str, kind: str) -> list[int]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT id FROM triage.reasons WHERE kind = $1 ORDER BY id", kind)
    finally:
        await conn.close()
    return [r["id"] for r in rows]


async def _second_page(http, url: str, words: str) -> tuple[str, str]:
    """(the address's query, the page) of the second page of 30 rows found by ``words``,
    reached through the first page's pager: the search kept from page to page."""
    async with http.get(url, params={"q": words}) as resp:
        page = await resp.text()
    assert "Affichage 1 à 25 sur 30 lignes" in _text(page)
    back = urlencode({"q": words, "page": 2})
    assert f'href="{urlsplit(url).path}?{html.escape(back)}"' in page
    async with http.get(f"{url}?{back}") as resp:
        page = await resp.text()
    assert "Affichage 26 à 30 sur 30 lignes" in _text(page)
    return back, page


SEARCH_FIELD = re.compile(
    r'<form method="get" action="([^"]+)"[^>]*role="search"[^>]*>\s*<div class="field">\s*'
    r'<label for="f-q">([^<]+)</label>\s*<input type="search" id="f-q" name="q" value="([^"]*)">'
)


async def thirty_themes_and_deadline_values(database_url: str) -> None:
    """30 main themes « THÈME D'ESSAI nn » (the 7th with « Pension de réversion »), and 30
    bodies' own values for the réclamations' answer (essai-organisme-nn), then the budget's."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.executemany(
            "INSERT INTO intake.themes (id, label, position) VALUES ($1, $2, 9000)",
            [(f"essai-theme-{n:02d}", f"THÈME D'ESSAI {n:02d}") for n in range(30)],
        )
        await conn.execute(
            """INSERT INTO intake.themes (id, label, parent_id, position)
               VALUES ('essai-sous-theme', 'Pension de réversion', 'essai-theme-07', 1)"""
        )
        await conn.executemany(
            """INSERT INTO treatment.deadline_policy (kind, nature, body_id, days, changed_by)
               VALUES ('answer', 'reclamation', $1, 30, 'admin.essai')""",
            [(f"essai-organisme-{n:02d}",) for n in range(30)] + [("ministere-budget",)],
        )
    finally:
        await conn.close()


async def test_the_themes_and_the_bodies_own_deadline_values_are_searchable(stack, database_url):
    """The lists paged last (themes, the bodies' own deadline values) had no search: finding
    one body's values meant paging through every body's. A search field (a GET form, no script)
    kept by the pages and by the actions, as on the lists of places and keys."""
    await thirty_themes_and_deadline_values(database_url)
    gw = stack.gateway
    async with await _admin(stack, database_url) as http:
        # Every paged list of the administrator has its field, labelled in French.
        for path, label in [
            ("/admin/catalogue/lieux", "Rechercher (commune, sous-préfecture, région)"),
            ("/admin/cles-api", "Rechercher une clé"),
            ("/admin/catalogue/themes", "Rechercher (thème, sous-thème)"),
            ("/admin/delais", "Rechercher (organisme, nature, délai)"),
        ]:
            async with http.get(gw + path, params={"q": "essai"}) as resp:
                field = SEARCH_FIELD.search(await resp.text())
            assert field, path
            assert (field[1], html.unescape(field[2]), field[3]) == (path, label, "essai")

        # Thèmes: by a theme's label or a sub-theme's (accents aside), with its theme.
        url = gw + "/admin/catalogue/themes"
        async with http.get(url, params={"q": "reversion"}) as resp:
            page = _text(await resp.text())
        assert "THÈME D'ESSAI 07" in page and "Pension de réversion" in page
        assert "THÈME D'ESSAI 08" not in page
        back, page = await _second_page(http, url, "theme d essai")
        action = "/admin/catalogue/themes/essai-theme-27/retirer"
        status, location, _ = await _post(http, f"{url}?{back}", gw + action, _hidden(page, action))
        assert status == 303
        assert location == f"/admin/catalogue/themes?fait=retire&{back}#t-essai-theme-27"
        typed = {"label": "THÈME D'ESSAI 28 BIS", "position": "9000"}
        action = "/admin/catalogue/themes/essai-theme-28/modifier"
        location = await _through_form(http, gw, page, action, back, typed)
        assert location == f"/admin/catalogue/themes?fait=modifie&{back}#t-essai-theme-28"

        # Délais: the bodies' own values, by body (name or identifier), nature or deadline.
        url = gw + "/admin/delais"
        async with http.get(url, params={"q": "budget"}) as resp:
            page = _text(await resp.text())
        assert "Affichage 1 à 1 sur 1 ligne" in page and "essai-organisme" not in page
        back, page = await _second_page(http, url, "essai reclamation")
        assert "ministere-budget" not in re.sub(r"<select.*?</select>", "", page, flags=re.S)
        # « Retirer » a value of that page: back at the search and the page.
        form = re.search(
            r'<form method="post" action="/admin/delais/supprimer">(?:(?!</form>).)*'
            r'value="essai-organisme-27">.*?</form>',
            page,
            re.S,
        )
        fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form[0]))
        assert (fields["q"], fields["page"]) == ("essai reclamation", "2")
        status, location, _ = await _post(http, f"{url}?{back}", url + "/supprimer", fields)
        assert status == 303
        assert location == f"/admin/delais?fait=supprime&{back}"
        async with http.get(gw + location) as resp:
            page = _text(await resp.text())
        assert "Affichage 26 à 29 sur 29 lignes" in page
        assert "La valeur est retirée" in page


def _removal(page: str, body_id: str) -> dict[str, str]:
    """The fields of the « Retirer » form of ``body_id``'s own value on the Délais page."""
    form = re.search(
        r'<form method="post" action="/admin/delais/supprimer">(?:(?!</form>).)*'
        rf'value="{re.escape(body_id)}">.*?</form>',
        page,
        re.S,
    )
    assert form, body_id
    return dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form[0]))


def _kept_at(page: str, path: str, words: str, page_number: int) -> None:
    """``page`` shows the list of ``path`` at the search ``words`` and at ``page_number``: its
    search field holds the words, its pager's links lead to the list's own address."""
    field = SEARCH_FIELD.search(page)
    assert field and (field[1], html.unescape(field[3])) == (path, words)
    links = re.findall(r'<nav class="pager".*?</nav>', page, re.S)
    assert links, "no pager"
    hrefs = [html.unescape(h) for h in re.findall(r'href="([^"]*)"', links[0])]
    assert hrefs and all(urlsplit(h).path == path for h in hrefs), hrefs
    assert all(dict(parse_qsl(urlsplit(h).query)).get("q") == words for h in hrefs), hrefs
    assert f"Page {page_number} sur" in _text(page)


async def test_a_refused_removal_on_delais_keeps_the_search_and_page(stack, database_url):
    """« Délais »: removing a value or a day off that is no longer there (another administrator
    was first, an old page) or a value that cannot be removed showed the page again at the first
    page of every body's values, the search lost, where the lists of places, themes and keys
    come back to it."""
    await thirty_themes_and_deadline_values(database_url)
    gw = stack.gateway
    url = gw + "/admin/delais"
    words = "essai reclamation"
    async with await _admin(stack, database_url) as http:
        back, page = await _second_page(http, url, words)
        fields = _removal(page, "essai-organisme-27")
        assert (fields["q"], fields["page"]) == (words, "2")
        status, location, _ = await _post(http, f"{url}?{back}", url + "/supprimer", fields)
        assert (status, location) == (303, f"/admin/delais?fait=supprime&{back}")

        # The same form again (an old tab): nothing to remove, said at the search and page.
        status, _, page = await _post(http, f"{url}?{back}", url + "/supprimer", fields)
        assert status == 422
        assert "Aucune valeur n'est fixée pour cet organisme : rien n'est retiré." in _text(page)
        assert "Affichage 26 à 29 sur 29 lignes" in _text(page)
        _kept_at(page, "/admin/delais", words, 2)
        # Its other forms still carry them.
        fields_28 = _removal(page, "essai-organisme-28")
        assert (fields_28["q"], fields_28["page"]) == (words, "2")

        # A value that cannot be removed (no such deadline): refused, at the search and page.
        status, _, page = await _post(
            http, f"{url}?{back}", url + "/supprimer", {**fields, "kind": "jamais"}
        )
        assert status == 422
        assert "Choisissez le délai." in _text(page)
        _kept_at(page, "/admin/delais", words, 2)

        # A day off, declared from that page, then removed twice: the forms carry the search
        # and the page, the refusal keeps them.
        async with http.get(f"{url}?{back}") as resp:
            page = await resp.text()
        declared = {
            "day": "07/08/2031",
            "label": "Deuil national",
            **_hidden(page, "/admin/delais/jours"),
        }
        assert declared["q"] == words and declared["page"] == "2"
        status, location, _ = await _post(http, f"{url}?{back}", url + "/jours", declared)
        assert (status, location) == (303, f"/admin/delais?fait=jour&{back}")
        async with http.get(gw + location) as resp:
            page = await resp.text()
        removal = _hidden(page, "/admin/delais/jours/supprimer")
        assert removal == {"day": "2031-08-07", "q": words, "page": "2"}
        status, location, _ = await _post(http, gw + location, url + "/jours/supprimer", removal)
        assert (status, location) == (303, f"/admin/delais?fait=jour-retire&{back}")
        status, _, page = await _post(http, f"{url}?{back}", url + "/jours/supprimer", removal)
        assert status == 422
        assert "Ce jour n'est pas (ou plus) déclaré chômé : rien n'est retiré." in _text(page)
        _kept_at(page, "/admin/delais", words, 2)


async def test_a_refused_removal_of_other_shows_the_themes_list_at_its_address(stack, database_url):
    """« Autre » cannot be retired: the refusal showed the list with a pager whose links led to
    the removal's address (``…/autre/retirer?page=2``, a POST address: « Méthode non
    autorisée »), the search lost."""
    await thirty_themes_and_deadline_values(database_url)
    gw = stack.gateway
    url = gw + "/admin/catalogue/themes"
    words = "theme d essai"
    action = url + "/autre/retirer"
    async with await _admin(stack, database_url) as http:
        back, _ = await _second_page(http, url, words)
        status, _, page = await _post(http, f"{url}?{back}", action, {"q": words, "page": "2"})
        assert status == 409
        assert "« Autre » est proposé pour tout organisme : il ne peut être retiré." in _text(page)
        assert "retirer?" not in page
        _kept_at(page, "/admin/catalogue/themes", words, 2)
        assert "Affichage 26 à 30 sur 30 lignes" in _text(page)
        assert "THÈME D'ESSAI 27" in _text(page) and "THÈME D'ESSAI 02" not in _text(page)

        # Without a search (an old page, a script): the whole list, its pager at the list.
        status, _, page = await _post(http, url, action, {})
        assert status == 409
        pager = re.findall(r'<nav class="pager".*?</nav>', page, re.S)[0]
        assert 'href="/admin/catalogue/themes?page=2"' in pager, pager


async def thirty_keys(database_url: str) -> None:
    """30 keys « Système d'essai nn » (words no key's hexadecimal identifier can hold), then one
    of the budget's that no search for « essai » finds."""
    from gateway.staff import api_keys

    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("SET search_path TO gateway, public")
        for label in [f"Système d'essai {n:02d}" for n in range(30)] + ["SIGFIP du Budget"]:
            await api_keys.create(
                conn,
                body_id="ministere-budget",
                label=label,
                calls_per_minute=60,
                created_by="admin.essai",
            )
    finally:
        await conn.close()


async def test_the_api_keys_list_keeps_its_search_and_page_refused_or_done(stack, database_url):
    """« Clés d'API »: a refused creation (a label too long, no body) showed the list at its
    first page, the search lost, and revoking a key brought the administrator back to
    ``?fait=revoquee`` without them, where every other list of the administrator keeps them."""
    await thirty_keys(database_url)
    gw = stack.gateway
    url = gw + "/admin/cles-api"
    words = "essai"
    async with await _admin(stack, database_url) as http:
        back, page = await _second_page(http, url, words)
        carried = _hidden(page, "/admin/cles-api", "post")
        assert carried == {"q": words, "page": "2"}

        # Refused, shown again at the search and page, its forms still carrying them.
        key = {
            "body_id": "ministere-budget",
            "label": "SIGFIP " + "s" * 293,
            "calls_per_minute": "60",
        }
        for typed, said in [
            (key, "Ce texte compte 300 caractères : 120 au plus."),
            ({**key, "label": "SIGFIP", "body_id": ""}, "Choisissez l'organisme de la clé."),
        ]:
            status, _, page = await _post(http, f"{url}?{back}", url, {**typed, **carried})
            assert status == 422
            assert said in _text(page)
            _kept_at(page, "/admin/cles-api", words, 2)
            assert "Affichage 26 à 30 sur 30 lignes" in _text(page)
            assert _hidden(page, "/admin/cles-api", "post") == carried

        # Made: the key shown once, above the list at the search and page.
        typed = {**key, "label": "SIGFIP de la Défense"}
        status, location, _ = await _post(http, f"{url}?{back}", url, {**typed, **carried})
        assert (status, location) == (303, f"/admin/cles-api/creee?{back}")
        async with http.get(gw + location) as resp:
            page = await resp.text()
        assert "Clé créée : « SIGFIP de la Défense »" in _text(page)
        _kept_at(page, "/admin/cles-api", words, 2)
        assert "Affichage 26 à 30 sur 30 lignes" in _text(page)

        # « Révoquer… » of a key of that page leads to the question with the search and page,
        # and the question's form, its « Annuler » and the way back to the list carry them.
        key_id = re.findall(r'<form method="get" action="/admin/cles-api/([0-9a-f]{12})">', page)[0]
        asked = _hidden(page, f"/admin/cles-api/{key_id}")
        assert asked == {"confirmer": "revoquer", "q": words, "page": "2"}
        key_page = f"{url}/{key_id}?{urlencode(asked)}"
        async with http.get(key_page) as resp:
            page = await resp.text()
        assert f'href="/admin/cles-api/{key_id}?{html.escape(back)}">Annuler</a>' in page
        assert f'href="/admin/cles-api?{html.escape(back)}">' in page
        confirmed = _hidden(page, f"/admin/cles-api/{key_id}/revoquer")
        assert confirmed == {"confirm": "oui", "q": words, "page": "2"}

        # Not through the question (an old form): asked, at the search and page.
        action = f"{url}/{key_id}/revoquer"
        status, location, _ = await _post(http, key_page, action, {"q": words, "page": "2"})
        assert (status, location) == (303, f"/admin/cles-api/{key_id}?confirmer=revoquer&{back}")

        status, location, _ = await _post(http, key_page, action, confirmed)
        assert (status, location) == (303, f"/admin/cles-api?fait=revoquee&{back}")
        async with http.get(gw + location) as resp:
            page = await resp.text()
        assert "La clé est révoquée : tout appel avec elle est refusé." in _text(page)
        _kept_at(page, "/admin/cles-api", words, 2)
