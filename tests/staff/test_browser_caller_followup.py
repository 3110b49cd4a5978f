"""« Suivi d'un appel » in a real Chromium at 360 px, by keyboard, axe-core clean: the operator
opens it from the menu, types a wrong mobile number (refused, what was typed kept), then the
right one, reads the body's answer and records the caller's « Partiellement satisfait »."""

from __future__ import annotations

from playwright.async_api import expect

from shared.identity import Role
from tests.browser import ARTIFACTS
from tests.staff.helpers import create_account, follow_menu, sign_in
from tests.staff.test_browser_searches import _checked
from tests.staff.test_caller_followup import EMAIL, MOBILE, NOT_FOUND, PASSWORD
from tests.track.test_answer_page import _answered


async def _type(page, label: str, words: str) -> None:
    field = page.get_by_label(label)
    await field.focus()
    await expect(field).to_be_focused()
    await field.press("ControlOrMeta+a")
    await page.keyboard.type(words)
    await expect(field).to_have_value(words)


async def test_an_operator_follows_a_call_by_keyboard_at_360_px(
    stack, database_url, browser, amqp_url, namespace
):
    code, _ = await _answered(stack, amqp_url, namespace, EMAIL)
    await create_account(database_url, Role.OPERATOR, "centre.clavier", PASSWORD)
    context = await browser.new_context(locale="fr-FR", viewport={"width": 360, "height": 740})
    page = await context.new_page()
    try:
        await sign_in(page, stack.gateway, "centre.clavier", PASSWORD)
        await follow_menu(page, "Suivi d'un appel")
        await page.get_by_role("heading", name="Suivi d'un appel").wait_for()
        await _checked(page, "the look-up form")

        # A wrong number: the citizen page's refusal, what was typed kept.
        await _type(page, "Code Requête", code)
        await _type(page, "Numéro de mobile ou adresse e-mail de l'appelant", "07 07 99 99 99")
        await page.keyboard.press("Enter")
        await expect(page.locator("#resultat")).to_contain_text(NOT_FOUND)
        await expect(page.get_by_label("Code Requête")).to_have_value(code)
        await _checked(page, "the refused look-up")

        # The right one: where it stands, the answer to read out.
        await _type(page, "Numéro de mobile ou adresse e-mail de l'appelant", MOBILE)
        await page.keyboard.press("Enter")
        await expect(page.locator("#status")).to_contain_text("Traité le ")
        await expect(page.locator("#answer-message")).to_contain_text("Le reçu est joint.")
        await _checked(page, "the request's page")
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=ARTIFACTS / "suivi-appel-requete-360.png", full_page=True)

        # The caller's opinion, by keyboard: the radio, the comment, the button.
        radio = page.get_by_role("radio", name="Partiellement satisfait")
        await radio.focus()
        await page.keyboard.press("Space")
        await expect(radio).to_be_checked()
        await _type(page, "Commentaire (facultatif)", "Le montant est juste, le délai non.")
        button = page.get_by_role("button", name="Enregistrer l'avis")
        await button.focus()
        await page.keyboard.press("Enter")
        await page.get_by_role("heading", name="Avis enregistré").wait_for()
        await expect(page.locator("#told")).to_contain_text("Votre avis a été enregistré.")
        await _checked(page, "the confirmation")
    except BaseException:
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "suivi-appel-360-echec.png"), full_page=True)
        raise
    finally:
        await context.close()
