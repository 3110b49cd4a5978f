"""The bodies' lists in a real Chromium at 360 px, axe-core clean: a focal point goes from the
menu to « En cours », « Retraitement », « Insatisfaits » and « Consultations », searches, and
finds the link to treat a request."""

from __future__ import annotations

from playwright.async_api import expect

from shared.identity import Role
from shared.service import POOL
from tests.browser import axe_violations
from tests.staff.helpers import create_account, follow_menu, sign_in
from tests.treatment.lists_scenario import scenario

PASSWORD = "le point focal du budget"


async def _fits(page) -> bool:
    return await page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")


async def test_a_focal_point_walks_its_lists_at_360_px(stack, database_url, page):
    ours = await scenario(stack.apps["treatment"].app[POOL], "ministere-budget")
    names = ours["by_name"]
    await create_account(database_url, Role.FOCAL_POINT, "pf.budget", PASSWORD, "ministere-budget")
    await page.set_viewport_size({"width": 360, "height": 740})
    await sign_in(page, stack.gateway, "pf.budget", PASSWORD)

    await follow_menu(page, "En cours")
    await expect(page.get_by_role("heading", name="Requêtes à traiter")).to_be_visible()
    await expect(
        page.get_by_role("link", name=f"Traiter la requête {names['held']}")
    ).to_be_visible()
    assert await axe_violations(page) == []
    assert await _fits(page)
    # A card per request (issue 12): the code's link in sight, the columns under their names.
    row = page.locator("table tbody tr").first
    assert await row.evaluate("r => getComputedStyle(r).display") == "block"
    code_link = row.locator("td.card-head a").first
    await expect(code_link).to_be_visible()
    box = await code_link.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360
    await expect(row.locator("td[data-label=Organisme]")).to_be_visible()
    await expect(row.locator("td.row-number")).to_be_hidden()

    await page.get_by_label("Rechercher (code de la requête, mots du message ou du contact)").fill(
        "decevant"
    )
    await page.get_by_role("button", name="Rechercher").click()
    await expect(page.get_by_text("Affichage 1 à 1 sur 1 ligne")).to_be_visible()
    await expect(
        page.get_by_role("link", name=f"Traiter la requête {names['fresh']}")
    ).to_have_attribute("href", f"/admin/requetes/{names['fresh']}")

    await follow_menu(page, "Retraitement")
    await expect(page.get_by_role("heading", name="Liste des requêtes réouvertes")).to_be_visible()
    await expect(
        page.get_by_role("link", name=f"Traiter à nouveau la requête {names['reopened']}")
    ).to_be_visible()
    assert await axe_violations(page) == []
    assert await _fits(page)

    await follow_menu(page, "Insatisfaits")
    await expect(
        page.get_by_role("heading", name="Liste des requêtes traitées Insatisfaites")
    ).to_be_visible()
    await expect(page.get_by_text("Trop lent")).to_be_visible()
    assert await axe_violations(page) == []
    assert await _fits(page)

    await follow_menu(page, "Consultations")
    await expect(
        page.get_by_role("heading", name="Liste des requêtes traitées sans retour")
    ).to_be_visible()
    assert await axe_violations(page) == []
    assert await _fits(page)
    tabs = page.get_by_role("navigation", name="Listes des consultations")
    await tabs.get_by_role("link", name="Observations").click()
    await expect(page.get_by_role("cell", name="Pas d'enregistrement")).to_be_visible()
    await tabs.get_by_role("link", name="Réclamations", exact=True).click()
    # At 360 px the column's name stands in each card; the header stays for screen readers.
    await expect(page.get_by_role("columnheader", name="Retour Analyste")).to_have_count(1)
    await expect(
        page.locator("table tbody tr").first.locator("td[data-label='Retour Analyste']")
    ).to_be_visible()
    assert await axe_violations(page) == []
    assert await _fits(page)


async def _columns_in_sight(page) -> list[str]:
    """The list's column headers that lie beyond the right edge of its table's region (the ones a
    reader finds only by scrolling the table sideways)."""
    return await page.evaluate(
        """() => {
            const region = document.querySelector('.table-wrap').getBoundingClientRect();
            return [...document.querySelectorAll('.table-wrap thead th')]
                .filter(th => th.getBoundingClientRect().right > region.right + 1)
                .map(th => th.innerText.trim());
        }"""
    )


async def test_every_column_of_the_focal_point_lists_is_in_sight_at_1280_px(
    stack, database_url, page
):
    """On an office screen (1,280 px, the menu beside the page) every column of each list shows
    without scrolling the table sideways: the last one of « Insatisfaits » is « Répondre à
    l'usager », the list's reason to be; « Consultations › Réclamations » has nine. Seen cut
    off in a trial: the « Action » column of « Insatisfaits » lay 100 px beyond the edge."""
    ours = await scenario(stack.apps["treatment"].app[POOL], "ministere-budget")
    await create_account(database_url, Role.FOCAL_POINT, "pf.budget", PASSWORD, "ministere-budget")
    assert page.viewport_size["width"] == 1280
    await sign_in(page, stack.gateway, "pf.budget", PASSWORD)
    lists = {
        "En cours": "Requêtes à traiter",
        "Retraitement": "Liste des requêtes réouvertes",
        "Insatisfaits": "Liste des requêtes traitées Insatisfaites",
    }
    for link, heading in lists.items():
        await follow_menu(page, link)
        await expect(page.get_by_role("heading", name=heading)).to_be_visible()
        await expect(page.locator("table tbody tr td").first).not_to_have_text(
            "Pas d'enregistrement"
        )
        assert await _columns_in_sight(page) == [], link
    answer_again = page.get_by_role(
        "link", name=f"Répondre à l'usager de la requête {ours['insatisfaits'][0]}"
    )
    await expect(answer_again).to_be_in_viewport()
    await follow_menu(page, "Consultations")
    tabs = page.get_by_role("navigation", name="Listes des consultations")
    tabs_seen = (
        "Sans retour",
        "Satisfaits",
        "Réclamations traitées",
        "Avis exprimés",
        "Total requêtes",
        "Réclamations",
        "Suggestions",
        "Motions",
    )
    for tab in tabs_seen:
        link = tabs.get_by_role("link", name=tab, exact=True)
        await link.click()
        await expect(link).to_have_attribute("aria-current", "page")
        assert await _columns_in_sight(page) == [], tab
