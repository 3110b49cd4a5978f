"""The citizen guide's journey in a real Chromium with JavaScript OFF, at 360 px wide: nature →
body found by a search → the form with an attachment → « Êtes-vous sûr… » → « Envoyer ma
requête » → the code; the email at a real SMTP server carries it, and so does the SMS to the
mobile number given (through a local fake of Orange's SMS API); tracking with code + email finds
the request; the file is stored with the request. Every page is kept as a screenshot at 360 px
and 1280 px."""

from __future__ import annotations

from email.header import decode_header, make_header

import asyncpg

from shared.codes import grouped
from tests.front.conftest import PDF
from tests.front.pages import (
    BUDGET_NAME,
    fill_form,
    new_page,
    no_horizontal_scroll,
    screenshots,
    submit_form,
)


async def test_submit_with_an_attachment_then_track_it(
    sms_stack, browser, smtp_server, fake_sms, database_url, tmp_path
):
    gateway = sms_stack.gateway
    email = "aya.kouassi@example.ci"
    scan = tmp_path / "Relevé de compte.pdf"
    scan.write_bytes(PDF)
    context, page = await new_page(browser, javascript=False)
    try:
        await page.goto(gateway + "/")
        await screenshots(page, "01-accueil")
        await (
            page.get_by_role("navigation").get_by_role("link", name="Soumettre une requête").click()
        )
        await page.get_by_role("heading", name="Soumettre une requête").wait_for()
        await screenshots(page, "02-nature")
        await page.get_by_role("link", name="Réclamation").first.click()

        # « Choix de l'organisme public »: every body with its telephone and location; a search.
        await page.get_by_role("heading", name="Choix de l'organisme public").wait_for()
        assert "Nombre de résultats : 11" in await page.content()
        # Every body on one page, by subject: the Justice ministry (« Garde des Sceaux… ») among
        # them, its telephone a tel: link in ten digits.
        justice = page.get_by_role("link", name="27 20 32 07 58")
        assert await justice.get_attribute("href") == "tel:+2252720320758"
        assert await page.get_by_text("Localisation : Plateau, Immeuble symphonie").count() == 1
        assert await page.get_by_text("Page 1 sur 2").count() == 0
        await screenshots(page, "03-organisme")
        await page.get_by_label("Rechercher un organisme").fill("portefeuille etat")
        await page.get_by_role("button", name="Rechercher").click()
        assert "Nombre de résultats : 1" in await page.content()
        await page.get_by_role("link", name=BUDGET_NAME, exact=True).click()

        await page.get_by_role("heading", name="Exprimez votre préoccupation").wait_for()
        assert await page.get_by_label("Nature").input_value() == "reclamation"
        assert await page.get_by_label("Pays").input_value() == "CI"
        first_country = await page.locator("#f-country option").first.inner_text()
        assert first_country == "COTE D'IVOIRE (+225)"
        await screenshots(page, "04-formulaire")
        assert await no_horizontal_scroll(page)
        await fill_form(page, email=email, files=[scan])
        await submit_form(page)

        # The server's own confirmation step: nothing is stored before « Envoyer ma requête ».
        await page.get_by_role(
            "heading", name="Êtes-vous sûr de vouloir soumettre ces informations ?"
        ).wait_for()
        recap = await page.locator(".recap").inner_text()
        for expected in (
            "Réclamation",
            BUDGET_NAME,
            "Plateau (District Autonome d'Abidjan)",
            "ACCUEIL : Espace d'accueil",
            "Relevé de compte.pdf",
            "COTE D'IVOIRE (+225)",
            email,
        ):
            assert expected in recap
        await screenshots(page, "05-confirmation")
        assert await _count(database_url, "intake.requests") == 0

        # « Modifier » brings the form back as it was, the file still attached.
        await page.get_by_role("button", name="Modifier").click()
        await page.get_by_role("heading", name="Exprimez votre préoccupation").wait_for()
        assert await page.get_by_label("Message").input_value() == (
            "L'accueil est décevant, la file d'attente est longue."
        )
        assert await page.get_by_label("Téléphone portable").input_value() == "07 07 12 34 56"
        assert await page.get_by_label("J'accepte").is_checked()
        assert await page.get_by_text("Relevé de compte.pdf").count() == 1
        await submit_form(page)
        await page.get_by_role("button", name="Envoyer ma requête").click()

        await page.get_by_text("Votre Réclamation a bien été enregistrée.").wait_for()
        code = (await page.locator("#code").inner_text()).replace(" ", "")
        assert len(code) == 10 and code.isdigit()
        # Shown in groups of digits (« 503 052 9490 »), the link naming the nature.
        assert (await page.locator("#code").inner_text()).strip() == grouped(code)
        assert await page.get_by_role("link", name="Suivre ma réclamation").count() == 1
        assert "Veuillez noter ce numéro" in await page.content()
        await screenshots(page, "06-enregistree")

        # Sent once: back to « Êtes-vous sûr… ? » (never cached) shows the code again (a second
        # « OK » gets the same code too: test_drafts).
        await page.go_back()
        await page.get_by_text("Votre Réclamation a bien été enregistrée.").wait_for()
        assert (await page.locator("#code").inner_text()).replace(" ", "") == code
        assert await _count(database_url, "intake.requests") == 1

        [mail] = await smtp_server.wait_for(email)
        assert code in str(mail)
        assert "réclamation" in str(make_header(decode_header(mail["Subject"])))
        assert f"{gateway}/suivre?code={code}" in mail.get_body(("plain",)).get_content()
        # The mobile number typed as « 07 07 12 34 56 » with Côte d'Ivoire: the SMS, once.
        [sms] = await fake_sms.wait_for("+2250707123456")
        assert sms.message == (
            f"Milie : votre réclamation est enregistrée. Son code : {code}. "
            f"Gardez-le pour la suivre sur {gateway}/suivre?code={code}"
        )

        # « Suivre une requête » from the SMS's link: the code is typed already; the email.
        await page.goto(sms.message.rsplit(" ", 1)[-1])
        assert await page.get_by_label("Code Requête").input_value() == code
        await page.get_by_label("Adresse e-mail ou numéro de mobile").fill(email)
        await page.get_by_role("button", name="Valider").click()
        await page.get_by_text(grouped(code)).first.wait_for()
        tracked = await page.content()
        assert "Réclamation" in tracked and "Espace d'accueil" in tracked
        await screenshots(page, "07-suivi")
    finally:
        await context.close()

    conn = await asyncpg.connect(database_url)
    try:
        stored = await conn.fetch(
            """SELECT a.filename, a.content_type, a.data FROM intake.attachments a
               JOIN intake.requests r ON r.id = a.request_id WHERE r.code = $1""",
            code,
        )
        assert [(r["filename"], r["content_type"], bytes(r["data"])) for r in stored] == [
            ("Relevé de compte.pdf", "application/pdf", PDF)
        ]
        assert await conn.fetchval("SELECT count(*) FROM intake.draft_files") == 0
    finally:
        await conn.close()


async def _count(database_url: str, table: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchval(f"SELECT count(*) FROM {table}")
    finally:
        await conn.close()
