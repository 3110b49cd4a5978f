"""axe-core on a page of each kind the platform shows, in a real Chromium at 360 px and at
1280 px: WCAG 2.1 levels A and AA, and axe's best practices. The citizen's home, the form with
its errors shown, the confirmation, the code, a tracking result and the statistics; the analyst's
queue and a request's page with its decisions open; the focal point's « En cours » and a
request's answer form; the administrator's accounts. A failure lists each violation: width, rule,
impact and the elements it names.

The other browser tests keep each page they visit axe-clean along their journeys; this one is the
checklist of the audit, every audience on one platform in this process (tests/stack.py)."""

from __future__ import annotations

import re
from types import SimpleNamespace

from playwright.async_api import expect

from shared.identity import Role
from tests.front.pages import (
    BUDGET_NAME,
    axe_findings,
    choose_nature_and_body,
    fill_form,
    new_page,
    submit_form,
)
from tests.staff.helpers import create_account, follow_menu, open_menu, sign_in
from tests.support import eventually
from tests.treatment.pages import BODY, validated_reclamation
from tests.triage.access import request_in_queue

CITIZEN = "aya.kouassi@example.ci"
PASSWORD = "un mot de passe pour l'audit"


async def _clean(page) -> None:
    findings = await axe_findings(page)
    assert findings == [], "axe-core:\n" + "\n".join(findings)


async def _unfold(page) -> None:
    """Unfold what the page's main part folds (the forms « Valider la requête », « Mettre en
    attente »…; « Filtres » at 360 px) as an agent would: axe-core leaves out what is folded."""
    folded = page.locator("main details:not([open]) > summary")
    for _ in range(await folded.count()):
        await folded.first.click()
    await expect(page.locator("main details:not([open])")).to_have_count(0)


async def _clean_unfolded(page) -> None:
    """A back-office page checked with its menu and filters unfolded: under 48em they fold
    behind « Menu » and « Filtres », in a look of their own."""
    await page.set_viewport_size({"width": 360, "height": 800})
    await open_menu(page)
    await _unfold(page)
    await _clean(page)


async def _open_from_the_list(page, gateway: str, login: str, menu: str, heading: str, link: str):
    """``login`` signs in, follows ``menu`` to the list titled ``heading`` and finds there the
    request's ``link`` (reloading: the request reaches the list through the broker); the list
    checked unfolded, the request opened."""
    await sign_in(page, gateway, login, PASSWORD)
    await follow_menu(page, menu)
    await page.get_by_role("heading", name=heading).wait_for()
    request = page.get_by_role("main").get_by_role("link", name=link, exact=True)

    async def listed():
        await page.reload()
        return await request.count() > 0

    await eventually(listed, interval=0.3)
    await _clean_unfolded(page)
    await request.click()


async def test_the_citizen_pages(stack, browser):
    context, page = await new_page(browser, width=1280)
    try:
        await page.goto(stack.gateway + "/")
        await _clean(page)
        await page.goto(stack.gateway + "/statistiques")
        await page.get_by_role("heading", level=1).wait_for()
        await _clean(page)

        await choose_nature_and_body(page, stack.gateway, "Réclamation", "budget", BUDGET_NAME)
        await submit_form(page)
        await page.get_by_role(
            "heading", name="Veuillez corriger les erreurs ci-dessous"
        ).wait_for()
        await _clean(page)
        await fill_form(page, email=CITIZEN)
        await submit_form(page)
        send = page.get_by_role("button", name="Envoyer ma requête")
        await send.wait_for()
        await _clean(page)
        await send.click()
        await page.locator("#code").wait_for()
        await _clean(page)
        code = (await page.locator("#code").inner_text()).replace(" ", "")

        await page.goto(stack.gateway + "/suivre")
        await page.get_by_label("Code Requête").fill(code)
        await page.get_by_label("Adresse e-mail ou numéro de mobile").fill(CITIZEN)
        await page.get_by_role("button", name="Valider").click()
        await page.locator("#status").wait_for()
        await _unfold(page)
        await _clean(page)
    finally:
        await context.close()


async def test_the_analysts_queue_and_a_request_with_its_decisions(stack, browser, database_url):
    code = (await request_in_queue(SimpleNamespace(stack=stack)))["code"]
    await create_account(database_url, Role.ANALYST, "awa.kone", PASSWORD, None, "Awa KONÉ")
    context, page = await new_page(browser, width=1280)
    try:
        await _open_from_the_list(
            page, stack.gateway, "awa.kone", "Traitements", "Requêtes à examiner", code
        )
        await page.get_by_role("heading", level=1, name=re.compile(code)).wait_for()
        await _unfold(page)
        await _clean(page)
    finally:
        await context.close()


async def test_the_focal_points_list_and_answer_form(stack, browser, database_url):
    code = await validated_reclamation(stack)
    await create_account(database_url, Role.FOCAL_POINT, "koffi.yao", PASSWORD, BODY, "Koffi YAO")
    context, page = await new_page(browser, width=1280)
    try:
        await _open_from_the_list(
            page,
            stack.gateway,
            "koffi.yao",
            "En cours",
            "Requêtes à traiter",
            f"Traiter la requête {code}",
        )
        await page.get_by_role("heading", name="Formulaire De Traitement De Requête").wait_for()
        await _unfold(page)
        await _clean(page)
    finally:
        await context.close()


async def test_the_administrators_accounts(stack, browser, database_url):
    await create_account(database_url, Role.ADMINISTRATOR, "admin.osep", PASSWORD, None, "Admin")
    context, page = await new_page(browser, width=1280)
    try:
        await sign_in(page, stack.gateway, "admin.osep", PASSWORD)
        await follow_menu(page, "Comptes")
        await page.get_by_role("heading", level=1, name=re.compile("comptes", re.I)).wait_for()
        await _clean_unfolded(page)
    finally:
        await context.close()
