"""Issue 12, the citizen's words, at 360 px in a real Chromium (the pages use no script): the
confirmation step (« Êtes-vous sûr … », « Modifier », « Envoyer ma requête »), the error summary
in the form's order and focused as the page opens, a code with one wrong digit, a wrong email
pointing to « Code requête oublié ? », the terms in one sentence with a 44 px target and a link
to their full text, the header on two lines marking the current page, the call centre's number
in the footer; axe-core clean on each page."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from shared.codes import new_code
from tests.browser import axe_violations
from tests.front.pages import (
    BUDGET_NAME,
    choose_nature_and_body,
    fill_form,
    new_page,
    submit_form,
)
from tests.stack import start_stack

CALL_CENTRE = "27 20 21 22 23"  # a test value: the deployment gives the real number


@pytest.fixture
async def helped_stack(settings_for, smtp_server):
    """The whole platform, its gateway configured with a call centre's number."""
    exits = await start_stack(settings_for, smtp_server.port, call_centre_phone=CALL_CENTRE)
    async with exits:
        yield exits.stack


async def _rows(page, selector: str) -> set[int]:
    """The distinct lines (rounded tops) the visible boxes of ``selector`` sit on."""
    tops = await page.locator(selector).evaluate_all(
        """els => els.map(e => e.getBoundingClientRect())
                     .filter(r => r.width > 0 && r.left < window.innerWidth)
                     .map(r => Math.round(r.top))"""
    )
    return set(tops)


async def test_header_menu_in_sight_current_page_and_call_centre(helped_stack, browser):
    context, page = await new_page(browser, width=360)
    try:
        await page.goto(helped_stack.gateway + "/suivre")
        nav = page.get_by_role("navigation", name="Menu principal")
        current = nav.locator("[aria-current=page]")
        await expect(current).to_have_count(1)
        await expect(current).to_have_text("Suivre une requête")
        # The portal's name with the state's identity, then the menu below, wrapping: at 360 px
        # on three lines at most, every link in sight (one line scrolled sideways and hid the
        # last links: tests/front/test_phone_360.py).
        brand = page.locator("header .brand")
        await expect(brand).to_contain_text("République de Côte d'Ivoire")
        await expect(brand).to_contain_text("Portail du citoyen")
        menu_lines = len(await _rows(page, "header nav a"))
        assert 1 <= menu_lines <= 3
        brand_box = await brand.bounding_box()
        nav_box = await page.locator("header nav ul").bounding_box()
        assert nav_box["y"] >= brand_box["y"] + brand_box["height"] - 1  # below, not beside
        line = await page.evaluate(
            "parseFloat(getComputedStyle(document.querySelector('header nav a')).lineHeight)"
        )
        header_box = await page.locator("header").bounding_box()
        # Padding (2 × 12 px) + the name's line + the menu's lines, nothing more.
        assert header_box["height"] <= 24 + brand_box["height"] + 8 + menu_lines * (12 + line)
        assert brand_box["height"] < 2 * line + 8
        # The page itself does not scroll sideways.
        assert await page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )
        # The call centre's number where a citizen looks for help, as a tel: link.
        phone = page.locator("footer").get_by_role("link", name=CALL_CENTRE)
        assert await phone.get_attribute("href") == "tel:+2252720212223"
        assert await axe_violations(page) == []

        await page.goto(helped_stack.gateway + "/organismes")
        await expect(nav.locator("[aria-current=page]")).to_have_text("Organismes")
        await page.goto(helped_stack.gateway + "/")
        await expect(nav.locator("[aria-current=page]")).to_have_text("Accueil")
        assert await axe_violations(page) == []
    finally:
        await context.close()


async def test_tracking_form_check_digit_and_wrong_email(helped_stack, browser):
    context, page = await new_page(browser, width=360)
    try:
        await page.goto(helped_stack.gateway + "/suivre")
        code = new_code()
        mistyped = code[:4] + str((int(code[4]) + 1) % 10) + code[5:]
        await page.get_by_label("Code Requête").fill(mistyped)
        await page.get_by_label("Adresse e-mail ou numéro de mobile").fill("aya@example.ci")
        await page.get_by_role("button", name="Valider").click()
        error = page.locator("#err-code")
        await expect(error).to_contain_text("Un chiffre de ce code semble erroné")
        assert "10 chiffres" not in await error.inner_text()
        await expect(page.locator("#erreurs")).to_be_focused()
        assert await axe_violations(page) == []

        # Too short: that is said too, differently.
        await page.get_by_label("Code Requête").fill(code[:7])
        await page.get_by_role("button", name="Valider").click()
        await expect(page.locator("#err-code")).to_contain_text("un code compte 10 chiffres")

        # A well-formed code with an email that is not the request's: « Code requête oublié ? ».
        await page.get_by_label("Code Requête").fill(code)
        await page.get_by_label("Adresse e-mail ou numéro de mobile").fill("autre@example.ci")
        await page.get_by_role("button", name="Valider").click()
        result = page.locator("#resultat")
        await expect(result).to_contain_text("Aucune requête ne correspond")
        await expect(result).to_be_focused()
        link = result.get_by_role("link", name="Code requête oublié ?")
        assert await link.get_attribute("href") == "/suivre/code-oublie"
        await expect(page.get_by_role("link", name="Code requête oublié ?")).to_have_count(1)
        assert await axe_violations(page) == []
        await link.click()
        await page.get_by_role("heading", name="Code requête oublié ?").wait_for()
    finally:
        await context.close()


async def test_form_summary_terms_and_confirmation_words(helped_stack, browser):
    context, page = await new_page(browser, width=360)
    try:
        await choose_nature_and_body(
            page, helped_stack.gateway, "Réclamation", "budget", BUDGET_NAME
        )
        # The terms: one sentence, a link to the full text, a target of 44 px at least.
        terms = page.locator("label[for=f-terms_accepted]")
        text = (await terms.inner_text()).strip()
        assert text.count(".") == 1 and text.endswith("."), text
        box = await terms.bounding_box()
        assert box["height"] >= 44 and box["width"] >= 44, box
        full = page.get_by_role("link", name="Lire les conditions d'utilisation (nouvel onglet)")
        assert await full.get_attribute("href") == "/conditions-utilisation"

        # Faults in several fields: the summary lists them in the form's order, and has the focus.
        await page.get_by_label("Nom", exact=True).fill("KONÉ")
        await submit_form(page)
        summary = page.locator("#erreurs")
        await expect(summary).to_be_focused()
        targets = await summary.locator("a").evaluate_all("as => as.map(a => a.hash)")
        assert targets == ["#f-message", "#f-phone", "#f-email", "#f-terms_accepted"], targets
        assert await axe_violations(page) == []

        # The confirmation step's words.
        await fill_form(page, email="aya.mots@example.ci", last_name="KONÉ")
        await submit_form(page)
        await page.get_by_role(
            "heading", name="Êtes-vous sûr de vouloir soumettre ces informations ?"
        ).wait_for()
        await expect(page.get_by_role("button", name="OK", exact=True)).to_have_count(0)
        await expect(page.get_by_role("button", name="Annuler")).to_have_count(0)
        assert await axe_violations(page) == []
        await page.get_by_role("button", name="Modifier").click()
        await page.get_by_role("heading", name="Exprimez votre préoccupation").wait_for()
        assert await page.get_by_label("Email").input_value() == "aya.mots@example.ci"
        await submit_form(page)
        await page.get_by_role("button", name="Envoyer ma requête").click()
        await page.get_by_text("a bien été enregistrée").wait_for()

        # The full text of the terms.
        await page.goto(helped_stack.gateway + "/conditions-utilisation")
        await page.get_by_role("heading", name="Conditions d'utilisation").wait_for()
        await expect(page.get_by_role("main")).to_contain_text("aucune décision judiciaire")
        assert await axe_violations(page) == []
    finally:
        await context.close()
