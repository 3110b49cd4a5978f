"""Issue 12, choosing the body: every body on one page, by subject (« Affaires étrangères »,
« Agriculture », « Budget »… — what the citizen looks for, not « Ministère de … », which every
name starts with), with its acronym, its hours and its telephones as tel: links in today's ten
digits; at 360 px in a real Chromium, axe-core clean."""

from __future__ import annotations

import re

from playwright.async_api import expect

from gateway.web.phones import ivorian
from tests.browser import axe_violations
from tests.front.pages import new_page, no_horizontal_scroll

BY_SUBJECT = [
    "Ministère des affaires étrangères",
    "Ministère de l'Agriculture et du Développement Rural",
    "Ministère du budget et du Portefeuille de l'Etat",
    "Ministère d'Etat, Ministère de la Défense",
    "Ministère des Eaux et Forêts",
    "Ministère de l'Education Nationale",
    "Ministère de l'Enseignement Supérieur et de la Recherche Scientifique",
    "Ministère de l'Intégration Africaine et des Ivoiriens à l'Extérieur",
    "Ministère de l'Intérieur et de la Sécurité",
    "Garde des Sceaux, Ministère de la Justice et des Droits de l'Homme",
    "Ministère de la Modernisation et de l'Innovation du Service Public",
]
TEN_DIGITS = re.compile(r"^\+225 \d\d \d\d \d\d \d\d \d\d$")


def test_telephones_in_todays_ten_digits():
    assert ivorian("+225 07 07 12 34 56") == ("+225 07 07 12 34 56", "tel:+2250707123456")
    assert ivorian("0707123456") == ("+225 07 07 12 34 56", "tel:+2250707123456")
    # Written the way before 2021: a fixed line takes 27, a mobile its operator's prefix.
    assert ivorian("20 21 11 00") == ("+225 27 20 21 11 00", "tel:+2252720211100")
    assert ivorian("47123456") == ("+225 07 47 12 34 56", "tel:+2250747123456")
    assert ivorian("02 12 34 56") == ("+225 01 02 12 34 56", "tel:+2250102123456")
    assert ivorian("+33 1 23 45 67 89") == ("+33 1 23 45 67 89", "tel:+33123456789")


async def _check_bodies(page, names_of) -> None:
    items = page.locator("ul.bodies > li")
    await expect(items).to_have_count(len(BY_SUBJECT))
    assert [await names_of(items.nth(i)) for i in range(len(BY_SUBJECT))] == BY_SUBJECT
    for i in range(len(BY_SUBJECT)):
        item = items.nth(i)
        text = await item.inner_text()
        assert "Horaires : Du lundi au vendredi" in text
        assert re.search(r"\([A-Z]{2,8}\)", text), text  # the acronym
        tels = item.locator("a[href^='tel:']")
        if BY_SUBJECT[i].startswith("Ministère de la Modernisation"):
            assert "Téléphone : non renseigné" in text  # the catalogue has none for it
            continue
        assert await tels.count() >= 1
        for j in range(await tels.count()):
            shown = await tels.nth(j).inner_text()
            assert TEN_DIGITS.match(shown), shown
            href = await tels.nth(j).get_attribute("href")
            assert href == "tel:" + shown.replace(" ", "")
    assert await no_horizontal_scroll(page)
    assert await axe_violations(page) == []


async def test_every_body_on_one_page_with_its_contacts(front, browser):
    context, page = await new_page(browser, width=360)
    try:
        await page.goto(front + "/organismes")
        await expect(page.get_by_role("link", name="Page suivante")).to_have_count(0)

        async def heading(item) -> str:
            return re.sub(r" \([A-Z]+\)$", "", await item.locator("h2").inner_text())

        await _check_bodies(page, heading)
        # A page past the last (an old link): the bodies still, not « Aucun organisme ».
        await page.goto(front + "/organismes?page=99")
        await _check_bodies(page, heading)
        assert "Aucun organisme ne correspond" not in await page.content()
        budget = page.locator("ul.bodies > li").nth(2)
        await expect(budget.locator("h2")).to_have_text(
            "Ministère du budget et du Portefeuille de l'Etat (MBPE)"
        )
        # The number citizens knew before 2021 still finds the body.
        await page.get_by_label("Rechercher un organisme").fill("20320888")
        await page.get_by_role("button", name="Rechercher").click()
        await expect(page.locator("ul.bodies > li h2")).to_have_text(
            "Ministère des affaires étrangères (MAE)"
        )

        # « Choix de l'organisme public »: the same list, each body a link to its form.
        await page.goto(front + "/soumettre/organisme?nature=reclamation")

        async def link(item) -> str:
            return await item.locator("> a").inner_text()

        await _check_bodies(page, link)
        last = page.locator("ul.bodies > li").last.locator("> a")
        await last.click()
        await page.get_by_role("heading", name="Exprimez votre préoccupation").wait_for()
        assert "organisme=ministere-modernisation" in page.url
    finally:
        await context.close()
