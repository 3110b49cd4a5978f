"""A focal point's trial on a phone: Chromium at 360 px, JavaScript off, the keyboard only (Tab,
Enter). What it found, each held here: « Editer » brought the page back at its top with the
preview two screens below and no word of it; a refused form said « voyez le message sous le
champ concerné » without saying which field, a screen or more further down; « Quitter » and the
breadcrumb of a request answered again from « Insatisfaits » (or « Retraitement ») led to « En
cours », where the request is not."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.treatment import actions
from shared.identity import Role
from shared.messages import Opinion
from shared.service import POOL
from tests.browser import ARTIFACTS
from tests.staff.helpers import create_account
from tests.treatment.pages import BODY, validated_reclamation

PASSWORD = "koffi traite au téléphone"
# What the page's element with the focus says: its tag, its text or value, its label.
FOCUS = """() => { const el = document.activeElement;
  const label = el.labels && el.labels.length ? el.labels[0].innerText : '';
  return {tag: el.tagName, text: (el.innerText || '').trim(), label: label.trim()}; }"""


@pytest.fixture
async def phone(browser):
    context = await browser.new_context(
        locale="fr-FR", viewport={"width": 360, "height": 740}, java_script_enabled=False
    )
    page = await context.new_page()
    yield page
    await context.close()


async def tab_to(page, wanted, what: str, limit: int = 120) -> None:
    """Tab until the focus is on what ``wanted`` (focus → bool) says; fails naming ``what``."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        if wanted(await page.evaluate(FOCUS)):
            return
    raise AssertionError(f"{what}: not reached with Tab")


def button(text: str):
    return lambda f: f["tag"] == "BUTTON" and f["text"] == text


def field(label: str):
    return lambda f: f["label"].startswith(label)


def link(text: str):
    return lambda f: f["tag"] == "A" and f["text"].startswith(text)


async def enter(page) -> None:
    async with page.expect_navigation():
        await page.keyboard.press("Enter")


async def in_sight(page, selector: str) -> bool:
    """Whether the element is within the screen as the page shows it now."""
    box = await page.locator(selector).bounding_box()
    return box is not None and -1 <= box["y"] < 740  # scrolled to it: a fraction above 0


async def _citizen_not_satisfied(stack, code: str) -> None:
    pool = stack.apps["treatment"].app[POOL]
    async with pool.acquire() as conn, conn.transaction():
        request_id = await conn.fetchval("SELECT request_id FROM treatments WHERE code = $1", code)
        await actions.apply_opinion(
            conn, request_id, Opinion.NOT_SATISFIED, "Le guichet était fermé.", datetime.now(UTC)
        )


async def _signed_in(stack, database_url, page) -> str:
    """Koffi signed in by keyboard, on the page of a réclamation of his body: its code."""
    await create_account(database_url, Role.FOCAL_POINT, "koffi.yao", PASSWORD, BODY, "Koffi YAO")
    code = await validated_reclamation(stack)
    await page.goto(f"{stack.gateway}/admin/connexion")
    await tab_to(page, field("Login"), "Login")
    await page.keyboard.type("koffi.yao")
    await tab_to(page, field("Mot de passe"), "Mot de passe")
    await page.keyboard.type(PASSWORD)
    await enter(page)
    await page.goto(f"{stack.gateway}/admin/requetes/{code}")
    return code


async def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"treatment-phone-{name}.png"), full_page=True)


async def test_a_refused_form_names_its_field_and_leads_to_it(stack, database_url, phone):
    page = phone
    await _signed_in(stack, database_url, page)
    try:
        # « Mettre en attente » without its reason: the summary, in sight, names the field and
        # its link leads to it (a screen and more below).
        hold = lambda f: f["tag"] == "SUMMARY" and f["text"] == "Mettre en attente"  # noqa: E731
        await tab_to(page, hold, "« Mettre en attente » (folded)")
        await page.keyboard.press("Enter")
        await tab_to(page, button("Mettre en attente"), "« Mettre en attente »")
        await enter(page)
        assert await in_sight(page, "#erreurs")
        said = "Motif de la mise en attente : Écrivez le motif de la mise en attente."
        assert " ".join((await page.inner_text("#erreurs")).split()).endswith(said)
        await tab_to(page, link("Motif de la mise en attente"), "the summary's link")
        await page.keyboard.press("Enter")
        await page.wait_for_url("**#f-mettre-en-attente-reason")
        assert await in_sight(page, "#f-mettre-en-attente-reason")
    except BaseException:
        await _shot(page, "summary")
        raise


async def test_editer_brings_the_page_back_at_the_preview(stack, database_url, phone):
    page = phone
    await _signed_in(stack, database_url, page)
    try:
        await tab_to(page, field("Message de fin traitement"), "« Message de fin traitement »")
        await page.keyboard.type("Votre passeport est prêt au guichet 2.")
        await tab_to(page, button("Editer"), "« Editer »")
        await enter(page)
        assert await in_sight(page, "#apercu")
        assert "Votre passeport est prêt au guichet 2." in await page.inner_text("#apercu")
        await tab_to(page, button("Répondre avec envoi de mail"), "« Répondre avec envoi de mail »")
        await enter(page)
        assert "L'usager en est prévenu par email à" in await page.inner_text("#resultat")
    except BaseException:
        await _shot(page, "preview")
        raise


async def test_quitter_leads_back_to_insatisfaits(stack, database_url, phone):
    page = phone
    code = await _signed_in(stack, database_url, page)
    try:
        await tab_to(page, field("Message de fin traitement"), "« Message de fin traitement »")
        await page.keyboard.type("Votre passeport est prêt au guichet 2.")
        await tab_to(page, button("Répondre avec envoi de mail"), "« Répondre avec envoi de mail »")
        await enter(page)
        # Closed « Non satisfait »: « Répondre à l'usager », whose « Quitter » leads back to
        # « Insatisfaits », where the request is.
        await _citizen_not_satisfied(stack, code)
        await page.goto(f"{stack.gateway}/admin/requetes/{code}")
        assert await page.inner_text(".breadcrumb a") == "Traitements / Insatisfaits"
        await tab_to(page, field("Message à l'usager"), "« Message à l'usager »")
        await tab_to(page, link("Quitter"), "« Quitter »")
        await enter(page)
        assert page.url.endswith("/admin/traitements/insatisfaits")
        assert code in await page.inner_text("main")
    except BaseException:
        await _shot(page, "quitter")
        raise
