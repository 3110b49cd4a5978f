"""The focal point's request page in a real Chromium, on the whole platform in this process: a
réclamation validated by an analyst (triage's API), the body's focal point opens it, takes it in
charge with an acknowledgement email they edit (it arrives at the SMTP server as edited), puts it
on hold and resumes it, tries an empty « Message de fin traitement » (the error beside the field,
nothing written), joins a « PDF » that is no PDF (refused beside the field as a citizen's file
would be, the message kept), then answers with a real PDF (« prévenu par email à … », the
answer email with its text and the tracking link). Checked with axe at each step and at 360 px."""

from __future__ import annotations

import csv
import io
from email.header import decode_header, make_header

import asyncpg
from playwright.async_api import expect

from shared import attachments
from shared.identity import Role
from tests.browser import ARTIFACTS, axe_violations
from tests.staff.helpers import create_account, sign_in
from tests.support import eventually
from tests.treatment.pages import BODY, PDF, validated_reclamation

PASSWORD = "koffi traite les réclamations"
CITIZEN = "aya.kouassi@example.ci"
# What a PDF's name and first bytes promise, and a web page after them.
NOT_A_PDF = b"%PDF-1.7\n<html><script>alert('bonjour')</script></html>\n"


async def _fits(page, width: int = 360) -> bool:
    await page.set_viewport_size({"width": width, "height": 740})
    fits = await page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")
    await page.set_viewport_size({"width": 1280, "height": 900})
    return fits


def _subject(mail) -> str:
    return str(make_header(decode_header(mail["Subject"])))


async def _written(database_url: str, code: str) -> tuple[int, int]:
    """(answers, history lines) treatment holds for ``code``."""
    conn = await asyncpg.connect(database_url)
    try:
        return (
            await conn.fetchval(
                "SELECT count(*) FROM treatment.answers JOIN treatment.treatments t"
                " USING (request_id) WHERE t.code = $1",
                code,
            ),
            await conn.fetchval(
                "SELECT count(*) FROM treatment.history JOIN treatment.treatments t"
                " USING (request_id) WHERE t.code = $1",
                code,
            ),
        )
    finally:
        await conn.close()


async def test_a_focal_point_takes_holds_resumes_and_answers_a_reclamation(
    stack, database_url, page, smtp_server
):
    gateway = stack.gateway
    await create_account(database_url, Role.FOCAL_POINT, "koffi.yao", PASSWORD, BODY, "Koffi YAO")
    code = await validated_reclamation(stack, email=CITIZEN)
    try:
        await sign_in(page, gateway, "koffi.yao", PASSWORD)
        await page.goto(f"{gateway}/admin/requetes/{code}")
        await page.get_by_role("heading", name="Formulaire De Traitement De Requête").wait_for()
        assert "Le guichet des passeports est fermé" in await page.locator("main").inner_text()
        assert await axe_violations(page) == []
        assert await _fits(page)

        # « Prendre en compte », with the acknowledgement email as the agent rewrites it.
        subject = page.get_by_label("Objet du courriel")
        assert code in await subject.input_value()
        await subject.fill("Votre réclamation est entre les mains du ministère")
        await page.get_by_label("Texte du courriel").fill(
            "Madame, nous avons bien reçu votre réclamation et nous la traitons."
        )
        await page.locator("form[action$='/prendre-en-compte'] button").click()
        await expect(page.locator("#resultat")).to_have_text(
            "La requête est prise en compte. L'accusé de réception est envoyé à l'usager."
        )
        await expect(page.locator("#statut")).to_have_text("En cours de traitement")
        assert "Prise en compte (Koffi YAO)" in await page.locator("ol.history").inner_text()
        assert await axe_violations(page) == []

        async def acknowledged():
            mails = smtp_server.to(CITIZEN)
            found = [
                m
                for m in mails
                if _subject(m) == "Votre réclamation est entre les mains du ministère"
            ]
            return found or None

        [ack] = await eventually(acknowledged)
        assert "nous la traitons" in ack.get_body(("plain",)).get_content()

        # « Mettre en attente » with its reason, then « Reprendre ».
        await page.locator("summary", has_text="Mettre en attente").click()
        await page.get_by_label("Motif de la mise en attente").fill(
            "Nous attendons le registre du centre d'état civil."
        )
        await page.locator("form[action$='/mettre-en-attente'] button").click()
        await expect(page.locator("#resultat")).to_have_text("La requête est mise en attente.")
        await expect(page.locator("#statut")).to_contain_text("Mise en attente depuis le")
        assert await axe_violations(page) == []
        await page.get_by_role("button", name="Reprendre").click()
        await expect(page.locator("#resultat")).to_have_text("Le traitement de la requête reprend.")
        await expect(page.locator("#statut")).to_have_text("En cours de traitement")

        # An empty « Message de fin traitement »: said beside the field, nothing written.
        before = await _written(database_url, code)
        await page.get_by_role("button", name="Répondre avec envoi de mail").click()
        error = page.locator("#err-repondre-message")
        await expect(error).to_have_text("Écrivez le message de fin de traitement.")
        message = page.get_by_label("Message de fin traitement")
        assert await message.get_attribute("aria-describedby") == "err-repondre-message"
        assert await _written(database_url, code) == before
        assert await axe_violations(page) == []
        assert await _fits(page)

        # A « PDF » whose bytes are a web page: inspected as a citizen's file is, refused beside
        # the field, the message typed kept, nothing written.
        said = "Votre passeport est prêt : retirez-le au guichet 3 dès lundi."
        await message.fill(said)
        await page.get_by_label("Joindre un document").set_input_files(
            files=[{"name": "convocation.pdf", "mimeType": "application/pdf", "buffer": NOT_A_PDF}]
        )
        await page.get_by_role("button", name="Répondre avec envoi de mail").click()
        error = page.locator("#err-repondre-document")
        await expect(error).to_have_text(
            attachments.problem(attachments.PDF_UNREADABLE, "convocation.pdf")
        )
        document = page.get_by_label("Joindre un document")
        assert "err-repondre-document" in await document.get_attribute("aria-describedby")
        await expect(message).to_have_value(said)
        assert await _written(database_url, code) == before
        assert await axe_violations(page) == []

        # The answer with a PDF.
        await document.set_input_files(
            files=[{"name": "convocation.pdf", "mimeType": "application/pdf", "buffer": PDF}]
        )
        await page.get_by_role("button", name="Répondre avec envoi de mail").click()
        await expect(page.locator("#resultat")).to_contain_text(
            "L'usager en est prévenu par email à"
        )
        answers = page.locator("section[aria-labelledby=reponses-titre]")
        await expect(answers).to_contain_text("retirez-le au guichet 3")
        await expect(answers.get_by_role("link", name="convocation.pdf")).to_be_visible()
        await expect(page.locator("#statut")).to_contain_text("avis attendu")
        assert (
            await page.get_by_role("heading", name="Formulaire De Traitement De Requête").count()
            == 0
        )
        assert await axe_violations(page) == []
        assert await _fits(page)

        async def answered():
            found = [m for m in smtp_server.to(CITIZEN) if "a été traitée" in _subject(m)]
            return found or None

        [mail] = await eventually(answered)
        text = mail.get_body(("plain",)).get_content()
        assert "Votre passeport est prêt : retirez-le au guichet 3 dès lundi." in text
        assert f"{gateway}/suivre?code={code}" in text
    except BaseException:
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "treatment-request.png"), full_page=True)
        raise


async def test_a_document_joined_to_an_answer_without_its_message_stays_joined(
    stack, database_url, page
):
    """The agent chooses the PDF, forgets the « Message de fin traitement » and clicks: the
    error asks for the message, and the document is still joined (« Déjà joint : … ») — not to
    be looked for again on their disk; the answer then sent carries it. Seen lost in a trial
    (« Un document choisi avant doit être choisi à nouveau. »)."""
    gateway = stack.gateway
    await create_account(database_url, Role.FOCAL_POINT, "koffi.yao", PASSWORD, BODY, "Koffi YAO")
    code = await validated_reclamation(stack, email=CITIZEN)
    await sign_in(page, gateway, "koffi.yao", PASSWORD)
    await page.goto(f"{gateway}/admin/requetes/{code}")
    await page.get_by_label("Joindre un document").set_input_files(
        files=[{"name": "convocation.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    await page.get_by_role("button", name="Répondre avec envoi de mail").click()
    await expect(page.locator("#err-repondre-message")).to_have_text(
        "Écrivez le message de fin de traitement."
    )
    form = page.locator("form[action$='/repondre']")
    await expect(form).to_contain_text("Déjà joint : convocation.pdf")
    await expect(form).not_to_contain_text("doit être choisi à nouveau")
    assert await _written(database_url, code) == (0, 1)  # the validation's line only
    assert await axe_violations(page) == []

    await page.get_by_label("Message de fin traitement").fill("Votre convocation est jointe.")
    await page.get_by_role("button", name="Répondre avec envoi de mail").click()
    await expect(page.locator("#resultat")).to_contain_text("L'usager en est prévenu par email à")
    answers = page.locator("section[aria-labelledby=reponses-titre]")
    await expect(answers.get_by_role("link", name="convocation.pdf")).to_be_visible()


async def _idle(database_url: str) -> None:
    """Every staff session's idle clock run out, as 30 minutes on a page would."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "UPDATE gateway.staff_sessions SET last_seen_at = now() - interval '2 hours'"
        )
    finally:
        await conn.close()


async def test_an_answer_posted_after_the_session_ended_is_given_back_not_lost(
    stack, database_url, page
):
    """The agent writes a long answer, slowly: the session ends (30 minutes without a page)
    before they click. Nothing is sent; the sign-in page says why, gives their text back to
    copy, and leads back to the request, not to the dashboard. Seen in a trial: the text was
    gone and the agent landed on « Tableau de bord »."""
    gateway = stack.gateway
    await create_account(database_url, Role.FOCAL_POINT, "koffi.yao", PASSWORD, BODY, "Koffi YAO")
    code = await validated_reclamation(stack, email=CITIZEN)
    await sign_in(page, gateway, "koffi.yao", PASSWORD)
    await page.goto(f"{gateway}/admin/requetes/{code}")
    said = "Madame, après vérification auprès du Trésor, votre virement part ce vendredi."
    await page.get_by_label("Message de fin traitement").fill(said)
    await _idle(database_url)
    await page.get_by_role("button", name="Répondre avec envoi de mail").click()

    await expect(page.get_by_role("heading", name="Connectez-vous")).to_be_visible()
    await expect(page.locator("main")).to_contain_text("Votre session a pris fin")
    kept = page.get_by_label("Votre texte, non envoyé")
    await expect(kept).to_have_value(said)
    assert await _written(database_url, code) == (0, 1)
    assert await axe_violations(page) == []
    assert await _fits(page)
    await page.get_by_label("Login").fill("koffi.yao")
    await page.get_by_label("Mot de passe").fill(PASSWORD)
    await page.get_by_role("button", name="Se connecter").click()
    await page.get_by_role("heading", name="Formulaire De Traitement De Requête").wait_for()
    assert page.url.endswith(f"/admin/requetes/{code}")

    # The reason of « Mettre en attente » (sent to the citizen, maybe long) likewise.
    await page.locator("summary", has_text="Mettre en attente").click()
    reason = "Nous attendons le relevé du Trésor, demandé ce jour par courrier officiel."
    await page.get_by_label("Motif de la mise en attente").fill(reason)
    await _idle(database_url)
    await page.locator("form[action$='/mettre-en-attente'] button").click()
    await expect(page.get_by_label("Votre texte, non envoyé")).to_have_value(reason)
    assert await _written(database_url, code) == (0, 1)


async def test_a_request_answered_without_prendre_en_compte_names_who_answered_it(
    stack, database_url, page
):
    """The trial's focal point answered straight away, as Miliê's guide shows (« traiter »,
    then « Répondre avec envoi de mail »): the page then said « Pris en compte par : Personne
    pour le moment » under « Traité — avis attendu ». Answering takes the request in charge
    for the one answering: their page, their history and the « Avis attendus » list name them."""
    gateway = stack.gateway
    await create_account(database_url, Role.FOCAL_POINT, "koffi.yao", PASSWORD, BODY, "Koffi YAO")
    code = await validated_reclamation(stack, email=CITIZEN)
    await sign_in(page, gateway, "koffi.yao", PASSWORD)
    await page.goto(f"{gateway}/admin/requetes/{code}")
    await page.get_by_label("Message de fin traitement").fill("Votre passeport est prêt.")
    await page.get_by_role("button", name="Répondre avec envoi de mail").click()
    await expect(page.locator("#resultat")).to_have_text(
        f"La réponse est enregistrée. L'usager en est prévenu par email à {CITIZEN}."
    )
    held = page.locator("dt:text-is('Pris en compte par') + dd")
    await expect(held).to_have_text("Koffi YAO")
    history = page.locator("section[aria-labelledby=historique-titre]")
    await expect(history).to_contain_text("Prise en compte")
    assert await axe_violations(page) == []

    # The « Avis attendus » list's export names them in its « Pris en compte par » column.
    export = f"{gateway}/admin/pf/consultations/export.csv?liste=avis-attendus"
    response = await page.request.get(export)
    assert response.status == 200
    rows = list(
        csv.DictReader(io.StringIO((await response.body()).decode("utf-8-sig")), delimiter=";")
    )
    (row,) = [r for r in rows if code in "".join(r.values())]
    assert row["Pris en compte par"] == "Koffi YAO"
