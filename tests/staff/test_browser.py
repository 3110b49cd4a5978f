"""The back office in a real Chromium: the first administrator (made by the CLI, which prints the
first sign-in link while notify is not there) chooses a password and signs in from the home page,
creates an analyst; the analyst gets her link by email, chooses her password (a too-short one
first), then signs in with the keyboard alone and finds the shell of the guide (menu, period,
« En attente »). Checked at 360 px and with axe."""

from __future__ import annotations

from playwright.async_api import expect

from tests.browser import ARTIFACTS, axe_violations
from tests.staff.helpers import follow_menu, open_menu, sign_in, sign_in_link
from tests.staff.test_cli import milie
from tests.support import eventually, publish_event, submitted_event

ADMIN_PASSWORD = "le premier mot de passe"
ANALYST_PASSWORD = "awa analyse les requêtes"


async def _fits(page, width: int = 360) -> bool:
    await page.set_viewport_size({"width": width, "height": 740})
    fits = await page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")
    await page.set_viewport_size({"width": 1280, "height": 900})
    return fits


async def test_an_administrator_creates_an_analyst_who_signs_in(
    stack, database_url, page, amqp_url, namespace, smtp_server
):
    # Nothing answers where the command looks for notify: it prints the link.
    status, out, err = await milie(
        database_url,
        *("users", "create", "--role", "administrator", "--login", "admin.osep"),
        *("--name", "Koffi ADMIN", "--email", "admin.osep@osep.gouv.ci"),
        MILIE_NOTIFY_URL="http://127.0.0.1:9",
        MILIE_PUBLIC_URL=stack.gateway,
    )
    assert status == 0, err
    admin_link = out.strip().splitlines()[-1]
    assert admin_link.startswith(stack.gateway + "/admin/premiere-connexion/"), out
    try:
        # The first sign-in page: French, labelled, no script needed; the password chosen, the
        # administrator is in.
        await page.goto(admin_link)
        await page.get_by_role("heading", name="Choisissez votre mot de passe").wait_for()
        assert await axe_violations(page) == []
        assert await _fits(page)
        await page.get_by_label("Nouveau mot de passe").fill(ADMIN_PASSWORD)
        await page.get_by_label("Confirmation du mot de passe").fill(ADMIN_PASSWORD)
        await page.get_by_role("button", name="Enregistrer mon mot de passe").click()
        await page.get_by_role("heading", name="Tableau de bord").wait_for()
        await page.get_by_role("button", name="Se déconnecter").click()
        await page.get_by_text("Vous êtes déconnecté.").wait_for()

        # From the citizens' home page to the agents' door.
        await page.goto(stack.gateway + "/")
        await page.get_by_role("link", name="Espace agents").click()
        await page.get_by_role("heading", name="Connectez-vous").wait_for()
        assert await axe_violations(page) == []
        assert await _fits(page)
        await page.get_by_label("Login").fill("admin.osep")
        await page.get_by_label("Mot de passe").fill(ADMIN_PASSWORD)
        await page.get_by_role("button", name="Se connecter").click()
        await page.get_by_role("heading", name="Tableau de bord").wait_for()
        assert await page.get_by_text("Interface Administrateur").is_visible()
        assert await page.get_by_text("Koffi ADMIN").is_visible()

        # Comptes → Créer un compte: a wrong address first, then a good one.
        await follow_menu(page, "Comptes")
        await page.get_by_role("link", name="Créer un compte").click()
        await page.get_by_label("Login").fill("awa.kone")
        await page.get_by_label("Nom et prénoms").fill("Awa KONÉ")
        await page.get_by_label("Adresse électronique").fill("awa.kone@")
        await page.get_by_label("Analyste (OSEP)").check()
        await page.get_by_role("button", name="Créer le compte").click()
        error = page.locator("#err-email")
        assert "adresse électronique valide" in await error.inner_text()
        described = await page.locator("#f-email").get_attribute("aria-describedby")
        assert "err-email" in described.split()
        assert await page.get_by_label("Login").input_value() == "awa.kone"
        assert await page.get_by_label("Analyste (OSEP)").is_checked()
        assert await axe_violations(page) == []
        await page.get_by_label("Adresse électronique").fill("awa.kone@osep.gouv.ci")
        await page.get_by_role("button", name="Créer le compte").click()
        await page.get_by_text("Le compte est créé.").wait_for()
        assert await page.get_by_role("heading", name="Compte awa.kone").is_visible()

        # The list finds it; it fits a phone.
        await page.goto(stack.gateway + "/admin/comptes?q=awa")
        rows = page.locator("table tbody tr")
        assert await rows.count() == 1
        assert "Analyste (OSEP)" in await rows.first.inner_text()
        assert await _fits(page)
        assert await axe_violations(page) == []

        await page.get_by_role("button", name="Se déconnecter").click()
        await page.get_by_text("Vous êtes déconnecté.").wait_for()

        # The analyst's link came by email; a too-short password is refused beside its field.
        link = await sign_in_link(smtp_server, "awa.kone@osep.gouv.ci")
        await page.goto(link)
        await page.get_by_label("Nouveau mot de passe").fill("trop court")
        await page.get_by_label("Confirmation du mot de passe").fill("trop court")
        await page.get_by_role("button", name="Enregistrer mon mot de passe").click()
        error = page.locator("#err-password")
        assert await error.inner_text() == "Le mot de passe doit compter au moins 12 caractères."
        assert await axe_violations(page) == []
        await page.get_by_label("Nouveau mot de passe").fill(ANALYST_PASSWORD)
        await page.get_by_label("Confirmation du mot de passe").fill(ANALYST_PASSWORD)
        await page.get_by_role("button", name="Enregistrer mon mot de passe").click()
        await page.get_by_role("heading", name="Tableau de bord").wait_for()
        await page.get_by_role("button", name="Se déconnecter").click()
        await page.get_by_text("Vous êtes déconnecté.").wait_for()

        # The analyst, with the keyboard alone: the login field has the focus. Chromium applies
        # autofocus at its next rendering, which may come after the load event: keys typed
        # before it were lost (a busy machine lost the first letter in 13 of 30 tries).
        await page.goto(stack.gateway + "/admin/connexion")
        login, password = page.get_by_label("Login"), page.get_by_label("Mot de passe")
        await expect(login).to_be_focused()
        await page.keyboard.type("awa.kone")
        await page.keyboard.press("Tab")
        await expect(password).to_be_focused()
        await page.keyboard.type(ANALYST_PASSWORD)
        await expect(login).to_have_value("awa.kone")
        await expect(password).to_have_value(ANALYST_PASSWORD)
        await page.keyboard.press("Enter")
        await page.get_by_role("heading", name="Tableau de bord").wait_for()
        assert await page.get_by_text("Interface Analyste").is_visible()
        menu = await open_menu(page)
        labels = [t.strip() for t in await menu.locator("li > a, li > span").all_inner_texts()]
        for label in ("Accueil", "Tableau de bord", "Traitements", "Consultations"):
            assert any(x.startswith(label) for x in labels), labels
        assert any(x.startswith("Statistiques") for x in labels)
        assert any(x.startswith("Document d'aide") for x in labels)
        assert not any(x.startswith("Comptes") for x in labels)
        assert await _fits(page)
        assert await axe_violations(page) == []

        # « En attente »: the requests waiting in triage's queue, asked with her identity.
        await publish_event(amqp_url, namespace, submitted_event())

        async def waiting() -> str:
            await page.reload()
            badge = page.locator(".bo-waiting .badge")
            return await badge.count() and await badge.inner_text() == "1"

        await eventually(waiting)

        # The period: chosen once, kept from page to page; a bad date is said in French.
        await page.get_by_label("Du", exact=True).fill("2019-02-07")
        await page.get_by_role("button", name="Appliquer la période").click()
        await page.get_by_text("PERIODE DU 07/02/2019 au").wait_for()
        await follow_menu(page, "Document d'aide")
        await page.get_by_role("heading", name="Document d'aide").wait_for()
        assert "du=2019-02-07" in page.url
        await follow_menu(page, "Tableau de bord")
        await page.get_by_text("PERIODE DU 07/02/2019 au").wait_for()
        await page.goto(stack.gateway + "/admin/?du=31/02/2019")
        assert "Date invalide" in await page.locator("#err-du").inner_text()
        assert (
            await page.get_by_label("Du", exact=True).get_attribute("aria-describedby") == "err-du"
        )

        # « Statistiques » and « Consultations » lead to their pages.
        await follow_menu(page, "Statistiques")
        await page.get_by_role("heading", name="Statistique générale").wait_for()
        assert await _fits(page)
        assert await axe_violations(page) == []
        await follow_menu(page, "Consultations")
        await page.get_by_role("heading", name="Consultations").wait_for()
        await page.get_by_role("link", name="Réclamations").click()
        assert "statut=all" in page.url and "nature=reclamation" in page.url
        await page.get_by_role("heading", name="Requêtes à examiner").wait_for()

        # An analyst may not manage accounts.
        response = await page.goto(stack.gateway + "/admin/comptes")
        assert response.status == 403
        assert await page.get_by_role("heading", name="Accès refusé").is_visible()
    except BaseException:
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "staff-browser.png"), full_page=True)
        raise


async def test_the_sign_in_helper_works_for_other_tests(stack, database_url, page):
    from shared.identity import Role
    from tests.staff.helpers import create_account

    await create_account(database_url, Role.FOCAL_POINT, "pf.budget", ANALYST_PASSWORD, BODY)
    await sign_in(page, stack.gateway, "pf.budget", ANALYST_PASSWORD)
    interface = page.locator(".bo-interface")
    assert await interface.inner_text() == (
        "Interface Point focal — Ministère du budget et du Portefeuille de l'Etat"
    )


BODY = "ministere-budget"


async def test_a_focal_point_chooses_one_digest_a_day_under_mes_alertes(stack, database_url, page):
    """« Mes alertes » from the menu, at 360 px and with axe: the choice kept and shown again."""
    from shared.identity import Role
    from tests.staff.helpers import create_account

    await create_account(database_url, Role.FOCAL_POINT, "pf.budget", ANALYST_PASSWORD, BODY)
    await sign_in(page, stack.gateway, "pf.budget", ANALYST_PASSWORD)
    await follow_menu(page, "Mes alertes")
    await page.get_by_role("heading", name="Mes alertes").wait_for()
    assert await page.get_by_label("Immédiatement").is_checked()
    assert await axe_violations(page) == []
    assert await _fits(page)
    await page.get_by_label("Un résumé par jour").check()
    await page.get_by_role("button", name="Enregistrer").click()
    await page.get_by_text("Votre choix est enregistré.").wait_for()
    assert await page.get_by_label("Un résumé par jour").is_checked()


async def test_at_360_px_the_menu_folds_behind_one_button_and_the_page_comes_first(
    stack, database_url, browser
):
    """Without JavaScript (so no axe here: it is a script), with the keyboard: « Menu » opens
    the links, the page starts with its content; a wide screen shows the menu unfolded."""
    from shared.identity import Role
    from tests.staff.helpers import create_account

    await create_account(database_url, Role.ADMINISTRATOR, "admin.menu", ADMIN_PASSWORD)
    context = await browser.new_context(
        locale="fr-FR", viewport={"width": 360, "height": 740}, java_script_enabled=False
    )
    page = await context.new_page()
    try:
        await sign_in(page, stack.gateway, "admin.menu", ADMIN_PASSWORD)
        menu = page.get_by_role("navigation", name="Menu de l'administration")
        toggle = menu.get_by_text("Menu", exact=True)
        await expect(toggle).to_be_visible()
        await expect(menu.get_by_role("link", name="Comptes")).to_be_hidden()
        # The page's heading within the first screen, not after the menu's links.
        heading = page.get_by_role("heading", name="Tableau de bord")
        box = await heading.bounding_box()
        assert box is not None and box["y"] < 740, box
        assert await page.get_by_role("link", name="Aller au contenu").get_attribute("href") == (
            "#contenu"
        )

        # The keyboard alone: to « Menu », Enter, then the links.
        await toggle.focus()
        await page.keyboard.press("Enter")
        accounts = menu.get_by_role("link", name="Comptes")
        await expect(accounts).to_be_visible()
        await accounts.focus()
        await page.keyboard.press("Enter")
        await page.get_by_role("heading", name="Comptes", exact=True).wait_for()
        await expect(menu.get_by_role("link", name="Comptes")).to_be_hidden()  # folded again

        # A wide screen: no « Menu » button, every link in sight.
        await page.set_viewport_size({"width": 1280, "height": 900})
        await expect(toggle).to_be_hidden()
        await expect(menu.get_by_role("link", name="Comptes")).to_be_visible()
    except BaseException:
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "menu-360.png"), full_page=True)
        raise
    finally:
        await context.close()
