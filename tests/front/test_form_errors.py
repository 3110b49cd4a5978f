"""Bad input on « Exprimez votre préoccupation », in a real Chromium without JavaScript: each fault
gets its French message beside its field (linked by aria-describedby), every typed value stays,
a file already accepted stays attached, and nothing is stored until the citizen confirms."""

from __future__ import annotations

import asyncpg

from shared import attachments as files
from tests.front.conftest import PDF, PNG, big_pdf, zip_bytes
from tests.front.pages import (
    BUDGET_NAME,
    choose_nature_and_body,
    fill_form,
    new_page,
    screenshots,
    submit_form,
)

MESSAGE = "Ouvrir le guichet le samedi matin rendrait service aux travailleurs."


async def _error_of(page, field: str) -> str:
    """The error beside ``field``, checked to be the one its input points to."""
    control = page.locator(f"#f-{field}")
    assert await control.get_attribute("aria-invalid") == "true"
    assert f"err-{field}" in (await control.get_attribute("aria-describedby")).split()
    return await page.locator(f"#err-{field}").inner_text()


async def _kept(page, **expected: str) -> None:
    for label, value in expected.items():
        assert await page.locator(f"#f-{label}").input_value() == value, label


async def _draft_files(database_url: str) -> list[str]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT filename FROM intake.draft_files ORDER BY added_at")
        return [r["filename"] for r in rows]
    finally:
        await conn.close()


async def test_each_fault_gets_its_french_message_and_the_typed_values_stay(
    stack, browser, database_url, tmp_path
):
    big = tmp_path / "gros-scan.pdf"
    big.write_bytes(big_pdf(6 * 1024 * 1024))
    fake = tmp_path / "facture.pdf"
    fake.write_bytes(zip_bytes())
    good = tmp_path / "attestation.pdf"
    good.write_bytes(PDF)
    photo = tmp_path / "guichet.png"
    photo.write_bytes(PNG)

    context, page = await new_page(browser, javascript=False)
    try:
        await choose_nature_and_body(page, stack.gateway, "Suggestion", "budget", BUDGET_NAME)

        # Missing fields: message, a mobile number or an email, terms — all said at once, in
        # French; the rule for the number and the email beside each of them.
        await page.get_by_label("Nom", exact=True).fill("KONÉ")
        await page.get_by_label("Prénoms").fill("Mamadou")
        await submit_form(page)
        await page.get_by_role(
            "heading", name="Veuillez corriger les erreurs ci-dessous"
        ).wait_for()
        assert await _error_of(page, "message") == "Ce champ est obligatoire."
        either = "Indiquez votre numéro de mobile ou votre email : au moins l'un des deux."
        assert await _error_of(page, "phone") == either
        assert await _error_of(page, "email") == either
        assert "conditions d'utilisation" in await _error_of(page, "terms_accepted")
        await _kept(page, last_name="KONÉ", first_names="Mamadou", nature="suggestion")
        await screenshots(page, "08-formulaire-erreurs")

        # A bad telephone number for the chosen country; a good file sent with it is kept.
        await fill_form(
            page,
            message=MESSAGE,
            last_name="KONÉ",
            first_names="Mamadou",
            phone="12345",
            email="mamadou@example.ci",
            files=[good],
        )
        await submit_form(page)
        await page.locator("#err-phone").wait_for()
        assert await _error_of(page, "phone") == (
            "Ce numéro n'est pas un numéro valide pour le pays choisi (indicatif +225)."
        )
        await _kept(
            page,
            phone="12345",
            message=MESSAGE,
            email="mamadou@example.ci",
            place_id="abidjan-plateau",
            theme_id="accueil-espace",
            last_name="KONÉ",
        )
        assert await page.get_by_label("J'accepte").is_checked()
        assert await page.get_by_text("attestation.pdf").count() == 1  # « Fichiers déjà joints »
        assert await _draft_files(database_url) == ["attestation.pdf"]

        # A 6 Mo file: refused beside the file input, read no further than 5 Mo + 1 byte.
        await page.get_by_label("Téléphone portable").fill("07 07 12 34 56")
        await page.get_by_label("Pièces jointes").set_input_files([big])
        await submit_form(page)
        await page.locator("#err-attachments").wait_for()
        assert await _error_of(page, "attachments") == "Le fichier « gros-scan.pdf » dépasse 5 Mo."
        await _kept(page, phone="07 07 12 34 56", message=MESSAGE, email="mamadou@example.ci")
        assert await _draft_files(database_url) == ["attestation.pdf"]
        await screenshots(page, "09-formulaire-fichier-trop-gros")

        # A ZIP named facture.pdf: judged by its bytes, not its name.
        await page.get_by_label("Pièces jointes").set_input_files([fake])
        await submit_form(page)
        await page.locator("#err-attachments").wait_for()
        assert await _error_of(page, "attachments") == (
            "Le fichier « facture.pdf » n'est ni un document PDF ni une image JPEG ou PNG."
        )
        await _kept(page, phone="07 07 12 34 56", message=MESSAGE, last_name="KONÉ")
        assert await _draft_files(database_url) == ["attestation.pdf"]

        # Fixed: one more (real) image, and the first file removed; then confirmed.
        await page.get_by_label("Pièces jointes").set_input_files([photo])
        await page.get_by_label("Retirer « attestation.pdf »").check()
        await submit_form(page)
        await page.get_by_role(
            "heading", name="Êtes-vous sûr de vouloir soumettre ces informations ?"
        ).wait_for()
        recap = await page.locator(".recap").inner_text()
        assert "guichet.png" in recap and "attestation.pdf" not in recap
        assert "KONÉ" in recap and "Suggestion" in recap
        await page.get_by_role("button", name="Envoyer ma requête").click()
        await page.get_by_text("Votre Suggestion a bien été enregistrée.").wait_for()
    finally:
        await context.close()

    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT filename, content_type, size FROM intake.attachments")
        assert [tuple(r) for r in rows] == [("guichet.png", "image/png", len(PNG))]
        assert await conn.fetchval("SELECT count(*) FROM intake.draft_files") == 0
        assert await conn.fetchval("SELECT count(*) FROM intake.requests") == 1
    finally:
        await conn.close()
    assert files.MAX_BYTES < 6 * 1024 * 1024
