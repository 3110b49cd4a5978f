"""« Suivi d'un appel » in a real Chromium at 360 px, by keyboard, axe-core clean: the operator
opens it from the menu, types a wrong mobile number (refused, what was typed kept), then the
right one, reads the body's answer and records the caller's « Partiellement satisfait »."""

from __future__ import annotations

import re

from playwright.async_api import expect

from shared import lifecycle
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

        # No opinion chosen: refused in the operator's words about the caller.
        button = page.get_by_role("button", name="Enregistrer l'avis")
        await button.focus()
        await page.keyboard.press("Enter")
        await expect(page.locator("#erreurs")).to_contain_text(
            "Choisissez l'avis de l'appelant : Satisfait, Partiellement satisfait ou Non satisfait."
        )
        await expect(page.locator("#erreurs")).not_to_contain_text("votre avis")

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


async def test_the_operators_page_speaks_of_the_caller_and_says_a_relance_once(
    stack, database_url, browser, amqp_url, namespace
):
    """The trial's operator read, at 360 px, « L'organisme a répondu à votre requête. Donnez
    votre avis… » and « Vous avez soumis la requête », as if the page spoke to him; after
    « Relancer », « Votre requête a été relancée : … » then « Votre relance est enregistrée :
    … », one fact twice. The page speaks of the caller (« l'appelant »), what to read him is a
    script, and each fact is said once; the citizen's own page keeps « vous »."""
    code, _ = await _answered(stack, amqp_url, namespace, EMAIL)
    await create_account(database_url, Role.OPERATOR, "centre.appelant", PASSWORD)
    context = await browser.new_context(locale="fr-FR", viewport={"width": 360, "height": 740})
    page = await context.new_page()
    try:
        await sign_in(page, stack.gateway, "centre.appelant", PASSWORD)
        await page.goto(stack.gateway + "/admin/appel/suivi")
        await page.get_by_label("Code Requête").fill(code)
        await page.get_by_label("Numéro de mobile ou adresse e-mail de l'appelant").fill(MOBILE)
        await page.get_by_role("button", name="Rechercher la requête").click()
        await expect(page.locator("#status")).to_contain_text("Traité le ")
        await expect(page.locator("#banner-state")).to_have_text(
            lifecycle.CALLER_BANNERS[lifecycle.Status.TREATED]
        )
        history = page.locator("ol.history")
        await expect(history).to_contain_text(
            "L'appelant a soumis la requête ; elle attend l'examen de l'analyste."
        )
        await expect(history).to_contain_text("lisez son message de traitement à l'appelant")
        # Where it stands and its history (the body's own words aside) speak of the caller.
        said = await page.locator("#ou-en-est").inner_text() + await history.inner_text()
        said = said.replace("Votre remboursement a été viré le 3 février.", "")
        assert not re.search(r"\b(vous|votre|vos)\b", said, re.IGNORECASE), said
        await _checked(page, "the request's page, about the caller")

        await page.get_by_label("Message de relance de l'appelant").fill(
            "Le reçu porte un autre montant."
        )
        await page.get_by_role("button", name="Relancer").click()
        await page.get_by_role("heading", name="Relance enregistrée").wait_for()
        notice = await page.locator("#notice").inner_text()
        # The script read to the caller, once; not a second sentence of the same fact.
        assert len(re.findall(r"relanc", notice, re.IGNORECASE)) == 2, notice  # title, script
        await expect(page.locator("#told")).to_contain_text("Votre requête a été relancée")
        await _checked(page, "the confirmation of a relance")
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=ARTIFACTS / "suivi-appel-relance-360.png", full_page=True)
    except BaseException:
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(
            path=str(ARTIFACTS / "suivi-appel-appelant-echec.png"), full_page=True
        )
        raise
    finally:
        await context.close()

    # The citizen's own page is as it was: it speaks to them.
    citizen = await browser.new_page()
    try:
        await citizen.goto(stack.gateway + "/suivre")
        await citizen.get_by_label("Code Requête").fill(code)
        await citizen.get_by_label("Adresse e-mail ou numéro de mobile").fill(EMAIL)
        await citizen.get_by_role("button", name="Valider").click()
        await expect(citizen.locator("ol.history")).to_contain_text(
            "Vous avez soumis la requête ; elle attend l'examen de l'analyste."
        )
        # The relance recorded, or already applied by treatment: in the citizen's words.
        assert await citizen.locator("#banner-state").inner_text() in (
            lifecycle.CITIZEN_REPLY_BANNERS["reopening"],
            lifecycle.CITIZEN_BANNERS[lifecycle.Status.REOPENED],
        )
    finally:
        await citizen.close()
