"""Issue 12, « Journal d'audit »: every decision and action of every service beside the
sign-ins — an analyst's decision (triage's log) and a focal point's action (treatment's log) both
appear, merged by time; the filters by request code and by person work; opening a request page
with the citizen's contact writes one « Consultation des données personnelles » line (a search by
its exact code does not). And each role's menu offers only what the role may open: following
every link of it (and of the dashboard) never meets « Accès refusé »."""

from __future__ import annotations

import re
import uuid

import asyncpg
from playwright.async_api import expect

from shared.identity import Role
from tests.browser import axe_violations
from tests.staff.helpers import create_account, sign_in
from tests.support import eventually
from tests.track.conftest import submit

PASSWORD = "le journal de toutes les actions"
BODY = "ministere-budget"
MENU = 'nav[aria-label="Menu de l\'administration"] a[href]'


async def _reads(database_url: str, schema: str, code: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchval(
            f"SELECT count(*) FROM {schema}.audit_log"
            " WHERE action = 'personal_data_read' AND request_code = $1",
            code,
        )
    finally:
        await conn.close()


async def test_decisions_and_actions_in_the_journal_filtered_and_readings_logged(
    stack, browser, database_url
):
    gateway = stack.gateway
    tag = uuid.uuid4().hex[:6]
    admin, analyst, focal = f"admin.{tag}", f"analyste.{tag}", f"pf.{tag}"
    await create_account(database_url, Role.ADMINISTRATOR, admin, PASSWORD)
    await create_account(database_url, Role.ANALYST, analyst, PASSWORD, display_name="Awa KONÉ")
    await create_account(
        database_url, Role.FOCAL_POINT, focal, PASSWORD, BODY, display_name="Koffi YAO"
    )
    _, code = await submit(stack, f"aya.{tag}@example.ci")
    _, other = await submit(stack, f"yao.{tag}@example.ci")

    contexts = []

    async def new_page(login: str):
        context = await browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
        contexts.append(context)
        page = await context.new_page()
        await sign_in(page, gateway, login, PASSWORD)
        return page

    try:
        # The analyst validates the réclamation: it goes to the body.
        page = await new_page(analyst)

        async def queued():
            return (await page.goto(f"{gateway}/admin/traitements/{code}")).status == 200

        await eventually(queued)
        await page.get_by_text("Valider la requête", exact=True).click()
        await page.get_by_role("button", name="Valider", exact=True).click()
        await page.get_by_text("La requête est validée.").wait_for()

        # Reading a request logs one line; finding it by its exact code logs none.
        await eventually(lambda: _in_queue(page, gateway, other))
        before = await _reads(database_url, "triage", other)
        await page.goto(f"{gateway}/admin/traitements?q={other}")
        await page.get_by_role("heading", name=re.compile(other[:3])).first.wait_for()
        assert page.url.split("?")[0].endswith(f"/admin/traitements/{other}")
        assert await _reads(database_url, "triage", other) == before + 1

        # The focal point takes it in charge.
        page = await new_page(focal)

        async def at_the_body():
            return (await page.goto(f"{gateway}/admin/requetes/{code}")).status == 200

        await eventually(at_the_body)
        treatment_reads = await _reads(database_url, "treatment", code)
        assert treatment_reads >= 1
        await page.locator("form[action$='/prendre-en-compte'] button").click()
        await expect(page.locator("#resultat")).to_contain_text("La requête est prise en compte")

        # The journal: both, by the code; the other request's lines are not there.
        page = await new_page(admin)
        await page.goto(f"{gateway}/admin/journal")
        await page.get_by_label("Code de la requête").fill(code)
        await page.get_by_role("button", name="Filtrer").click()
        await page.get_by_role("heading", name="Journal d'audit").wait_for()
        rows = [
            [c.strip() for c in r.split("\t")]
            for r in await page.locator("table tbody tr").all_inner_texts()
        ]
        seen = {(r[1], r[2], r[7]) for r in rows}
        assert (analyst, "Requête validée", "Analystes (triage)") in seen, rows
        assert (focal, "Prise en compte", "Organismes (traitement)") in seen, rows
        assert (focal, "Consultation des données personnelles", "Organismes (traitement)") in seen
        assert (analyst, "Consultation des données personnelles", "Analystes (triage)") in seen
        assert all(r[3] == code for r in rows), rows
        assert other not in await page.locator("table").inner_text()
        # Merged by time, newest first: the focal point acted after the analyst.
        order = [r[2] for r in rows]
        assert order.index("Prise en compte") < order.index("Requête validée")
        assert await axe_violations(page) == []

        # By person: the focal point's lines only.
        await page.goto(f"{gateway}/admin/journal?personne={focal}")
        logins = {
            r.split("\t")[1].strip() for r in await page.locator("table tbody tr").all_inner_texts()
        }
        assert logins == {focal}
        # By action: the analysts' validations.
        await page.goto(f"{gateway}/admin/journal?action=validated&code={code}")
        actions = [
            r.split("\t")[2].strip() for r in await page.locator("table tbody tr").all_inner_texts()
        ]
        assert actions == ["Requête validée"]
    finally:
        for context in contexts:
            await context.close()


async def _in_queue(page, gateway: str, code: str) -> bool:
    return (await page.goto(f"{gateway}/admin/traitements/{code}")).status == 200


async def test_each_menu_offers_only_what_its_role_opens(stack, browser, database_url):
    gateway = stack.gateway
    tag = uuid.uuid4().hex[:6]
    people = {
        Role.FOCAL_POINT: (f"pf.{tag}", BODY),
        Role.ANALYST: (f"analyste.{tag}", None),
        Role.OPERATOR: (f"operateur.{tag}", None),
        Role.ADMINISTRATOR: (f"admin.{tag}", None),
    }
    for role, (login, body) in people.items():
        await create_account(database_url, role, login, PASSWORD, body)
    wrong = []
    for role, (login, _) in people.items():
        context = await browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
        try:
            page = await context.new_page()
            await sign_in(page, gateway, login, PASSWORD)
            links = await page.locator(MENU).evaluate_all("as => as.map(a => a.href)")
            assert links, role
            # The dashboard's numbers lead to their lists: those too.
            await page.goto(f"{gateway}/admin/")
            links += await page.locator("main a[href^='/admin']").evaluate_all(
                "as => as.map(a => a.href)"
            )
            for link in dict.fromkeys(links):
                response = await page.goto(link)
                if response.status != 200:
                    wrong.append(f"{role.value}: {link} → {response.status}")
        finally:
            await context.close()
    assert wrong == []
    conn = await asyncpg.connect(database_url)
    try:
        refused = await conn.fetch(
            "SELECT actor_login, target FROM gateway.audit_log"
            " WHERE action = 'access_refused' AND actor_login LIKE $1",
            f"%.{tag}",
        )
    finally:
        await conn.close()
    assert [tuple(r) for r in refused] == []
