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


async def _new_key(database_url: str) -> str:
    """A key of the budget's system, made as the page makes it; its id."""
    from gateway.staff import api_keys

    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("SET search_path TO gateway, public")
        key, _ = await api_keys.create(
            conn,
            body_id="ministere-budget",
            label="SIGFIP du ministère du Budget",
            calls_per_minute=60,
            created_by="admin.essai",
        )
        return key.id
    finally:
        await conn.close()


async def _revoked(database_url: str, key_id: str) -> bool:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchval(
            "SELECT revoked_at IS NOT NULL FROM gateway.api_keys WHERE id = $1", key_id
        )
    finally:
        await conn.close()


async def test_revoking_an_api_key_asks_first(gateway_alone, database_url):
    gw = (await gateway_alone()).url
    await create_account(database_url, Role.ADMINISTRATOR, "admin.essai", PASSWORD)
    key_id = await _new_key(database_url)
    key_page = f"{gw}/admin/cles-api/{key_id}"
    async with await signed_in_session(gw, "admin.essai", PASSWORD) as http:
        # Neither the list's button nor the key page's posts: each leads to the question.
        for url in (gw + "/admin/cles-api", key_page):
            async with http.get(url) as resp:
                page = html.unescape(await resp.text())
            assert f'action="/admin/cles-api/{key_id}/revoquer"' not in page, url
            assert '<input type="hidden" name="confirmer" value="revoquer">' in page, url
        async with http.get(key_page, params={"confirmer": "revoquer"}) as resp:
            page = html.unescape(await resp.text())
        assert "Êtes-vous sûr de vouloir révoquer la clé « SIGFIP du ministère du" in page
        assert f'action="/admin/cles-api/{key_id}/revoquer"' in page
        assert '<input type="hidden" name="confirm" value="oui">' in page
        # The keyboard lands on the question (then Tab: « Oui, révoquer la clé »).
        assert '<p id="confirmer-titre" tabindex="-1" autofocus>' in page

        # A post that did not go through the question revokes nothing: it leads there.
        token = await form_token(http, key_page)
        async with http.post(
            f"{key_page}/revoquer", data={"csrf_token": token}, allow_redirects=False
        ) as resp:
            assert resp.status == 303
            assert resp.headers["Location"] == f"/admin/cles-api/{key_id}?confirmer=revoquer"
        assert not await _revoked(database_url, key_id)

        async with http.post(
            f"{key_page}/revoquer", data={"csrf_token": token, "confirm": "oui"}
        ) as resp:
            assert "La clé est révoquée" in html.unescape(await resp.text())
        assert await _revoked(database_url, key_id)

        # A key that does not exist is not « révoquée »: the page says it is not there.
        unknown = f"{gw}/admin/cles-api/{'0' * 12}/revoquer"
        async with http.post(unknown, data={"csrf_token": token, "confirm": "oui"}) as resp:
            assert resp.status == 404


async def test_a_deadline_is_kept_only_for_a_body_of_the_catalogue(stack, database_url):
    gw = stack.gateway
    url = gw + "/admin/delais"
    async with await _admin(stack, database_url) as http:
        rule = {"nature": "reclamation", "kind": "answer", "days": "20"}
        status, _, page = await _post(http, url, url, {**rule, "body_id": "inconnu-xyz"})
        assert status == 422
        assert 'id="err-body_id"' in page
        assert "Cet organisme n'est pas dans le catalogue" in _text(page)
        assert 'value="20"' in page  # what was typed, kept

        # A body of the catalogue: kept, and said in the table by its name.
        status, location, _ = await _post(http, url, url, {**rule, "body_id": "ministere-budget"})
        assert (status, location) == (303, "/admin/delais?fait=delai")
    conn = await asyncpg.connect(database_url)
    try:
        kept = await conn.fetch("SELECT body_id FROM treatment.deadline_policy")
    finally:
        await conn.close()
    assert [r["body_id"] for r in kept] == ["ministere-budget"]


async def _limits(http, url: str) -> dict[str, str]:
    """The values the page « Limites et SMS » shows, by field."""
    async with http.get(url) as resp:
        page = html.unescape(await resp.text())
    return dict(re.findall(r'<input type="text" id="f-\w+" name="(\w+)" value="([^"]*)"', page))


async def test_a_limit_that_would_close_the_form_to_everybody_is_refused_in_french(
    stack, database_url
):
    url = stack.gateway + "/admin/limites"
    async with await _admin(stack, database_url) as http:
        shown = await _limits(http, url)
        assert len(shown) == 10 and shown["submissions_per_email"] != "8"
        # 0 requests per email: every citizen refused. Said beside the field, with the bounds.
        status, _, page = await _post(http, url, url, {**shown, "submissions_per_email": "0"})
        assert status == 422
        assert 'id="err-submissions_per_email"' in page
        assert "un nombre entier de 1 à 10 000 000." in _text(page)  # spaces: any kind
        assert 'name="submissions_per_email" value="0"' in page  # what was typed, kept
        # Past intake's bound: its words beside the field, not a word-less « refusée ».
        status, _, page = await _post(http, url, url, {**shown, "proof_difficulty_bits": "30"})
        assert status == 422
        assert 'id="err-proof_difficulty_bits"' in page
        assert "un nombre entier de 0 à 24." in _text(page)

        status, location, _ = await _post(http, url, url, {**shown, "submissions_per_email": "8"})
        assert (status, location) == (303, "/admin/limites?fait=1")
    conn = await asyncpg.connect(database_url)
    try:
        value = await conn.fetchval(
            "SELECT value FROM intake.config WHERE key = 'submissions_per_email'"
        )
        detail = await conn.fetchval(
            "SELECT detail FROM gateway.audit_log WHERE action = 'config_changed'"
        )
    finally:
        await conn.close()
    assert value == "8"
    # The log says it in the page's words.
    before = shown["submissions_per_email"]
    assert detail == f"Requêtes par adresse électronique : « {before} » → « 8 »"


async def _password_hash(database_url: str, login: str) -> str | None:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchval(
            "SELECT password_hash FROM gateway.staff_accounts WHERE login = $1", login
        )
    finally:
        await conn.close()


async def test_a_new_sign_in_link_and_a_second_factor_reset_ask_first(gateway_alone, database_url):
    """Both lock the agent out at once (the password or the phone stops working, the sessions
    end): one click on the account page did it."""
    gw = (await gateway_alone()).url
    await create_account(database_url, Role.ADMINISTRATOR, "admin.essai", PASSWORD)
    agent = await create_account(database_url, Role.ANALYST, "awa.kone", PASSWORD)
    page_url = f"{gw}/admin/comptes/{agent.id}"
    async with await signed_in_session(gw, "admin.essai", PASSWORD) as http:
        async with http.get(page_url) as resp:
            page = html.unescape(await resp.text())
        for action in ("nouveau-lien", "double-authentification", "desactiver"):
            assert f'action="/admin/comptes/{agent.id}/{action}"' not in page, action
        for question, ask in (
            ("lien", "Êtes-vous sûr de vouloir envoyer un nouveau lien de connexion à awa.kone ?"),
            (
                "double-authentification",
                "Êtes-vous sûr de vouloir réinitialiser la double authentification de awa.kone ?",
            ),
        ):
            assert f'<input type="hidden" name="confirmer" value="{question}">' in page
            async with http.get(page_url, params={"confirmer": question}) as resp:
                asked = html.unescape(await resp.text())
            assert ask in asked
            assert '<input type="hidden" name="confirm" value="oui">' in asked
            assert f'<p id="confirmer-{question}" tabindex="-1" autofocus>' in asked

        # A post that did not go through the question changes nothing: it leads there.
        token = await form_token(http, page_url)
        for action, question in (
            ("nouveau-lien", "lien"),
            ("double-authentification", "double-authentification"),
        ):
            async with http.post(
                f"{page_url}/{action}", data={"csrf_token": token}, allow_redirects=False
            ) as resp:
                assert resp.status == 303
                assert resp.headers["Location"] == f"/admin/comptes/{agent.id}?confirmer={question}"
        assert await _password_hash(database_url, "awa.kone") is not None

        async with http.post(
            f"{page_url}/nouveau-lien", data={"csrf_token": token, "confirm": "oui"}
        ) as resp:
            assert "Un nouveau lien de connexion part" in html.unescape(await resp.text())
        assert await _password_hash(database_url, "awa.kone") is None


async def test_the_journal_says_the_services_settings_in_french(stack, database_url):
    """Treatment's lines of « Délais » and « Rappels » showed their internal names
    (« deadline_set », « reminder_settings », « not_taken_days=4 », « Délai answer »), and the
    action filter offered « Consultation des données personnelles » twice."""
    gw = stack.gateway
    async with await _admin(stack, database_url) as http:
        rule = {"nature": "reclamation", "kind": "answer", "body_id": "", "days": "45"}
        assert (await _post(http, gw + "/admin/delais", gw + "/admin/delais", rule))[0] == 303
        day = {"day": "07/08/2027", "label": "Fête nationale"}
        url = gw + "/admin/delais"
        assert (await _post(http, url, url + "/jours", day))[0] == 303
        reminders = {
            "not_taken_days": "4",
            "in_progress_days": "6",
            "before_due_days": "2",
            "repeat_days": "3",
        }
        url = gw + "/admin/rappels"
        assert (await _post(http, url, url, reminders))[0] == 303

        async with http.get(gw + "/admin/journal") as resp:
            page = html.unescape(await resp.text())
        table = _text(page[page.index("<tbody") :])
        for raw in ("deadline_set", "day_off_declared", "reminder_settings", "_days", " answer"):
            assert raw not in table, raw
        assert "Rappels : modification" in table
        assert "Réclamation, Réponse de l'organisme : 60 jours ouvrés → 45 jours ouvrés" in table
        assert "Jour chômé déclaré : 07/08/2027 « Fête nationale »" in table
        assert "non prise en compte : premier rappel après 4 jours ouvrés" in table

        options = re.findall(r"<option value=\"([^\"]*)\"[^>]*>([^<]*)</option>", page)
        labels = [label for _, label in options]
        assert len(labels) == len(set(labels)), labels
        assert ("reminder_settings", "Rappels : modification") in options


async def test_two_reasons_of_one_use_cannot_share_a_label(stack, database_url):
    url = stack.gateway + "/admin/motifs"
    first = {"kind": "reject", "label": "Hors sujet", "text": "Hors du service public."}
    async with await _admin(stack, database_url) as http:
        assert (await _post(http, url, url, {**first, "position": ""}))[0] == 303
        twin = {**first, "label": "hors sujet", "text": "Doublon.", "position": ""}
        status, _, page = await _post(http, url, url, twin)
        assert status == 422
        assert 'id="err-label"' in page
        assert "Un motif de même usage porte déjà cet intitulé." in _text(page)
        assert 'value="hors sujet"' in page  # what was typed, kept
        # The other use may have its own « Hors sujet ».
        other = {**twin, "kind": "reformulate"}
        assert (await _post(http, url, url, other))[0] == 303
    conn = await asyncpg.connect(database_url)
    try:
        labels = await conn.fetch(
            "SELECT kind FROM triage.reasons WHERE lower(label) = 'hors sujet' ORDER BY kind"
        )
    finally:
        await conn.close()
    assert [r["kind"] for r in labels] == ["reformulate", "reject"]


async def test_the_api_keys_are_paged_sorted_and_searchable(gateway_alone, database_url):
    """Keys are never deleted (a revoked one stays, for the log): the list only grows, and it
    was one table of every key ever made."""
    from gateway.staff import api_keys

    gw = (await gateway_alone()).url
    await create_account(database_url, Role.ADMINISTRATOR, "admin.essai", PASSWORD)
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("SET search_path TO gateway, public")
        for n in range(30):
            await api_keys.create(
                conn,
                body_id="ministere-budget" if n % 2 else "ministere-defense",
                label="SIGFIP du Budget" if n == 29 else f"Système {n:02d}",
                calls_per_minute=60,
                created_by="admin.essai",
            )
    finally:
        await conn.close()
    async with await signed_in_session(gw, "admin.essai", PASSWORD) as http:
        async with http.get(gw + "/admin/cles-api") as resp:
            page = _text(await resp.text())
        assert "Affichage 1 à 25 sur 30 lignes" in page
        async with http.get(gw + "/admin/cles-api", params={"page": "2"}) as resp:
            assert "Affichage 26 à 30 sur 30 lignes" in _text(await resp.text())
        async with http.get(gw + "/admin/cles-api", params={"tri": "libelle"}) as resp:
            labels = KEY_LINK.findall(await resp.text())
        assert labels[:3] == ["SIGFIP du Budget", "Système 00", "Système 01"]
        params = {"tri": "libelle", "ordre": "desc"}
        async with http.get(gw + "/admin/cles-api", params=params) as resp:
            assert KEY_LINK.findall(await resp.text())[0] == "Système 28"
        # Words that no key's hexadecimal identifier can hold.
        async with http.get(gw + "/admin/cles-api", params={"q": "sigfip budget"}) as resp:
            page = await resp.text()
        assert KEY_LINK.findall(page) == ["SIGFIP du Budget"]
        assert "Affichage 1 à 1 sur 1 ligne" in _text(page)
        async with http.get(gw + "/admin/cles-api", params={"q": "%"}) as resp:
            assert KEY_LINK.findall(await resp.text()) == []  # a « % » typed is a « % »


# A key's link carries the list's search and page (« ?q=…&page=2 ») when there is one.
KEY_LINK = re.compile(r'<a href="/admin/cles-api/[0-9a-f]{12}(?:\?[^"]*)?">([^<]+)</a>')


async def test_a_motif_of_a_day_off_too_long_is_refused_not_cut(stack, database_url):
    url = stack.gateway + "/admin/delais"
    async with await _admin(stack, database_url) as http:
        day = {"day": "07/08/2027", "label": "Deuil national " * 20}  # 300 characters
        status, _, page = await _post(http, url, url + "/jours", day)
        assert status == 422
        assert 'id="err-label"' in page
        assert "caractères : 200 au plus." in _text(page)
    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM treatment.declared_days_off") == 0
    finally:
        await conn.close()


async def test_removing_a_day_off_that_is_not_declared_says_so(stack, database_url):
    url = stack.gateway + "/admin/delais"
    async with await _admin(stack, database_url) as http:
        status, location, page = await _post(
            http, url, url + "/jours/supprimer", {"day": "2031-08-07"}
        )
        assert status == 422, location
        assert "Le jour chômé est retiré" not in _text(page)
        assert "Ce jour n'est pas (ou plus) déclaré chômé : rien n'est retiré." in _text(page)
    conn = await asyncpg.connect(database_url)
    try:
        removed = await conn.fetchval(
            "SELECT count(*) FROM gateway.audit_log WHERE action = 'day_off_removed'"
        )
    finally:
        await conn.close()
    assert removed == 0


async def test_the_places_are_paged_and_searchable(stack, database_url):
    """The country counts some 700 communes and sous-préfectures: the page listed them all."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.executemany(
            """INSERT INTO intake.places (id, region, name, kind, region_position)
               VALUES ($1, 'Région d''essai', $2, 'sous-prefecture', 99)""",
            [(f"essai-village-{n:03d}", f"Village {n:03d}") for n in range(80)],
        )
        total = await conn.fetchval("SELECT count(*) FROM intake.places")
    finally:
        await conn.close()
    url = stack.gateway + "/admin/catalogue/lieux"
    async with await _admin(stack, database_url) as http:
        async with http.get(url) as resp:
            page = _text(await resp.text())
        assert f"Affichage 1 à 50 sur {total} lignes" in page
        async with http.get(url, params={"q": "village 042"}) as resp:
            page = _text(await resp.text())
        assert "Village 042" in page and "Village 041" not in page
        assert "Affichage 1 à 1 sur 1 ligne" in page
        async with http.get(url, params={"q": "region d essai", "page": "2"}) as resp:
            page = _text(await resp.text())
        assert "Affichage 51 à 80 sur 80 lignes" in page and "Village 079" in page


async def test_over_long_fields_are_refused_as_typed_not_cut(stack, database_url):
    """A body's name of 400 characters, a theme's label of 300, an agent's name of 300 were cut
    before they were checked: the form showed the cut text, and sub-themes past 5 000
    characters were dropped without a word."""
    gw = stack.gateway
    async with await _admin(stack, database_url) as http:
        url = gw + "/admin/catalogue/organismes/nouveau"
        name = "Agence " + "a" * 393  # 400 characters
        others = ("acronym", "phones", "email", "location", "hours")
        status, location, page = await _post(
            http, url, url, {"name": name, **dict.fromkeys(others, "")}
        )
        assert status == 422, location
        assert 'id="err-name"' in page
        assert "Ce texte compte 400 caractères : 200 au plus." in _text(page)
        assert f'value="{name}"' in page  # what was typed, not its first 200 characters

        url = gw + "/admin/catalogue/themes/nouveau"
        label = "T" * 300
        status, location, page = await _post(
            http, url, url, {"label": label, "parent_id": "", "position": ""}
        )
        assert status == 422, location
        assert "Ce texte compte 300 caractères : 200 au plus." in _text(page)
        assert f'value="{label}"' in page

        # 40 sub-themes of 150 characters, within what the form takes (50 of 200): 6 039
        # characters, of which only the first 5 000 were read (the last ones lost or cut).
        body = gw + "/admin/catalogue/organismes/ministere-budget"
        children = "\n".join(f"{n:02d} " + "s" * 147 for n in range(40))
        status, location, _ = await _post(
            http, body, body + "/nouveau-theme", {"label": "LONGUES LISTES", "children": children}
        )
        assert status == 303, location

        url = gw + "/admin/comptes/nouveau"
        typed = {
            "login": "agent.long",
            "display_name": "N" * 300,
            "email": "agent.long@budget.gouv.ci",
            "role": "analyst",
            "body_id": "",
        }
        status, location, page = await _post(http, url, url, typed)
        assert status == 422, location
        assert 'id="err-display_name"' in page
        assert "Ce texte compte 300 caractères : 120 au plus." in _text(page)
        assert 'value="' + "N" * 300 + '"' in page

    conn = await asyncpg.connect(database_url)
    try:
        assert (
            await conn.fetchval("SELECT count(*) FROM intake.themes WHERE label = $1", label[:200])
            == 0
        )
        sub_themes = await conn.fetch(
            """SELECT t.label FROM intake.themes t JOIN intake.themes p ON p.id = t.parent_id
               WHERE p.label = 'LONGUES LISTES' ORDER BY t.label"""
        )
        assert [r["label"] for r in sub_themes] == children.splitlines()
        assert (
            await conn.fetchval("SELECT count(*) FROM intake.bodies WHERE name LIKE 'Agence a%'")
            == 0
        )
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM gateway.staff_accounts WHERE login = 'agent.long'"
            )
            == 0
        )
    finally:
        await conn.close()


async def test_sub_themes_that_intake_refuses_are_named_beside_the_field(stack, database_url):
    """Sub-themes added from a body's page that intake refused (the same name twice, a name
    without a letter) were skipped: the page said « Le thème est ajouté » and nothing else."""
    body = stack.gateway + "/admin/catalogue/organismes/ministere-budget"
    typed = {"label": "PENSIONS D'ESSAI", "children": "Pension de veuve\nPENSION DE VEUVE\n!!!"}
    async with await _admin(stack, database_url) as http:
        status, location, page = await _post(http, body, body + "/nouveau-theme", typed)
        assert status == 422, location
        assert 'id="err-children"' in page
        said = _text(page)
        assert "« PENSION DE VEUVE »" in said and "« !!! »" in said
        assert "existe déjà" in said  # why, for each
        assert "Écrivez au moins une lettre ou un chiffre." in said
        assert "« PENSIONS D'ESSAI » est ajouté" in said
    conn = await asyncpg.connect(database_url)
    try:
        children = await conn.fetch(
            """SELECT t.label FROM intake.themes t JOIN intake.themes p ON p.id = t.parent_id
               WHERE p.label = 'PENSIONS D''ESSAI'"""
        )
    finally:
        await conn.close()
    assert [r["label"] for r in children] == ["Pension de veuve"]


async def test_removing_a_deadline_value_that_is_not_set_says_so(stack, database_url):
    """« Supprimer » on an old page, after another administrator removed the body's value:
    the page said « La valeur est retirée » and both journals kept a line of a removal."""
    url = stack.gateway + "/admin/delais"
    rule = {"nature": "reclamation", "kind": "answer", "body_id": "ministere-budget"}
    async with await _admin(stack, database_url) as http:
        status, location, page = await _post(http, url, url + "/supprimer", rule)
        assert status == 422, location
        said = _text(page)
        assert "La valeur est retirée" not in said
        assert "Aucune valeur n'est fixée pour cet organisme : rien n'est retiré." in said
        assert 'id="err-body_id"' in page
    conn = await asyncpg.connect(database_url)
    try:
        journal = await conn.fetchval(
            "SELECT count(*) FROM gateway.audit_log WHERE action = 'deadline_set'"
        )
        treatment_journal = await conn.fetchval(
            "SELECT count(*) FROM treatment.audit_log WHERE action = 'deadline_set'"
        )
        revision = await conn.fetchval("SELECT revision FROM treatment.deadline_policy_revision")
    finally:
        await conn.close()
    assert (journal, treatment_journal, revision) == (0, 0, 0)


async def test_the_themes_are_paged(stack, database_url):
    """Every theme and sub-theme on one page, however many the catalogue holds; a theme
    changed on a later page brings the administrator back to that page."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.executemany(
            "INSERT INTO intake.themes (id, label, position) VALUES ($1, $2, 9000)",
            [(f"essai-theme-{n:02d}", f"THÈME D'ESSAI {n:02d}") for n in range(30)],
        )
        total = await conn.fetchval("SELECT count(*) FROM intake.themes WHERE parent_id IS NULL")
    finally:
        await conn.close()
    url = stack.gateway + "/admin/catalogue/themes"
    async with await _admin(stack, database_url) as http:
        async with http.get(url) as resp:
            page = _text(await resp.text())
        assert f"Affichage 1 à 25 sur {total} lignes" in page
        assert "THÈME D'ESSAI 29" not in page
        last = (total - 1) // 25 + 1
        async with http.get(url, params={"page": str(last)}) as resp:
            assert "THÈME D'ESSAI 29" in _text(await resp.text())
        edit = f"{url}/essai-theme-29/modifier"
        status, location, _ = await _post(
            http, edit, edit, {"label": "THÈME D'ESSAI 29 BIS", "position": "9000"}
        )
        assert status == 303
        assert location == f"/admin/catalogue/themes?fait=modifie&page={last}#t-essai-theme-29"


async def test_the_bodies_own_deadline_values_are_paged(stack, database_url):
    """Some 200 bodies, two deadlines, five natures: the table of the bodies' own values had
    every one of them on the page."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.executemany(
            """INSERT INTO treatment.deadline_policy (kind, nature, body_id, days, changed_by)
               VALUES ('answer', 'reclamation', $1, 30, 'admin.essai')""",
            [(f"essai-organisme-{n:02d}",) for n in range(30)],
        )
    finally:
        await conn.close()
    url = stack.gateway + "/admin/delais"
    async with await _admin(stack, database_url) as http:
        async with http.get(url) as resp:
            page = _text(await resp.text())
        assert "Affichage 1 à 25 sur 30 lignes" in page
        assert "essai-organisme-24" in page and "essai-organisme-25" not in page
        async with http.get(url, params={"page": "2"}) as resp:
            page = _text(await resp.text())
        assert "Affichage 26 à 30 sur 30 lignes" in page
        assert "essai-organisme-29" in page and "essai-organisme-00" not in page
