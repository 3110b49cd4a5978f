"""« Administration › Motifs » in a real Chromium at 360 px, axe-core clean (issue 12): the
administrator adds a reason from the menu (a field left out said beside it), then edits it."""

from __future__ import annotations

from playwright.async_api import expect

from shared.identity import Role
from tests.browser import ARTIFACTS
from tests.staff.helpers import create_account, follow_menu, sign_in
from tests.staff.test_browser_catalogue import _checked

PASSWORD = "les motifs de l'administrateur"


async def test_an_administrator_adds_then_edits_a_reason_at_360_px(stack, database_url, browser):
    gateway = stack.gateway
    await create_account(database_url, Role.ADMINISTRATOR, "admin.motifs", PASSWORD)
    context = await browser.new_context(locale="fr-FR", viewport={"width": 360, "height": 740})
    page = await context.new_page()
    try:
        await sign_in(page, gateway, "admin.motifs", PASSWORD)
        await follow_menu(page, "Motifs")
        await page.get_by_role("heading", name="Motifs de rejet et de reformulation").wait_for()
        await _checked(page, "the reasons")

        # The text left out: said beside it, the rest kept.
        await page.get_by_role("radio", name="Renvoyer pour reformulation").check()
        await page.get_by_label("Intitulé").fill("Pièce illisible")
        await page.get_by_role("button", name="Ajouter le motif").click()
        await expect(page.locator("#err-text")).to_have_text("Ce champ est obligatoire.")
        await expect(page.get_by_label("Intitulé")).to_have_value("Pièce illisible")
        await _checked(page, "the reasons' form refused")
        await page.get_by_label("Texte envoyé à l'usager").fill(
            "La pièce jointe est illisible : joignez-la de nouveau, nette et entière."
        )
        await page.get_by_role("button", name="Ajouter le motif").click()
        await expect(page.get_by_role("status")).to_contain_text("Le motif est ajouté")
        section = page.get_by_role("region", name="Motifs de reformulation")
        await expect(section.get_by_text("Pièce illisible", exact=True)).to_be_visible()

        # Withdrawn: marked so in the list.
        await section.get_by_role("link", name="Modifier le motif « Pièce illisible »").click()
        await _checked(page, "a reason's form")
        await page.get_by_role("radio", name="Retiré").check()
        await page.get_by_role("button", name="Enregistrer").click()
        await expect(page.get_by_role("status")).to_contain_text("modifications sont enregistrées")
        await expect(page.locator("li", has_text="Pièce illisible")).to_contain_text("retiré")
    except BaseException:
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "motifs-360.png"), full_page=True)
        raise
    finally:
        await context.close()
