"""The searches of the administrator's paged lists in a real Chromium at 360 px, by keyboard:
the words typed in the field and « Entrée » find the rows, the pager keeps them, and an action on
the second page of a search comes back to it. axe-core finds nothing, and no page is wider than
the phone's screen."""

from __future__ import annotations

import re

from playwright.async_api import expect

from shared.identity import Role
from tests.browser import axe_violations
from tests.staff.helpers import create_account, sign_in
from tests.staff.test_admin_leftovers import thirty_themes_and_deadline_values

PASSWORD = "les recherches de l'administratrice"


async def _checked(page, where: str) -> None:
    assert await axe_violations(page) == [], where
    fits = await page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")
    assert fits, f"{where} is wider than 360 px"


async def _search(page, label: str, words: str) -> None:
    """Type ``words`` in the field named ``label`` and send them with the keyboard."""
    field = page.get_by_label(label)
    await field.focus()
    await page.keyboard.type(words)
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(re.compile(r"[?&]q="))


async def test_an_administrator_searches_the_themes_and_the_deadline_values_by_keyboard(
    stack, database_url, browser
):
    await thirty_themes_and_deadline_values(database_url)
    await create_account(database_url, Role.ADMINISTRATOR, "admin.recherche", PASSWORD)
    context = await browser.new_context(locale="fr-FR", viewport={"width": 360, "height": 740})
    page = await context.new_page()
    try:
        await sign_in(page, stack.gateway, "admin.recherche", PASSWORD)

        await page.goto(stack.gateway + "/admin/catalogue/themes")
        await page.get_by_role("heading", name="Catalogue : thèmes").wait_for()
        await _search(page, "Rechercher (thème, sous-thème)", "thème d'essai")
        summary = page.locator(".list-summary")
        await expect(summary).to_have_text("Affichage 1 à 25 sur 30 lignes")
        await _checked(page, "the themes found")
        await page.get_by_role("link", name="Page suivante").focus()
        await page.keyboard.press("Enter")
        await expect(summary).to_have_text("Affichage 26 à 30 sur 30 lignes")
        await expect(page.get_by_label("Rechercher (thème, sous-thème)")).to_have_value(
            "thème d'essai"
        )
        await page.get_by_role("button", name="Retirer THÈME D'ESSAI 27").focus()
        await page.keyboard.press("Enter")
        await page.get_by_role("status").filter(has_text="Retiré").wait_for()
        await expect(summary).to_have_text("Affichage 26 à 30 sur 30 lignes")
        await expect(page.get_by_label("Rechercher (thème, sous-thème)")).to_have_value(
            "thème d'essai"
        )

        await page.goto(stack.gateway + "/admin/delais")
        await page.get_by_role("heading", name="Délais", exact=True).wait_for()
        await _search(page, "Rechercher (organisme, nature, délai)", "essai réclamation")
        await expect(summary).to_have_text("Affichage 1 à 25 sur 30 lignes")  # not the budget
        await _checked(page, "the deadline values found")
        await page.get_by_role("link", name="Page suivante").focus()
        await page.keyboard.press("Enter")
        await expect(summary).to_have_text("Affichage 26 à 30 sur 30 lignes")
        remove = page.get_by_role("button", name="Retirer la valeur : essai-organisme-27")
        await remove.focus()
        await page.keyboard.press("Enter")
        await page.locator("#fait").wait_for()
        await expect(summary).to_have_text("Affichage 26 à 29 sur 29 lignes")
        await expect(page.get_by_label("Rechercher (organisme, nature, délai)")).to_have_value(
            "essai réclamation"
        )
        await _checked(page, "the deadline values after a removal")
    finally:
        await context.close()
