"""« Administration › Délais » in a real Chromium, on the whole platform in this process: a
réclamation validated and in treatment shows the citizen « Réponse attendue au plus tard le … »
(60 working days); an administrator types a bad value (the error beside the field, what was typed
kept), sets 20 working days for the réclamations' answer, then declares a day off before the new
date; the citizen's tracking page follows each change. Checked with axe."""

from __future__ import annotations

from datetime import date

import asyncpg
from playwright.async_api import expect

from shared import french
from shared.identity import Role
from shared.working_days import calendar, day_of
from tests.browser import axe_violations
from tests.staff.helpers import create_account, follow_menu, sign_in
from tests.support import eventually
from tests.track.test_tracking_page import _open
from tests.treatment.pages import validated_reclamation

PASSWORD = "les délais de l'administratrice"
CITIZEN = "adjoua.delais@example.ci"


async def _validated_day(database_url: str, code: str) -> date:
    conn = await asyncpg.connect(database_url)
    try:
        at = await conn.fetchval(
            "SELECT validated_at FROM treatment.treatments WHERE code = $1", code
        )
    finally:
        await conn.close()
    return day_of(at)


async def _citizen_sees(page, gateway: str, code: str, day: date) -> None:
    """The citizen's tracking page announces ``day`` (treatment's event reaches intake)."""
    expected = f"Réponse attendue au plus tard le {french.day(day)}"

    async def shown() -> bool:
        await _open(page, gateway, code, CITIZEN)
        return expected in await page.locator("#banner-due").inner_text()

    await eventually(shown)


async def test_an_administrator_sets_a_deadline_and_a_day_off_and_the_citizens_date_moves(
    stack, database_url, browser
):
    gateway = stack.gateway
    await create_account(database_url, Role.ADMINISTRATOR, "admin.delais", PASSWORD)
    code = await validated_reclamation(stack, email=CITIZEN)
    start = await _validated_day(database_url, code)
    citizen = await (await browser.new_context(locale="fr-FR")).new_page()
    context = await browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    try:
        await _citizen_sees(citizen, gateway, code, calendar().add(start, 60))

        await sign_in(page, gateway, "admin.delais", PASSWORD)
        await follow_menu(page, "Délais")
        await page.get_by_role("heading", name="Délais", exact=True).wait_for()
        row = page.locator("#delai-reclamation")
        assert "60 jours" in await row.inner_text()
        assert await page.locator("#jours-feries li").count() > 0
        assert await axe_violations(page) == []

        # A value that makes no sense: refused beside its field, what was typed kept.
        await page.get_by_label("Nature", exact=True).select_option(label="Réclamation")
        await page.get_by_label("Délai", exact=True).select_option(label="Réponse de l'organisme")
        await page.get_by_role("textbox", name="Jours ouvrés").fill("0")
        await page.get_by_role("button", name="Enregistrer le délai").click()
        await expect(page.locator("#err-days")).to_contain_text("au moins 1 jour ouvré")
        await expect(page.get_by_role("textbox", name="Jours ouvrés")).to_have_value("0")
        assert await axe_violations(page) == []

        # 20 working days for the réclamations' answer.
        await page.get_by_label("Nature", exact=True).select_option(label="Réclamation")
        await page.get_by_label("Délai", exact=True).select_option(label="Réponse de l'organisme")
        await page.get_by_role("textbox", name="Jours ouvrés").fill("20")
        await page.get_by_role("button", name="Enregistrer le délai").click()
        await expect(page.locator("#fait")).to_contain_text("Le délai est enregistré")
        await expect(row).to_contain_text("20 jours")
        await _citizen_sees(citizen, gateway, code, calendar().add(start, 20))

        # A day declared off before that date moves it by one working day.
        off = calendar().add(start, 3)
        await page.get_by_role("textbox", name="Date du jour chômé").fill(off.strftime("%d/%m/%Y"))
        await page.get_by_role("textbox", name="Motif").fill("Deuil national")
        await page.get_by_role("button", name="Déclarer le jour chômé").click()
        await expect(page.locator("#fait")).to_contain_text("Le jour chômé est déclaré")
        await expect(page.locator("#jours-chomes")).to_contain_text("Deuil national")
        moved = calendar([off]).add(start, 20)
        assert moved > calendar().add(start, 20)
        await _citizen_sees(citizen, gateway, code, moved)

        # On a phone the tables are cards: nothing scrolls sideways.
        await page.set_viewport_size({"width": 360, "height": 740})
        await page.reload()
        await expect(page.locator("#jours-chomes")).to_contain_text("Deuil national")
        assert await page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")

        # Both changes in the « Journal d'audit » (and in treatment's own log).
        conn = await asyncpg.connect(database_url)
        try:
            actions = await conn.fetch(
                "SELECT action, detail FROM gateway.audit_log WHERE actor_login = 'admin.delais'"
                " AND action <> 'sign_in' ORDER BY id"
            )
            kept = await conn.fetchval(
                "SELECT count(*) FROM treatment.audit_log WHERE actor_login = 'admin.delais'"
                " AND outcome = 'done'"
            )
        finally:
            await conn.close()
        assert [a["action"] for a in actions] == ["deadline_set", "day_off_declared"]
        assert actions[0]["detail"] == "Réclamation, Réponse de l'organisme : 20 jours ouvrés"
        assert kept == 2
    finally:
        await context.close()
        await citizen.context.close()
