"""« Administration › Clés d'API » in a real Chromium at 360 px, axe-core clean: an
administrator makes a key from the menu (a field left out said beside it), reads it once,
revokes it; the API's page for the systems' developers is axe-clean too."""

from __future__ import annotations

import re

from playwright.async_api import expect

from shared.identity import Role
from tests.browser import ARTIFACTS
from tests.staff.helpers import create_account, follow_menu, sign_in
from tests.staff.test_browser_catalogue import _checked

PASSWORD = "les clés de l'administrateur"


async def test_an_administrator_makes_reads_once_and_revokes_a_key_at_360_px(
    stack, database_url, browser
):
    gateway = stack.gateway
    await create_account(database_url, Role.ADMINISTRATOR, "admin.cles", PASSWORD)
    context = await browser.new_context(locale="fr-FR", viewport={"width": 360, "height": 740})
    page = await context.new_page()
    try:
        await sign_in(page, gateway, "admin.cles", PASSWORD)
        await follow_menu(page, "Clés d'API")
        await page.get_by_role("heading", name="Clés d'API", exact=True).wait_for()
        await _checked(page, "the keys")

        # The label left out: said beside it, the body kept.
        await page.get_by_label("Organisme").select_option(value="ministere-budget")
        await page.get_by_role("button", name="Créer la clé").click()
        await expect(page.locator("#err-label")).to_have_text("Ce champ est obligatoire.")
        await _checked(page, "the key's form refused")
        await page.get_by_label("Libellé").fill("SIGFIP du ministère du Budget")
        await page.get_by_role("button", name="Créer la clé").click()
        shown = page.get_by_label("Clé d'API", exact=True)
        await expect(shown).to_have_value(re.compile(r"^milie_[0-9a-f]{12}_\S{43}$"))
        await _checked(page, "the key shown once")
        key = await shown.input_value()

        # A reload makes no second key and no longer shows this one.
        await page.reload()
        notice = page.locator("p.notice[role=status]")  # the list's « Affichage … » is one too
        await expect(notice).to_contain_text("La clé n'est montrée qu'une fois")
        await expect(page.get_by_label("Clé d'API", exact=True)).to_have_count(0)
        await expect(page.get_by_role("row", name=re.compile("SIGFIP"))).to_have_count(1)

        # Shown once: the list afterwards names it, never the secret.
        await page.goto(f"{gateway}/admin/cles-api")
        row = page.get_by_role("row", name=re.compile("SIGFIP du ministère du Budget"))
        await expect(row).to_contain_text("Active")
        assert key.split("_", 2)[2] not in await page.content()
        # Revoking asks first; only « Oui, révoquer la clé » revokes.
        await row.get_by_role("button", name=re.compile("Révoquer")).click()
        await page.get_by_role("button", name="Oui, révoquer la clé").click()
        await expect(page.locator("p.notice[role=status]")).to_contain_text("La clé est révoquée")
        row = page.get_by_role("row", name=re.compile("SIGFIP du ministère du Budget"))
        await expect(row).to_contain_text("Révoquée le")

        await page.goto(f"{gateway}/api/ministeres/v1/")
        await page.get_by_role("heading", name="Miliê — API des ministères").wait_for()
        # Its examples and tables at 360 px: the page itself never scrolls sideways.
        await _checked(page, "the API's page")
    except BaseException:
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "cles-api-360.png"), full_page=True)
        raise
    finally:
        await context.close()
