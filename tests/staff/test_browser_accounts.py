"""An administrator manages an account in a real Chromium, each change a form with its CSRF
token: changes the role and body, sends a new sign-in link (the password stops working), disables
and re-enables the account. The account's sessions end at once where they must, the agent
chooses a new password through the emailed link, and each change is in the audit log."""

from __future__ import annotations

import html
import uuid

import aiohttp

from shared.identity import Role
from tests.browser import ARTIFACTS
from tests.staff.helpers import (
    agent_email,
    create_account,
    password_through_link,
    sign_in,
    sign_in_link,
    signed_in_session,
)

ADMIN_PASSWORD = "l'administrateur veille"
OLD_PASSWORD = "ancien mot de passe d'awa"
NEW_PASSWORD = "nouveau mot de passe d'awa"
BODY_NAME = "Ministère du budget et du Portefeuille de l'Etat"


async def _still_in(http: aiohttp.ClientSession, gateway: str) -> bool:
    async with http.get(gateway + "/admin/", allow_redirects=False) as resp:
        return resp.status == 200


async def _refused(gateway: str, password: str) -> bool:
    try:
        session = await signed_in_session(gateway, "awa.kone", password)
    except AssertionError:
        return True
    await session.close()
    return False


async def test_an_administrator_changes_role_sends_a_new_link_and_disables(
    stack, database_url, page, smtp_server
):
    gateway = stack.gateway
    await create_account(database_url, Role.ADMINISTRATOR, "admin.comptes", ADMIN_PASSWORD)
    await create_account(database_url, Role.ANALYST, "awa.kone", OLD_PASSWORD)
    awa_http = await signed_in_session(gateway, "awa.kone", OLD_PASSWORD)
    try:
        await sign_in(page, gateway, "admin.comptes", ADMIN_PASSWORD)
        await page.goto(gateway + "/admin/comptes?q=awa")
        await page.get_by_role("link", name="awa.kone").click()
        await page.get_by_role("heading", name="Compte awa.kone").wait_for()
        # An account that does not exist: a page of the site, in the back office's words.
        missing = await page.request.get(f"{gateway}/admin/comptes/{uuid.UUID(int=0)}")
        assert missing.status == 404
        assert "Ce compte n'existe pas." in html.unescape(await missing.text())
        assert "<h1>Compte introuvable</h1>" in await missing.text()

        # Role and body: a focal point without a body is refused, then with one it is kept.
        await page.get_by_label("Point focal").check()
        await page.get_by_role("button", name="Enregistrer le rôle").click()
        assert await page.locator("#err-body_id").is_visible()
        await page.get_by_label("Organisme public").select_option("ministere-budget")
        await page.get_by_role("button", name="Enregistrer le rôle").click()
        await page.get_by_text("Le rôle et l'organisme sont enregistrés.").wait_for()
        assert await page.get_by_text(BODY_NAME).first.is_visible()
        # Her open session now acts as a focal point: « Traitements » is closed to her.
        async with awa_http.get(gateway + "/admin/traitements", allow_redirects=False) as resp:
            assert resp.status == 403

        # A new sign-in link: her session ends at once; the old password no longer opens one;
        # she chooses a new one through the link that came by email.
        # It asks first (it locks her out): only « Oui, envoyer le lien » sends it.
        await page.get_by_role("button", name="Envoyer un nouveau lien de connexion…").click()
        await page.get_by_role("button", name="Oui, envoyer le lien").click()
        await page.get_by_text("Un nouveau lien de connexion part").wait_for()
        assert not await _still_in(awa_http, gateway)
        assert await _refused(gateway, OLD_PASSWORD)
        await awa_http.close()
        link = await sign_in_link(smtp_server, agent_email("awa.kone"))
        status, awa_http = await password_through_link(gateway, link, NEW_PASSWORD)
        assert status == 303
        assert await _still_in(awa_http, gateway)

        # Disabled: the session she just opened ends at once, and she cannot sign in again.
        # The button asks first (issue 12); only « Oui, désactiver le compte » disables.
        await page.get_by_role("button", name="Désactiver le compte…").click()
        await page.get_by_role("button", name="Oui, désactiver le compte").click()
        await page.get_by_text("Le compte est désactivé").wait_for()
        assert not await _still_in(awa_http, gateway)
        assert await _refused(gateway, NEW_PASSWORD)

        # Re-enabled: the new password works.
        await page.get_by_role("button", name="Réactiver le compte").click()
        await page.get_by_text("Le compte est réactivé.").wait_for()
        assert not await _refused(gateway, NEW_PASSWORD)

        # Each change is in the audit log, with who made it.
        await page.goto(gateway + "/admin/journal?q=awa.kone")
        log = await page.locator("table tbody").inner_text()
        for action in (
            "Rôle ou organisme modifié",
            "Nouveau lien de connexion envoyé",
            "Mot de passe choisi (lien de première connexion)",
            "Compte désactivé",
            "Compte réactivé",
        ):
            assert action in log, log
        assert "admin.comptes" in log
    except BaseException:
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "accounts-browser.png"), full_page=True)
        raise
    finally:
        await awa_http.close()
