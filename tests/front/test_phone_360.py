"""The citizen's side on a cheap phone: 360 px wide, the keyboard alone, French.

Each test shows a defect a citizen met: the header's menu scrolling sideways, a field echoing back
whatever was typed, however long."""

from __future__ import annotations

import uuid

from playwright.async_api import expect

from tests.browser import ARTIFACTS
from tests.front.pages import new_page

# Every citizen page a citizen reaches without a request of their own (the tracking page has its
# own test below), and two error pages.
CITIZEN_PAGES = {
    "accueil": "/",
    "a-propos": "/a-propos",
    "informations": "/informations",
    "guide": "/guide",
    "conditions": "/conditions-utilisation",
    "nature": "/soumettre",
    "organisme": "/soumettre/organisme?nature=reclamation",
    "formulaire": "/soumettre/formulaire?nature=reclamation&organisme=ministere-budget",
    "saisie-expiree": f"/soumettre/confirmer?brouillon={uuid.uuid4()}",
    "organismes": "/organismes",
    "statistiques": "/statistiques",
    "suivre": "/suivre",
    "code-oublie": "/suivre/code-oublie",
    "introuvable": "/cette-page-n-existe-pas",
}
FITS = "document.scrollingElement.scrollWidth <= window.innerWidth"


async def test_at_360_px_no_citizen_page_scrolls_sideways_and_the_whole_menu_is_in_sight(
    front, browser
):
    """The menu once stayed on one line that scrolled sideways: « Informations » and « Le guide »
    were off the screen, reachable only by a sideways swipe nobody guesses. Now every link of
    the menu is within the 360 px, without JavaScript."""
    context, page = await new_page(browser, javascript=False)
    try:
        for name, path in CITIZEN_PAGES.items():
            await page.goto(front + path)
            assert await page.evaluate(FITS), f"{name} scrolls sideways at 360 px"
            menu = page.get_by_role("navigation", name="Menu principal")
            scrolls = await menu.locator("ul").evaluate("u => u.scrollWidth > u.clientWidth")
            assert not scrolls, f"{name}: the menu scrolls sideways"
            for link in await menu.get_by_role("link").all():
                box = await link.bounding_box()
                assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360, (
                    f"{name}: « {await link.inner_text()} » is off the screen: {box}"
                )
    except BaseException:
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "citizen-menu-360.png"), full_page=True)
        raise
    finally:
        await context.close()


async def test_the_keyboard_reaches_every_link_of_the_menu_in_order_at_360_px(front, browser):
    """Tab from the top: « Aller au contenu », the portal's name, then the menu's links in the
    order they are read, each visible on screen when it has the focus."""
    context, page = await new_page(browser, javascript=False)
    try:
        await page.goto(front + "/suivre")
        menu = page.get_by_role("navigation", name="Menu principal")
        labels = [await link.inner_text() for link in await menu.get_by_role("link").all()]
        await page.keyboard.press("Tab")
        await expect(page.get_by_role("link", name="Aller au contenu")).to_be_focused()
        await page.keyboard.press("Tab")  # the portal's name
        for label in labels:
            await page.keyboard.press("Tab")
            link = menu.get_by_role("link", name=label, exact=True)
            await expect(link).to_be_focused()
            await expect(link).to_be_in_viewport()
    finally:
        await context.close()
