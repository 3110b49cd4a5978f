"""An administrator's day in the back office, in a real Chromium (issue 12): the queue at
360 px with each request's code as a visible link, « Valider et passer à la suivante »,
« Rejeter » styled apart from « Valider », the back office's 404 page, the question before
disabling an account, « Statistique générale » whole at 1,280 px. axe-core on each page."""

from __future__ import annotations

import re

from playwright.async_api import expect

from shared.identity import Role
from tests.browser import ARTIFACTS, axe_violations
from tests.staff.helpers import create_account, sign_in
from tests.triage.test_browser import _fits, _submit
from tests.triage.test_day_work import _in_queue

PASSWORD = "le mot de passe de l'admin"


async def test_a_day_in_the_back_office(stack, database_url, page):
    gateway = stack.gateway
    await create_account(database_url, Role.ADMINISTRATOR, "admin.osep", PASSWORD)
    analyst = await create_account(database_url, Role.ANALYST, "awa.kone", PASSWORD)
    first = await _submit(gateway, "un@example.ci", "reclamation", "Le guichet est fermé.")
    second = await _submit(gateway, "deux@example.ci", "suggestion", "Des chaises, svp.")
    await _in_queue(stack, first)
    await _in_queue(stack, second)
    await sign_in(page, gateway, "admin.osep", PASSWORD)

    # The queue at 360 px: the code of each request is a link, in sight, in the first column.
    await page.set_viewport_size({"width": 360, "height": 740})
    await page.goto(gateway + "/admin/traitements")
    rows = page.locator("table tbody tr")
    await expect(rows).to_have_count(2)
    for code in (first, second):
        link = page.get_by_role("link", name=code, exact=True)
        await expect(link).to_be_visible()
        box = await link.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360
    assert await rows.first.locator(":scope > :first-child").get_by_role("link").inner_text() == (
        first
    )
    assert await page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")
    # Each request is a card: its columns one under the other, each under its name, the
    # organisme's in sight (no column off screen); the criteria folded behind « Filtres ».
    assert await rows.first.evaluate("r => getComputedStyle(r).display") == "block"
    body_cell = rows.first.locator("td[data-label=Organisme]")
    await expect(body_cell).to_be_visible()
    cell = await body_cell.bounding_box()
    assert cell is not None and cell["x"] >= 0 and cell["x"] + cell["width"] <= 360
    assert (
        await body_cell.evaluate("c => getComputedStyle(c, '::before').content") == '"Organisme : "'
    )
    await expect(page.get_by_label("Statut", exact=True)).to_be_hidden()
    await page.locator("details.filters-fold > summary").click()
    await expect(page.get_by_label("Statut", exact=True)).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=ARTIFACTS / "file-des-requetes-360.png", full_page=True)
    assert await axe_violations(page) == []
    await page.set_viewport_size({"width": 1280, "height": 900})
    # On a wide screen the criteria stay in sight, folded or not.
    await page.goto(gateway + "/admin/traitements")
    await expect(page.get_by_label("Statut", exact=True)).to_be_visible()
    await expect(page.locator("details.filters-fold > summary")).to_be_hidden()

    # The code's link opens the request; « Rejeter » does not look like « Valider ».
    await page.get_by_role("link", name=first, exact=True).click()
    await page.get_by_role("heading", name=re.compile(first)).wait_for()
    await page.get_by_text("Valider la requête", exact=True).click()
    await page.get_by_text("Rejeter (non recevable)", exact=True).click()
    validate = page.get_by_role("button", name="Valider", exact=True)
    reject = page.get_by_role("button", name="Rejeter la requête")
    style = "e => [getComputedStyle(e).backgroundColor, getComputedStyle(e).color]"
    assert await validate.evaluate(style) != await reject.evaluate(style)
    assert await axe_violations(page) == []
    assert await _fits(page)

    # « Valider et passer à la suivante »: the first validated, the second opened.
    await page.get_by_role("button", name="Valider et passer à la suivante").click()
    await page.get_by_role("heading", name=re.compile(second)).wait_for()
    await expect(page.get_by_role("status").first).to_have_text(
        f"La requête n° {first} est validée. Voici la suivante dans la file."
    )
    assert await axe_violations(page) == []
    # The last one: nothing else waits.
    await page.get_by_text("Valider la requête", exact=True).click()
    await page.get_by_role("button", name="Valider et passer à la suivante").click()
    await page.get_by_text("Aucune autre requête n'attend dans la file.").wait_for()
    assert second in page.url

    # The back office's own 404 page, in its layout.
    await page.goto(gateway + "/admin/nulle-part")
    await page.get_by_role("heading", name="Page introuvable").wait_for()
    await expect(page.get_by_role("navigation", name="Menu de l'administration")).to_be_visible()
    assert await axe_violations(page) == []

    # Disabling an account asks first; « Annuler » leaves it active.
    await page.goto(f"{gateway}/admin/comptes/{analyst.id}")
    await page.get_by_role("button", name="Désactiver le compte…").click()
    await page.get_by_text("Êtes-vous sûr de vouloir désactiver le compte awa.kone ?").wait_for()
    assert await axe_violations(page) == []
    await page.get_by_role("link", name="Annuler").click()
    await expect(page.locator("dl.facts")).to_contain_text("Actif")
    await page.get_by_role("button", name="Désactiver le compte…").click()
    await page.get_by_role("button", name="Oui, désactiver le compte").click()
    await page.get_by_text("Le compte est désactivé ; ses sessions ont pris fin.").wait_for()

    # « Statistique générale » at 1,280 px: every column in sight, no scrolling inside the table.
    await page.goto(gateway + "/admin/statistiques")
    table = page.locator(".stats-table")
    await expect(table.locator("tfoot")).to_contain_text("TOTAUX")
    wrap = page.locator(".table-wrap").first
    assert await wrap.evaluate("e => e.scrollWidth <= e.clientWidth"), "columns off screen"
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=ARTIFACTS / "statistique-generale-1280.png", full_page=True)
    last = table.locator("thead th").last
    box = await last.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 1280
    assert await axe_violations(page) == []
    assert await _fits(page)
