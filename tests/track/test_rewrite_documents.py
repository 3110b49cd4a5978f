"""Issue 12's leftovers on « Suivre une requête », the whole platform running, in a real
Chromium at 360 px: a rewrite after a reformulation request may add documents (checked as the
submission form's: a file that is no PDF or image is refused beside the field, nothing rewritten);
the document then appears with the request on triage's page and reaches treatment with the
validation. The rewrite, opinion and reopen POSTs redirect (303) to the request's page: reloading
never resubmits, and the confirmation shows once."""

from __future__ import annotations

import re
import uuid

from playwright.async_api import expect

from shared.identity import Role
from shared.service import POOL
from tests.browser import axe_violations
from tests.front.conftest import PDF, zip_bytes
from tests.staff.helpers import create_account, sign_in
from tests.support import eventually
from tests.track.conftest import submit
from tests.track.test_answer_page import _answered
from tests.track.test_tracking_page import _cell, _history, _open

ANALYST_PASSWORD = "un mot de passe d'analyste"
ASKED = "Joignez la copie du reçu et précisez la date de votre visite."
REWRITTEN = "Au guichet du Plateau, le 3 février : le reçu est joint."


async def _status(stack, code: str) -> str:
    return (
        await stack.apps["intake"]
        .app[POOL]
        .fetchval("SELECT status FROM requests WHERE code = $1", code)
    )


async def test_a_rewrite_adds_a_document_that_triage_and_treatment_then_have(
    relaxed_stack, browser, database_url, tmp_path
):
    stack = relaxed_stack
    gateway = stack.gateway
    email = f"aya.{uuid.uuid4().hex[:6]}@example.ci"
    _, code = await submit(stack, email)
    login = f"analyste.{uuid.uuid4().hex[:6]}"
    await create_account(
        database_url, Role.ANALYST, login, ANALYST_PASSWORD, display_name="Awa KONÉ"
    )
    receipt = tmp_path / "reçu du guichet.pdf"
    receipt.write_bytes(PDF)
    fake = tmp_path / "facture.pdf"  # a ZIP archive named as a PDF
    fake.write_bytes(zip_bytes())

    analyst = await browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
    citizen = await browser.new_context(locale="fr-FR", viewport={"width": 360, "height": 800})
    try:
        staff = await analyst.new_page()
        await sign_in(staff, gateway, login, ANALYST_PASSWORD)

        async def in_the_queue():
            response = await staff.goto(f"{gateway}/admin/traitements/{code}")
            return response.status == 200

        await eventually(in_the_queue)
        await staff.get_by_text("Renvoyer pour reformulation", exact=True).click()
        await staff.get_by_label("Message à l'usager : ce qu'il doit reformuler").fill(ASKED)
        await staff.get_by_role("button", name="Renvoyer à l'usager").click()
        await staff.get_by_text("La requête est renvoyée à l'usager pour reformulation.").wait_for()
        await eventually(lambda: _is(stack, code, "reformulation_requested"))

        page = await citizen.new_page()
        await _open(page, gateway, code, email)
        assert await _cell(page, "Niveau d'avancement") == "Renvoyée pour reformulation"
        documents = page.get_by_label("Documents à joindre (facultatif)")
        await expect(documents).to_have_attribute("type", "file")
        assert await axe_violations(page) == []

        # A file that is no PDF or image: refused beside the field, nothing rewritten.
        await page.get_by_role("textbox", name="Votre message").fill(REWRITTEN)
        await documents.set_input_files([receipt, fake])
        await page.get_by_role("button", name="Modifier").click()
        error = page.locator("#err-attachments")
        await expect(error).to_contain_text("facture.pdf")
        assert await _status(stack, code) == "reformulation_requested"
        # The accepted one is kept, listed, sent with the next « Modifier »; the text kept.
        await expect(page.locator("ul.kept-files")).to_contain_text("reçu du guichet.pdf")
        assert await page.get_by_role("textbox", name="Votre message").input_value() == REWRITTEN
        assert "err-attachments" in (await documents.get_attribute("aria-describedby") or "")
        assert await axe_violations(page) == []

        # « Modifier »: 303 to the request's page, the confirmation said once.
        async with page.expect_navigation():
            await page.get_by_role("button", name="Modifier").click()
        assert page.url.endswith("/suivre/requete")
        await expect(page.locator("#notice")).to_contain_text("a bien été modifié")
        assert await _cell(page, "Niveau d'avancement") == "En attente de traitement"
        assert "Document ajouté : reçu du guichet.pdf." in (await _history(page))[-1]
        await page.reload()  # a GET: no « resubmit the form? », the notice not said again
        await page.locator("#status").wait_for()
        await expect(page.locator("#notice")).to_have_count(0)
        intake = stack.apps["intake"].app[POOL]
        assert (
            await intake.fetchval(
                """SELECT count(*) FROM request_history h JOIN requests r ON r.id = h.request_id
                   WHERE r.code = $1 AND h.event_type = 'request.resubmitted'""",
                code,
            )
            == 1
        )
        stored = await intake.fetch(
            """SELECT a.filename, a.content_type FROM attachments a
               JOIN requests r ON r.id = a.request_id WHERE r.code = $1""",
            code,
        )
        assert [tuple(r) for r in stored] == [("reçu du guichet.pdf", "application/pdf")]

        # Triage's request page lists it (citizen.documents_added), and it downloads.
        async def listed():
            await staff.goto(f"{gateway}/admin/traitements/{code}")
            return await staff.get_by_role("link", name=re.compile("reçu du guichet")).count()

        await eventually(listed)
        # Validated: treatment has it with the request.
        await staff.get_by_text("Valider la requête", exact=True).click()
        await staff.get_by_role("button", name="Valider", exact=True).click()
        await staff.get_by_text("La requête est validée.").wait_for()
        treatment = stack.apps["treatment"].app[POOL]

        async def with_treatment():
            raw = await treatment.fetchval(
                "SELECT attachments::text FROM treatments WHERE code = $1", code
            )
            return raw and "reçu du guichet.pdf" in raw

        await eventually(with_treatment)
    finally:
        await analyst.close()
        await citizen.close()


async def _is(stack, code: str, status: str) -> bool:
    return await _status(stack, code) == status


async def test_opinion_and_reopening_redirect_and_say_it_once(
    relaxed_stack, browser, amqp_url, namespace
):
    stack = relaxed_stack
    email = f"serge.{uuid.uuid4().hex[:6]}@example.ci"
    code, _ = await _answered(stack, amqp_url, namespace, email)
    context = await browser.new_context(locale="fr-FR", viewport={"width": 360, "height": 800})
    try:
        page = await context.new_page()
        await _open(page, stack.gateway, code, email)
        await page.get_by_role("textbox", name="Votre message de relance").fill(
            "Le virement n'est jamais arrivé sur mon compte."
        )
        async with page.expect_navigation():
            await page.get_by_role("button", name="Relancer").click()
        assert page.url.endswith("/suivre/requete")
        await expect(page.locator("#notice")).to_contain_text("Votre requête a été relancée")
        assert await axe_violations(page) == []
        await page.reload()
        await page.locator("#status").wait_for()
        await expect(page.locator("#notice")).to_have_count(0)
        replies = (
            await stack.apps["intake"]
            .app[POOL]
            .fetchval(
                """SELECT count(*) FROM citizen_replies c JOIN requests r ON r.id = c.request_id
               WHERE r.code = $1""",
                code,
            )
        )
        assert replies == 1
    finally:
        await context.close()


async def test_an_opinion_redirects(relaxed_stack, browser, amqp_url, namespace):
    stack = relaxed_stack
    email = f"awa.{uuid.uuid4().hex[:6]}@example.ci"
    code, _ = await _answered(stack, amqp_url, namespace, email)
    context = await browser.new_context(locale="fr-FR", viewport={"width": 360, "height": 800})
    try:
        page = await context.new_page()
        await _open(page, stack.gateway, code, email)
        await page.get_by_label("Satisfait", exact=True).check()
        async with page.expect_navigation():
            await page.get_by_role("button", name="Donner mon avis").click()
        assert page.url.endswith("/suivre/requete")
        await expect(page.locator("#notice")).to_contain_text("Votre avis a été enregistré")
        await page.reload()
        await page.locator("#status").wait_for()
        await expect(page.locator("#notice")).to_have_count(0)
    finally:
        await context.close()
