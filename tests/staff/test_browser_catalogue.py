"""The catalogue screen in a real Chromium at 360 px: an administrator adds a body, with a theme
and its sub-theme, from « Administration › Catalogue »; then a citizen finds that body in the
submission form's list of bodies, and its theme (and « Autre ») in the form. axe-core finds
nothing on any of the catalogue's pages, and none is wider than the phone's screen."""

from __future__ import annotations

from playwright.async_api import expect

from shared.identity import Role
from tests.browser import ARTIFACTS, axe_violations
from tests.staff.helpers import create_account, follow_menu, sign_in

PASSWORD = "le catalogue de l'administrateur"
NAME = "Ministère de la Santé et de l'Hygiène Publique"
PHONE = "27 20 21 08 71"


async def _fits(page) -> bool:
    return await page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")


async def _checked(page, where: str) -> None:
    assert await axe_violations(page) == [], where
    assert await _fits(page), f"{where} is wider than 360 px"


async def test_an_administrator_adds_a_body_with_a_theme_that_citizens_then_find(
    stack, database_url, browser
):
    gateway = stack.gateway
    await create_account(database_url, Role.ADMINISTRATOR, "admin.catalogue", PASSWORD)
    context = await browser.new_context(locale="fr-FR", viewport={"width": 360, "height": 740})
    page = await context.new_page()
    try:
        await sign_in(page, gateway, "admin.catalogue", PASSWORD)
        await follow_menu(page, "Catalogue")
        await page.get_by_role("heading", name="Catalogue : organismes publics").wait_for()
        await _checked(page, "the list of bodies")

        # The form: a name left out is refused beside the field, what was typed kept.
        await page.get_by_role("link", name="Ajouter un organisme").click()
        await page.get_by_role("heading", name="Ajouter un organisme").wait_for()
        await _checked(page, "the new body's form")
        await page.get_by_label("Sigle").fill("MSHP")
        await page.get_by_label("Téléphones").fill(PHONE)
        await page.get_by_label("Adresse électronique").fill("contact@sante.gouv.ci")
        await page.get_by_label("Adresse", exact=True).fill("Plateau, Cité administrative, Tour C")
        await page.get_by_label("Horaires d'accueil").fill("Du lundi au vendredi, 7 h 30 – 16 h 30")
        await page.get_by_role("button", name="Ajouter l'organisme").click()
        await expect(page.locator("#err-name")).to_be_visible()
        await expect(page.get_by_label("Sigle")).to_have_value("MSHP")
        await _checked(page, "the new body's form with an error")
        await page.locator("#f-name").fill(NAME)
        await page.get_by_role("button", name="Ajouter l'organisme").click()
        await page.get_by_text("L'organisme est ajouté au catalogue.").wait_for()
        await page.get_by_role("heading", name=NAME).wait_for()
        await expect(page.get_by_role("link", name=PHONE)).to_have_attribute(
            "href", "tel:+2252720210871"
        )
        await _checked(page, "the body's page")

        # A theme for this body, with a sub-theme.
        await page.locator("#f-label").fill("SOINS")
        await page.get_by_label("Sous-thèmes").fill("Attente aux urgences")
        await page.get_by_role("button", name="Ajouter le thème").click()
        await page.get_by_text("Le thème est ajouté et proposé pour cet organisme.").wait_for()
        await expect(page.get_by_label("SOINS")).to_be_checked()
        await _checked(page, "the body's page with its theme")

        await (
            page.get_by_role("navigation", name="Catalogue")
            .get_by_role("link", name="Thèmes")
            .click()
        )
        await page.get_by_role("heading", name="Catalogue : thèmes").wait_for()
        await _checked(page, "the themes")
        await (
            page.get_by_role("navigation", name="Catalogue")
            .get_by_role("link", name="Lieux")
            .click()
        )
        await page.get_by_role("heading", name="Catalogue : lieux").wait_for()
        await _checked(page, "the places")
        await page.get_by_role("link", name="Ajouter un lieu").click()
        await page.get_by_role("heading", name="Ajouter un lieu").wait_for()
        await _checked(page, "the new place's form")

        # The citizen: « Soumettre une requête » → the nature → the body → the form.
        citizen = await browser.new_page(locale="fr-FR", viewport={"width": 360, "height": 740})
        try:
            await citizen.goto(gateway + "/soumettre")
            await citizen.get_by_role("link", name="Réclamation").first.click()
            await citizen.get_by_role("heading", name="Choix de l'organisme public").wait_for()
            await citizen.get_by_label("Rechercher un organisme").fill("sante hygiene")
            await citizen.get_by_role("button", name="Rechercher").click()
            await citizen.get_by_role("link", name=NAME, exact=True).click()
            await citizen.get_by_role("heading", name="Exprimez votre préoccupation").wait_for()
            themes = citizen.locator("#f-theme_id")
            # What it offered before (every theme: ACCUEIL's), its own theme, « Autre » last.
            groups = await themes.locator("optgroup").evaluate_all("gs => gs.map(g => g.label)")
            assert groups == ["ACCUEIL", "SOINS"], groups
            soins = await themes.locator('optgroup[label="SOINS"] option').all_inner_texts()
            assert soins == ["Attente aux urgences"]
            options = await themes.locator("option").all_inner_texts()
            assert options[-1] == "Autre", options
            await themes.select_option(label="Attente aux urgences")
        finally:
            await citizen.close()
    except BaseException:
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "catalogue-browser.png"), full_page=True)
        raise
    finally:
        await context.close()
