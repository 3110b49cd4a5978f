"""The bodies' lists in the back office, on the whole platform: « En cours », « Retraitement »,
« Insatisfaits », « Consultations » for a focal point (its own body only, in every page and
export), read-only for analysts and administrators with an « Organisme » filter, and refused to
operators."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from html import unescape

import openpyxl
import pytest

from services.treatment import actions
from services.treatment.settings import SETTINGS
from shared import french
from shared.identity import Role
from shared.service import POOL
from tests.staff.helpers import create_account, signed_in_session
from tests.treatment.conftest import deliver, validated_event
from tests.treatment.lists_scenario import agent_of, scenario

BODY, OTHER = "ministere-budget", "ministere-justice"
PASSWORD = "les listes des organismes"
PAGES = {
    "en_cours": "/admin/traitements/en-cours",
    "retraitement": "/admin/traitements/retraitement",
    "insatisfaits": "/admin/traitements/insatisfaits",
    **{
        view: f"/admin/pf/consultations?liste={slug}"
        for view, slug in (
            ("sans_retour", "sans-retour"),
            ("satisfaits", "satisfaits"),
            ("reclamations", "reclamations"),
            ("suggestions", "suggestions"),
            ("observations", "observations"),
            ("motions", "motions"),
        )
    },
}


def export_of(path: str, extension: str) -> str:
    base, _, query = path.partition("?")
    return f"{base}/export.{extension}" + (f"?{query}" if query else "")


@pytest.fixture
async def platform(stack, database_url):
    pool = stack.apps["treatment"].app[POOL]
    ours, theirs = await scenario(pool, BODY), await scenario(pool, OTHER)
    for login, role, body in (
        ("pf.budget", Role.FOCAL_POINT, BODY),
        ("pf.justice", Role.FOCAL_POINT, OTHER),
        ("awa.analyste", Role.ANALYST, None),
        ("op.appels", Role.OPERATOR, None),
    ):
        await create_account(database_url, role, login, PASSWORD, body)
    return stack, ours, theirs


async def get(http, url: str) -> tuple[int, str]:
    async with http.get(url, allow_redirects=False) as resp:
        return resp.status, await resp.text()


def codes_in(html: str) -> set[str]:
    return set(re.findall(r"/admin/requetes/(\d{10})", html))


async def test_a_focal_point_sees_its_body_in_every_list_and_export(platform):
    stack, ours, theirs = platform
    every_ours = {c for v, codes in ours.items() if v != "by_name" for c in codes}
    every_theirs = {c for v, codes in theirs.items() if v != "by_name" for c in codes}
    async with await signed_in_session(stack.gateway, "pf.budget", PASSWORD) as http:
        for view, path in PAGES.items():
            status, html = await get(http, stack.gateway + path)
            assert status == 200, (view, html[:500])
            assert codes_in(html) == set(ours[view]), view
            if not ours[view]:
                assert "Pas d'enregistrement" in html
            # The other body asked for by hand: still our own rows only.
            joiner = "&" if "?" in path else "?"
            status, html = await get(http, f"{stack.gateway}{path}{joiner}organisme={OTHER}")
            assert codes_in(html) == set(ours[view]), view
            status, raw = await get(http, stack.gateway + export_of(path, "csv"))
            assert status == 200
            rows = list(csv.reader(io.StringIO(raw.lstrip("\ufeff")), delimiter=";"))
            assert {r[0] for r in rows[1:]} == set(ours[view]), view
            async with http.get(stack.gateway + export_of(path, "xlsx")) as resp:
                assert resp.status == 200
                sheet = openpyxl.load_workbook(io.BytesIO(await resp.read())).active
                assert {r[0] for r in sheet.iter_rows(min_row=2, values_only=True)} == set(
                    ours[view]
                )
            assert not (codes_in(html) | {r[0] for r in rows[1:]}) & every_theirs
    assert every_ours.isdisjoint(every_theirs)
    # The journal names each file as the agent took it: the list's name, CSV or workbook.
    pool = stack.apps["treatment"].app[POOL]
    async with pool.acquire() as conn:
        logged = await conn.fetchval(
            "SELECT string_agg(detail, ' | ' ORDER BY id) FROM audit_log WHERE action = 'export'"
        )
    assert "(CSV, liste « En cours »)" in logged
    assert "(Excel (.xlsx), liste « Sans retour »)" in logged
    assert "en_cours" not in logged and "sans_retour" not in logged


async def test_the_guide_s_words_on_each_list(platform):
    stack, ours, _ = platform
    names = ours["by_name"]
    async with await signed_in_session(stack.gateway, "pf.budget", PASSWORD) as http:
        _, html = await get(http, stack.gateway + PAGES["en_cours"])
        assert "Requêtes à traiter" in html and "Traiter<span" in html
        assert "En cours de traitement depuis le" in html
        assert f"Pris en compte par pf.{BODY}" in html
        assert "Aya Kouassi" in html
        _, html = await get(http, stack.gateway + PAGES["retraitement"])
        assert "Liste des requêtes réouvertes" in html and "Traiter à nouveau" in html
        assert "(réouverte pour un nouveau traitement)" in html
        assert "Réponse à reopened" in html and "Toujours fermé" in html
        _, html = await get(http, stack.gateway + PAGES["insatisfaits"])
        assert "Liste des requêtes traitées Insatisfaites" in html
        assert "Non satisfait" in html and "Trop lent" in html
        assert "Répondre à l&#39;usager" in html or "Répondre à l'usager" in html
        _, html = await get(http, stack.gateway + "/admin/pf/consultations")
        assert "Liste des requêtes traitées sans retour" in html
        assert codes_in(html) == {names["silent"]}
        for tab in ("Sans retour", "Satisfaits", "Réclamations", "Suggestions", "Motions"):
            assert f">{tab}</a>" in html
        _, html = await get(http, stack.gateway + PAGES["reclamations"])
        for column in ("Message posté", "Retour Analyste", "Msg traitement", "Retour usager"):
            assert column in html


async def test_search_sort_and_pages(platform):
    stack, ours, _ = platform
    names = ours["by_name"]
    async with await signed_in_session(stack.gateway, "pf.budget", PASSWORD) as http:
        base = stack.gateway + "/admin/pf/consultations?liste=reclamations"
        _, html = await get(http, base + "&q=decevant")
        assert codes_in(html) == {names["fresh"]}
        _, html = await get(http, base + f"&q={names['unsatisfied']}")
        assert codes_in(html) == {names["unsatisfied"]}
        _, html = await get(http, base + "&tri=code&ordre=desc")
        found = list(dict.fromkeys(re.findall(r"/admin/requetes/(\d{10})", html)))
        assert found == sorted(ours["reclamations"], reverse=True)
        assert "Affichage 1 à 6 sur 6 lignes" in html
        _, raw = await get(
            http, stack.gateway + "/admin/pf/consultations/export.csv?liste=reclamations&q=pension"
        )
        assert {r.split(";")[0] for r in raw.lstrip("\ufeff").splitlines()[1:]} == {
            names["held"],
            names["unsatisfied"],
        }


async def test_a_page_number_past_every_row_says_the_page_is_empty(platform):
    """A page typed in the address far past the list (page=400002 and beyond): « Aucune ligne
    sur cette page », as for any page past the last, not « Service momentanément indisponible »
    (the trial: the offset it made was past what treatment takes)."""
    stack, _, _ = platform
    async with await signed_in_session(stack.gateway, "pf.budget", PASSWORD) as http:
        for page in ("2", "400002", "99999999999999999999"):
            status, html = await get(
                http, f"{stack.gateway}/admin/traitements/en-cours?page={page}"
            )
            assert status == 200, (page, html)
            assert "Aucune ligne sur cette page : la liste compte" in unescape(html), page


async def test_analysts_read_every_body_and_operators_are_refused(platform):
    stack, ours, theirs = platform
    async with await signed_in_session(stack.gateway, "awa.analyste", PASSWORD) as http:
        status, html = await get(http, stack.gateway + PAGES["insatisfaits"])
        assert status == 200
        assert codes_in(html) == set(ours["insatisfaits"] + theirs["insatisfaits"])
        assert "Consulter<span" in html and "Répondre à l" not in html
        assert 'id="f-organisme"' in html and "Suivi des organismes" in html
        status, html = await get(http, stack.gateway + PAGES["en_cours"] + f"?organisme={OTHER}")
        assert codes_in(html) == set(theirs["en_cours"])
    async with await signed_in_session(stack.gateway, "op.appels", PASSWORD) as http:
        for path in PAGES.values():
            status, _ = await get(http, stack.gateway + path)
            assert status == 403
    async with await signed_in_session(stack.gateway, "pf.budget", PASSWORD) as http:
        _, html = await get(http, stack.gateway + "/admin/aide")
        for entry in ("En cours", "Retraitement", "Insatisfaits"):
            assert f">{entry}</a>" in html
        assert 'href="/admin/traitements"' not in html  # the analysts' queue is not theirs


async def test_en_cours_shows_the_deadline_filters_the_late_and_sorts_by_it(platform):
    """« Échéance » in working days, « En retard seulement », sorted by « Échéance »."""
    from datetime import date

    stack, ours, _ = platform
    pool = stack.apps["treatment"].app[POOL]
    open_codes = sorted(ours["en_cours"])
    assert len(open_codes) >= 2
    late = open_codes[0]
    async with pool.acquire() as conn:
        await conn.execute(
            "UPDATE treatments SET answer_due = $2 WHERE code = $1", late, date(2026, 1, 5)
        )
    async with await signed_in_session(stack.gateway, "pf.budget", PASSWORD) as http:
        status, html = await get(http, stack.gateway + PAGES["en_cours"])
        assert status == 200
        assert "Échéance" in html and "En retard seulement" in html
        assert "En retard de" in html and "jours ouvrés restants" in html
        status, html = await get(http, stack.gateway + PAGES["en_cours"] + "?retard=1")
        assert codes_in(html) == {late}
        status, html = await get(http, stack.gateway + PAGES["en_cours"] + "?tri=echeance")
        found = re.findall(r"/admin/requetes/(\d{10})", html)
        assert found[0] == late

    # On hold, the deadline does not run: no days counted on its row.
    held = open_codes[1]
    async with pool.acquire() as conn:
        await conn.execute("UPDATE treatments SET status = 'on_hold' WHERE code = $1", held)
    async with await signed_in_session(stack.gateway, "pf.budget", PASSWORD) as http:
        _, html = await get(http, stack.gateway + PAGES["en_cours"])
    row = next(r for r in html.split("<tr") if f"/admin/requetes/{held}" in r)
    assert "Délai suspendu pendant la mise en attente" in row and "restant" not in row


async def test_the_exports_of_the_awaited_lists_carry_the_answer_s_deadline(platform):
    """« En cours » shows each request's « Échéance »: its export says it too — the day, as the
    page writes it in the CSV, a date in the workbook — and says nothing for a request whose
    answer is no longer awaited. Seen missing in a trial: the focal point's spreadsheet of what
    to do had no deadline in it."""
    stack, ours, _ = platform
    pool = stack.apps["treatment"].app[POOL]
    async with pool.acquire() as conn:
        due = dict(
            await conn.fetch(
                "SELECT code, answer_due FROM treatment.treatments WHERE body_id = $1", BODY
            )
        )
    async with await signed_in_session(stack.gateway, "pf.budget", PASSWORD) as http:
        _, raw = await get(http, stack.gateway + export_of(PAGES["en_cours"], "csv"))
        rows = list(csv.reader(io.StringIO(raw.lstrip("\ufeff")), delimiter=";"))
        assert "Échéance de la réponse" in rows[0]
        by_code = {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
        assert set(by_code) == set(ours["en_cours"])
        for code, line in by_code.items():
            assert line["Échéance de la réponse"] == due[code].strftime("%d/%m/%Y"), code
        async with http.get(stack.gateway + export_of(PAGES["en_cours"], "xlsx")) as resp:
            sheet = openpyxl.load_workbook(io.BytesIO(await resp.read())).active
        header = [c.value for c in sheet[1]]
        column = header.index("Échéance de la réponse")
        for row in sheet.iter_rows(min_row=2, values_only=True):
            assert row[column].date() == due[row[0]], row[0]
        _, raw = await get(http, stack.gateway + export_of(PAGES["satisfaits"], "csv"))
        rows = list(csv.reader(io.StringIO(raw.lstrip("\ufeff")), delimiter=";"))
        [line] = [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
        assert line["Échéance de la réponse"] == ""


async def test_an_empty_en_retard_says_every_answer_is_within_its_deadline(platform):
    """« En retard » with nothing late says so in words (the list's own note), not the bare
    « Pas d'enregistrement » of any empty table; the note was written but never shown."""
    stack, _, _ = platform
    async with await signed_in_session(stack.gateway, "pf.budget", PASSWORD) as http:
        status, html = await get(http, stack.gateway + "/admin/traitements/en-retard")
    assert status == 200
    assert "Aucune requête en retard : chaque réponse attendue est encore dans son délai." in html


async def test_en_retard_offers_no_en_retard_seulement(platform):
    """« En retard seulement » narrows « En cours » and « Retraitement »; in « En retard », late
    already, it meant nothing and is not offered."""
    stack, _, _ = platform
    async with await signed_in_session(stack.gateway, "pf.budget", PASSWORD) as http:
        _, late = await get(http, stack.gateway + "/admin/traitements/en-retard")
        _, reopened = await get(http, stack.gateway + PAGES["retraitement"])
    assert 'name="retard"' not in late and "En retard seulement" not in late
    assert 'name="retard"' in reopened and "En retard seulement" in reopened


async def test_the_exports_name_the_agent_as_the_pages_do(platform, database_url):
    """« Pris en compte par » in the CSV and the workbook: the agent's name, as the lists and
    the request's page show it (people by name, never by login). Seen in a trial: the pages
    said « Ama DIALLO », the spreadsheet « ama.diallo »."""
    stack, ours, _ = platform
    # The agent who took « held » in the scenario, by login (tests/treatment/lists_scenario.py).
    await create_account(database_url, Role.FOCAL_POINT, f"pf.{BODY}", PASSWORD, BODY, "=Koffi YAO")
    held = ours["by_name"]["held"]
    async with await signed_in_session(stack.gateway, "pf.budget", PASSWORD) as http:
        _, raw = await get(http, stack.gateway + export_of(PAGES["en_cours"], "csv"))
        assert raw.startswith("\ufeff")
        rows = list(csv.reader(io.StringIO(raw.lstrip("\ufeff")), delimiter=";"))
        by_code = {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
        assert set(by_code) == set(ours["en_cours"])
        # A name that looks like a formula stays text, as every cell of the export.
        assert by_code[held]["Pris en compte par"] == "'=Koffi YAO"
        assert f"pf.{BODY}" not in raw
        async with http.get(stack.gateway + export_of(PAGES["en_cours"], "xlsx")) as resp:
            sheet = openpyxl.load_workbook(io.BytesIO(await resp.read())).active
        header = [c.value for c in sheet[1]]
        column = header.index("Pris en compte par")
        named = {r[0]: r[column] for r in sheet.iter_rows(min_row=2, values_only=True)}
        assert named[held] == "=Koffi YAO"


async def test_avis_attendus_leads_to_the_answers_awaiting_the_citizen(platform):
    """The dashboard's « Avis attendus » leads to the requests answered whose citizen has not
    yet given an opinion nor reopened them — those to follow up — not to every réclamation of
    the body (closed and in progress ones with them), as it did."""
    stack, _, _ = platform
    pool = stack.apps["treatment"].app[POOL]
    event = validated_event(body_id=BODY, body_name="Organisme budget")
    assert await deliver(pool, event)
    who = actions.Who(agent_of(BODY), "10.0.0.9")
    await actions.answer(pool, event.code, who, message="Votre virement est parti.", version=None)
    async with await signed_in_session(stack.gateway, "pf.budget", PASSWORD) as http:
        _, dashboard = await get(http, stack.gateway + "/admin/")
        card = r'<h3>Avis attendus</h3>\s*<p class="figure"><a href="([^"]+)"'
        found = re.search(card, dashboard)
        assert found, dashboard
        link = unescape(found[1])
        status, html = await get(http, stack.gateway + link)
    assert status == 200
    assert codes_in(html) == {event.code}
    assert "Liste des requêtes traitées en attente de l'avis de l'usager" in unescape(html)


async def test_insatisfaits_says_whether_and_when_the_citizen_was_answered_again(platform):
    """The trial: after « Répondre à l'usager » the row of « Insatisfaits » looked the same, and
    the further answer took the first's place in « Message traitement ». Now « Nouvelle
    réponse » says « — » until the body answers again, then the day it did; the exports carry
    the answer and its day."""
    stack, ours, _ = platform
    code = ours["by_name"]["unsatisfied"]
    path = PAGES["insatisfaits"]

    def row_of(html: str) -> str:
        return next(r for r in html.split("<tr>") if f"/admin/requetes/{code}" in r)

    def cell(row: str) -> str:
        found = re.search(r'data-label="Nouvelle réponse">(.*?)</td>', row, re.S)
        assert found, row
        return unescape(found.group(1))

    async with await signed_in_session(stack.gateway, "pf.budget", PASSWORD) as http:
        _, html = await get(http, stack.gateway + path)
        assert '<th scope="col">Nouvelle réponse</th>' in html
        assert cell(row_of(html)).startswith("—")

        await actions.answer_again(
            stack.apps["treatment"].app[POOL],
            code,
            actions.Who(agent_of(BODY), "10.0.0.9"),
            message="Le virement part ce jour, voici le bordereau.",
            version=None,
        )
        _, html = await get(http, stack.gateway + path)
        row = row_of(html)
        today = french.day(datetime.now(UTC))
        assert cell(row) == f"Envoyée le {today}"
        # « Message traitement » is still the answer the citizen judged.
        assert "Réponse à unsatisfied" in row

        _, raw = await get(http, stack.gateway + export_of(path, "csv"))
        rows = list(csv.reader(io.StringIO(raw.lstrip("\ufeff")), delimiter=";"))
        header, line = rows[0], next(r for r in rows if r[0] == code)
        said = line[header.index("Nouvelle réponse")]
        assert said == "Le virement part ce jour, voici le bordereau."
        assert line[header.index("Nouvelle réponse le")].startswith(today)
        assert line[header.index("Message traitement")] == "Réponse à unsatisfied"
        async with http.get(stack.gateway + export_of(path, "xlsx")) as resp:
            sheet = openpyxl.load_workbook(io.BytesIO(await resp.read())).active
        cells = list(sheet.iter_rows(values_only=True))
        at = next(r for r in cells if r[0] == code)[cells[0].index("Nouvelle réponse le")]
        assert isinstance(at, datetime)


async def _answered(stack) -> tuple[str, datetime]:
    """A request of BODY answered: its code, and until when the citizen's opinion is awaited
    (the clock's setting here, ``no_opinion_days`` after the answer)."""
    treatment = stack.apps["treatment"].app
    event = validated_event(body_id=BODY, body_name="Organisme budget")
    assert await deliver(treatment[POOL], event)
    who = actions.Who(agent_of(BODY), "10.0.0.9")
    await actions.answer(treatment[POOL], event.code, who, message="C'est fait.", version=None)
    treated_at = await treatment[POOL].fetchval(
        "SELECT treated_at FROM treatments WHERE code = $1", event.code
    )
    return event.code, treated_at + timedelta(days=treatment[SETTINGS].no_opinion_days)


async def test_the_focal_point_sees_until_when_the_opinion_is_awaited(platform):
    """The trial: nothing said when a treated request would be closed « sans retour ». The
    request's page and « Avis attendus » say until when the citizen's opinion is awaited."""
    stack, _, _ = platform
    code, limit = await _answered(stack)
    until = french.until(limit)
    async with await signed_in_session(stack.gateway, "pf.budget", PASSWORD) as http:
        _, html = await get(http, f"{stack.gateway}/admin/requetes/{code}")
        said = unescape(html)
        found = re.search(r"<dt>Avis attendu jusqu'au</dt><dd id=\"avis-attendu\">([^<]+)", said)
        assert found and found[1].strip() == until, html
        _, html = await get(http, stack.gateway + "/admin/pf/consultations?liste=avis-attendus")
    html = unescape(html)
    assert """<th scope="col">Avis attendu jusqu'au</th>""" in html
    row = next(r for r in html.split("<tr>") if f"/admin/requetes/{code}" in r)
    assert f"""data-label="Avis attendu jusqu'au">{until}</td>""" in row


async def test_the_exports_say_until_when_the_opinion_is_awaited(platform):
    """The trial: « Avis attendu jusqu'au » was on the request's page and in « Avis attendus »,
    not in the exports the focal point takes from them. The CSV says it as it says the other
    moments, the workbook as a date; empty for a request whose opinion is not awaited."""
    stack, ours, _ = platform
    code, until = await _answered(stack)
    column = "Avis attendu jusqu'au"
    awaited = "/admin/pf/consultations?liste=avis-attendus"
    async with await signed_in_session(stack.gateway, "pf.budget", PASSWORD) as http:
        _, raw = await get(http, stack.gateway + export_of(awaited, "csv"))
        rows = list(csv.reader(io.StringIO(raw.lstrip("\ufeff")), delimiter=";"))
        assert column in rows[0], rows[0]
        by_code = {r[0]: r[rows[0].index(column)] for r in rows[1:]}
        assert by_code == {code: french.stamp(until)}
        _, raw = await get(http, stack.gateway + export_of(PAGES["en_cours"], "csv"))
        rows = list(csv.reader(io.StringIO(raw.lstrip("\ufeff")), delimiter=";"))
        assert {r[0]: r[rows[0].index(column)] for r in rows[1:]} == dict.fromkeys(
            ours["en_cours"], ""
        )
        async with http.get(stack.gateway + export_of(awaited, "xlsx")) as resp:
            sheet = openpyxl.load_workbook(io.BytesIO(await resp.read())).active
        cells = list(sheet.iter_rows(values_only=True))
        at = next(r for r in cells if r[0] == code)[cells[0].index(column)]
        assert isinstance(at, datetime), at


async def test_an_empty_list_says_pas_d_enregistrement_once(platform):
    """The trial: an empty list said « Pas d'enregistrement » in its table and again in the line
    under it. Once, in the table, is enough."""
    stack, _, _ = platform
    async with await signed_in_session(stack.gateway, "pf.budget", PASSWORD) as http:
        for path in (PAGES["en_cours"] + "?q=introuvable", PAGES["motions"] + "&q=introuvable"):
            status, html = await get(http, stack.gateway + path)
            assert status == 200
            assert codes_in(html) == set()
            assert unescape(html).count("Pas d'enregistrement") == 1, path
            assert "Affichage" not in html


async def test_retraitement_says_when_the_citizen_reopened(platform):
    """The trial: « Retraitement » did not say when the citizen reopened the request. A
    « Réouverte le » column does, the day in French."""
    stack, ours, _ = platform
    code = ours["by_name"]["reopened"]
    reopened_at = (
        await stack.apps["treatment"]
        .app[POOL]
        .fetchval(
            """SELECT r.reopened_at FROM reopenings r JOIN treatments t USING (request_id)
           WHERE t.code = $1""",
            code,
        )
    )
    async with await signed_in_session(stack.gateway, "pf.budget", PASSWORD) as http:
        _, html = await get(http, stack.gateway + PAGES["retraitement"])
    assert '<th scope="col">Réouverte le</th>' in html
    row = next(r for r in html.split("<tr>") if f"/admin/requetes/{code}" in r)
    assert f'data-label="Réouverte le">{french.day(reopened_at)}</td>' in row
