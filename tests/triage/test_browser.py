"""The analysts' back office in a real Chromium, on the whole platform in this process: an
administrator creates an analyst; the analyst finds requests by their code and sends one back
for reformulation (the citizen's email arrives), validates another, rejects a third (with the
keyboard alone); each shows its new status on the citizen's tracking page. The call centre's
form: an operator submits with a mobile number only and reads the code out. Checked with axe
and at 360 px."""

from __future__ import annotations

import re
from email.header import decode_header, make_header

import asyncpg

from shared.identity import Role
from tests.browser import ARTIFACTS, axe_violations
from tests.staff.helpers import (
    choose_password,
    create_account,
    follow_menu,
    sign_in,
    sign_in_link,
)
from tests.support import eventually, signed_session

ADMIN_PASSWORD = "le mot de passe de l'admin"
ANALYST_PASSWORD = "awa examine la file"
OPERATOR_PASSWORD = "le centre d'appels répond"


async def _fits(page, width: int = 360) -> bool:
    await page.set_viewport_size({"width": width, "height": 740})
    fits = await page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")
    await page.set_viewport_size({"width": 1280, "height": 900})
    return fits


async def _submit(gateway: str, email: str, nature: str, message: str) -> str:
    body = {
        "nature": nature,
        "body_id": "ministere-budget",
        "theme_id": "accueil-espace",
        "message": message,
        "contact": {
            "last_name": "KOUASSI",
            "first_names": "Aya",
            "phone": "07 07 12 34 56",
            "email": email,
        },
    }
    async with (
        signed_session() as http,
        http.post(gateway + "/api/v1/requests", json=body) as resp,
    ):
        data = await resp.json()
        assert resp.status == 201, data
    return data["code"]


async def _status_in_intake(database_url: str, code: str, status: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:

        async def probe():
            found = await conn.fetchval("SELECT status FROM intake.requests WHERE code = $1", code)
            return found == status

        await eventually(probe)
    finally:
        await conn.close()


async def _open_by_code(page, gateway: str, code: str) -> None:
    """From the queue: search the exact code, which opens the request."""
    await page.goto(gateway + "/admin/traitements")
    await page.get_by_label("Rechercher (mots du message ou code de la requête)").fill(code)
    await page.get_by_role("button", name="Rechercher", exact=True).click()
    await page.get_by_role("heading", name=re.compile(code)).wait_for()


async def _tracking_status(page, gateway: str, code: str, email: str) -> str:
    await page.goto(gateway + "/suivre")
    await page.get_by_label("Code Requête").fill(code)
    await page.get_by_label("Adresse e-mail ou numéro de mobile").fill(email)
    await page.get_by_role("button", name="Valider").click()
    return (await page.locator("#status").inner_text()).strip()


async def test_an_analyst_decides_in_the_back_office(stack, database_url, page, smtp_server):
    gateway = stack.gateway
    await create_account(
        database_url, Role.ADMINISTRATOR, "admin.osep", ADMIN_PASSWORD, display_name="Koffi ADMIN"
    )
    emails = [f"citoyen{i}@example.ci" for i in range(3)]
    codes = [
        await _submit(gateway, emails[0], "reclamation", "Le guichet des passeports est fermé."),
        await _submit(gateway, emails[1], "reclamation", "Les agents sont absents à l'accueil."),
        await _submit(gateway, emails[2], "suggestion", "Achetez des chaises pour l'attente."),
    ]
    try:
        # The administrator creates the analyst in the back office.
        await sign_in(page, gateway, "admin.osep", ADMIN_PASSWORD)
        await page.goto(gateway + "/admin/comptes/nouveau")
        await page.get_by_label("Login").fill("awa.kone")
        await page.get_by_label("Nom et prénoms").fill("Awa KONÉ")
        await page.get_by_label("Adresse électronique").fill("awa.kone@osep.gouv.ci")
        await page.get_by_label("Analyste (OSEP)").check()
        await page.get_by_role("button", name="Créer le compte").click()
        await page.get_by_text("Le compte est créé.").wait_for()
        await page.get_by_role("button", name="Se déconnecter").click()

        # The analyst chooses her password through the emailed link, and is signed in.
        link = await sign_in_link(smtp_server, "awa.kone@osep.gouv.ci")
        await choose_password(page, link, ANALYST_PASSWORD)
        # « Traitements » lists the three, oldest first.
        await follow_menu(page, "Traitements")
        await page.get_by_role("heading", name="Requêtes à examiner").wait_for()

        async def listed():
            await page.reload()
            return await page.locator("table tbody tr").count() == 3

        await eventually(listed)
        first_column = await page.locator("table tbody tr > :first-child").all_inner_texts()
        assert [next(c for c in codes if c in text) for text in first_column] == codes
        assert "15 jours ouvrés restants" in await page.locator("table tbody").inner_text()
        assert await axe_violations(page) == []
        assert await _fits(page)

        # 1. Sent back for reformulation.
        await _open_by_code(page, gateway, codes[0])
        assert await axe_violations(page) == []
        assert await _fits(page)
        await page.get_by_text("Renvoyer pour reformulation", exact=True).click()
        await page.get_by_label("Message à l'usager : ce qu'il doit reformuler").fill(
            "Précisez le bureau des passeports et la date de votre passage."
        )
        await page.get_by_role("button", name="Renvoyer à l'usager").click()
        await page.get_by_text("La requête est renvoyée à l'usager pour reformulation.").wait_for()
        assert "Renvoyée pour reformulation" in await page.locator("dl.facts").first.inner_text()
        history = await page.locator("ol.history > li").all_inner_texts()
        assert "Renvoyée pour reformulation (Awa KONÉ)" in history[-1]  # by name
        assert "Précisez le bureau des passeports" in history[-1]
        mails = await smtp_server.wait_for(emails[0], count=2)
        [asked] = [
            m
            for m in mails
            if "doit être reformulée" in str(make_header(decode_header(m["Subject"])))
        ]
        text = asked.get_body(("plain",)).get_content()
        assert "Précisez le bureau des passeports et la date de votre passage." in text
        assert f"/suivre?code={codes[0]}" in text

        # 2. Validated: no box to tick (issue 12: only « Rejeter » asks for one), the
        # consequence written beside the button.
        await _open_by_code(page, gateway, codes[1])
        await page.get_by_text("Valider la requête", exact=True).click()
        consequence = page.locator("#consequence-valider")
        assert "transmise à « Ministère du budget" in await consequence.inner_text()
        assert "pour traitement" in await consequence.inner_text()
        assert await page.locator("#f-valider-confirm").count() == 0
        await page.get_by_role("button", name="Valider", exact=True).click()
        await page.get_by_text("La requête est validée.").wait_for()

        # 3. Rejected with the keyboard alone.
        await _open_by_code(page, gateway, codes[2])
        summary = page.get_by_text("Rejeter (non recevable)", exact=True)
        await summary.focus()
        await page.keyboard.press("Enter")
        await page.keyboard.press("Tab")  # the ready-made reasons: none chosen
        await page.keyboard.press("Tab")  # the reason
        await page.keyboard.type("Une suggestion d'achat ne relève pas du portail.")
        await page.keyboard.press("Tab")  # the box
        await page.keyboard.press("Space")
        await page.keyboard.press("Tab")  # the button
        await page.keyboard.press("Enter")
        await page.get_by_text("La requête est rejetée ; l'usager en reçoit le motif.").wait_for()

        # The queue is empty now; the statuses filter still finds them.
        await page.goto(gateway + "/admin/traitements")
        assert "Pas d'enregistrement" in await page.locator("table tbody").inner_text()
        await page.get_by_label("Statut").select_option("all")
        await page.get_by_role("button", name="Rechercher", exact=True).click()
        assert await page.locator("table tbody tr").count() == 3

        # The citizen's tracking page follows each decision.
        await page.get_by_role("button", name="Se déconnecter").click()
        for code, status in zip(
            codes, ("reformulation_requested", "in_treatment", "rejected"), strict=True
        ):
            await _status_in_intake(database_url, code, status)
        assert await _tracking_status(page, gateway, codes[0], emails[0]) == (
            "Renvoyée pour reformulation"
        )
        assert await _tracking_status(page, gateway, codes[1], emails[1]) == (
            "En cours de traitement"
        )
        assert await _tracking_status(page, gateway, codes[2], emails[2]) == (
            "Clôturée : requête non recevable"
        )
    except BaseException:
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "triage-browser.png"), full_page=True)
        raise


async def test_the_call_centre_submits_with_a_mobile_number_only(stack, database_url, page):
    gateway = stack.gateway
    await create_account(database_url, Role.OPERATOR, "centre.appels", OPERATOR_PASSWORD)
    try:
        await sign_in(page, gateway, "centre.appels", OPERATOR_PASSWORD)
        await follow_menu(page, "Saisie d'une requête")
        await page.get_by_role("heading", name="Saisie d'une requête par téléphone").wait_for()
        assert await axe_violations(page) == []
        assert await _fits(page)

        await page.get_by_label("Nature").select_option("reclamation")
        await page.get_by_label("Organisme public").select_option("ministere-budget")
        await page.get_by_label("Message").fill("L'appelant attend sa pension depuis six mois.")
        await page.get_by_label("Nom", exact=True).fill("TRAORÉ")
        # Neither a mobile number nor an email: said next to the phone field, the rest kept.
        await page.get_by_label("L'appelant accepte les conditions").check()
        await page.get_by_role("button", name="Enregistrer la requête").click()
        error = page.locator("#err-phone")
        assert "téléphone portable de l'appelant" in await error.inner_text()
        phone = page.get_by_label("Téléphone portable", exact=True)
        assert "err-phone" in await phone.get_attribute("aria-describedby")
        assert await page.get_by_label("Message").input_value() == (
            "L'appelant attend sa pension depuis six mois."
        )
        assert await axe_violations(page) == []

        await phone.fill("07 07 12 34 56")
        await page.get_by_role("button", name="Enregistrer la requête").click()
        shown = (await page.locator("#code").inner_text()).strip()
        assert re.fullmatch(r"\d{3} \d{3} \d{4}", shown)  # the portal's groups
        code = shown.replace(" ", "")
        assert await page.get_by_text("Lisez ce code à l'appelant").is_visible()
        assert await axe_violations(page) == []
        assert await _fits(page)
    except BaseException:
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "operator-browser.png"), full_page=True)
        raise

    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT code, channel FROM intake.requests")
    finally:
        await conn.close()
    assert [(r["code"].strip(), r["channel"]) for r in rows] == [(code, "phone")]
