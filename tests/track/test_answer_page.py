"""The body's answer on « Suivre une requête », in a real Chromium, the whole platform running: a
réclamation validated (over the broker), taken in charge, put on hold and resumed, answered with a
PDF by the focal point's actions (treatment's outbox → intake); the citizen reads « LECTURE DU
MESSAGE DE TRAITEMENT », downloads the document (the bytes the agent joined), is refused beside
the field, then says « Non satisfait » with a comment: recorded, its event on its way to
treatment. At 360 px, axe-core clean. The download is the citizen's only: a document id that is
not one of the request's answers', or a wrong email, gets nothing."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from playwright.async_api import expect

from services.treatment import actions
from services.treatment.settings import SETTINGS
from shared import french
from shared.messages import CitizenOpinionRecordedV1
from shared.service import POOL
from tests.browser import ARTIFACTS, axe_violations
from tests.front.conftest import PDF
from tests.staff.helpers import form_token, new_session
from tests.support import eventually, publish_event
from tests.track.conftest import STRICT, post_json, submit
from tests.track.test_tracking_page import _cell, _history, _open
from tests.treatment.conftest import AGENT, validated_event

ANSWER = "Votre remboursement a été viré le 3 février.\nLe reçu est joint."


async def _answered(stack, amqp_url: str, namespace: str, email: str) -> tuple[str, dict]:
    """A réclamation answered by the body with a PDF; (code, the document's reference)."""
    request_id, code = await submit(stack, email)
    await publish_event(amqp_url, namespace, validated_event(request_id=request_id, code=code))
    treatment = stack.apps["treatment"].app[POOL]
    intake = stack.apps["intake"].app[POOL]
    await eventually(lambda: treatment.fetchval("SELECT 1 FROM treatments WHERE code = $1", code))
    who = actions.Who(AGENT, "10.0.0.7")
    await actions.take_in_charge(treatment, code, who, version=None)
    await actions.put_on_hold(treatment, code, who, reason="Pièces demandées", version=None)
    await actions.resume(treatment, code, who, version=None)
    document = await actions.add_document(
        treatment, code, who, filename="reçu de virement.pdf", data=PDF
    )
    await actions.answer(
        treatment, code, who, message=ANSWER, document_ids=[document["document_id"]], version=None
    )

    async def treated():
        return await intake.fetchval(
            "SELECT true FROM request_history WHERE request_id = $1 AND event_type = $2",
            request_id,
            "request.treated",
        )

    await eventually(treated)
    return code, document


async def test_the_citizen_reads_the_answer_downloads_it_and_gives_an_opinion(
    relaxed_stack, page, amqp_url, namespace
):
    stack = relaxed_stack
    email = "aya.kouassi@example.ci"
    code, _ = await _answered(stack, amqp_url, namespace, email)

    await _open(page, stack.gateway, code, email)
    assert (await _cell(page, "Niveau d'avancement")).startswith("Traité le ")
    assert await _cell(page, "Message du ministère") == "Lire msg traitement"
    await page.get_by_role("link", name="Lire msg traitement").click()
    reading = page.locator("#lecture")
    await expect(
        reading.get_by_role("heading", name="LECTURE DU MESSAGE DE TRAITEMENT")
    ).to_be_visible()
    assert "Le reçu est joint." in await reading.locator("#answer-message").inner_text()
    assert re.fullmatch(
        r"Traité le \d\d/\d\d/\d{4} par l'organisme : .+",
        await reading.locator("#treated-on").inner_text(),
    )
    history = await _history(page)
    for said in (
        "Le point focal de l'organisme a pris en charge la requête.",
        "L'organisme a mis la requête en attente (voir le motif).",
        "L'organisme a repris le traitement de la requête.",
        "le ministère a répondu",
    ):
        assert any(said in line for line in history), (said, history)
    assert any("Pièces demandées" in line for line in history)

    # The document, downloaded: the very bytes the agent joined.
    button = reading.get_by_role("button", name=re.compile("Télécharger reçu de virement.pdf"))
    async with page.expect_download() as caught:
        await button.click()
    download = await caught.value
    assert download.suggested_filename == "reçu de virement.pdf"
    path = await download.path()
    assert path is not None and path.read_bytes() == PDF

    # At 360 px: nothing wider than the screen, axe-core clean.
    await page.set_viewport_size({"width": 360, "height": 800})
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=ARTIFACTS / "track-answer-360.png", full_page=True)
    assert await page.evaluate("() => document.documentElement.scrollWidth") <= 360
    assert await axe_violations(page) == []

    # « DONNER NOTRE AVIS … »: no opinion chosen, refused beside the field, the comment kept.
    await page.get_by_role(
        "link", name="DONNER NOTRE AVIS DE FIN OU RELANCER LA REQUETE SVP !"
    ).click()
    comment = page.get_by_role("textbox", name="Commentaire (facultatif)")
    await comment.fill("Le reçu ne porte pas le bon montant.")
    await page.get_by_role("button", name="Donner mon avis").click()
    await expect(page.locator("#err-opinion")).to_contain_text("Choisissez votre avis")
    assert await comment.input_value() == "Le reçu ne porte pas le bon montant."
    radio = page.get_by_role("radio", name="Non satisfait")
    assert await radio.get_attribute("aria-invalid") == "true"
    assert await axe_violations(page) == []

    # « Non satisfait » with the comment: recorded, the citizen told so.
    await radio.check()
    await page.get_by_role("button", name="Donner mon avis").click()
    await expect(page.locator("#notice")).to_contain_text("Votre avis a été enregistré")
    assert await page.get_by_role("button", name="Donner mon avis").count() == 0
    assert await axe_violations(page) == []
    intake = stack.apps["intake"].app[POOL]
    body = await intake.fetchval(
        "SELECT o.body FROM outbox o JOIN citizen_replies c ON c.id = o.message_id "
        "JOIN requests r ON r.id = c.request_id WHERE r.code = $1",
        code,
    )
    recorded = CitizenOpinionRecordedV1.model_validate(json.loads(body))
    assert (recorded.opinion.value, recorded.comment) == (
        "not_satisfied",
        "Le reçu ne porte pas le bon montant.",
    )
    # Treatment applies it (citizen.opinion_recorded through intake's outbox) and intake's view
    # follows request.opinion_given. Coming back later by the answer email's link
    # (services/notify: /suivre?code=…, the code filled in), the page shows the opinion given
    # and asks nothing more.
    await eventually(
        lambda: intake.fetchval(
            "SELECT true FROM request_history h JOIN requests r ON r.id = h.request_id "
            "WHERE r.code = $1 AND h.event_type = 'request.opinion_given'",
            code,
        )
    )
    await page.goto(f"{stack.gateway}/suivre?code={code}")
    assert await page.get_by_label("Code Requête").input_value() == code
    await page.get_by_label("Adresse e-mail ou numéro de mobile").fill(email)
    await page.get_by_role("button", name="Valider").click()
    await expect(page.locator("#lecture")).to_be_visible()
    assert await _cell(page, "Avis du citoyen") == "Non satisfait"
    assert await page.get_by_role("button", name="Donner mon avis").count() == 0
    assert await page.locator("#reply-recorded").count() == 0


async def test_only_the_right_code_and_email_download_a_document_of_the_answers(
    relaxed_stack, amqp_url, namespace
):
    stack = relaxed_stack
    email = "kone.ibrahim@example.ci"
    code, document = await _answered(stack, amqp_url, namespace, email)
    other_code, other = await _answered(stack, amqp_url, namespace, "yao.n@example.ci")
    async with new_session() as http:
        token = await form_token(http, stack.gateway + "/suivre")

        async def fetch(document_id: str, *, who: str = email, code_: str = code):
            form = {"csrf_token": token, "code": code_, "email": who, "document_id": document_id}
            async with http.post(stack.gateway + "/suivre/document", data=form) as resp:
                return resp.status, resp.headers, await resp.read()

        status, headers, data = await fetch(document["document_id"])
        assert (status, data) == (200, PDF)
        assert headers["Content-Disposition"].startswith("attachment;")
        assert headers["Cache-Control"] == "no-store"
        # Another request's document, with this request's code and email: nothing.
        status, headers, data = await fetch(other["document_id"])
        assert status == 404 and PDF not in data
        assert "no-store" in headers["Cache-Control"]
        # The right document with a wrong email: the look-up's refusal.
        status, _, data = await fetch(document["document_id"], who="x@example.ci")
        assert status == 404 and PDF not in data
        assert other_code != code

    # The public JSON API: « Relancer » recorded once for this answer.
    api = stack.gateway + "/api/v1/tracking"
    status, body, _ = await post_json(
        api + "/opinion", {"code": code, "email": email, "opinion": "ravi"}
    )
    assert (status, body["error"]) == (422, "validation_failed")
    status, body, _ = await post_json(
        api + "/reopen", {"code": code, "email": email, "message": "Rien."}
    )
    assert status == 202 and body["view"]["pending_reply"]["kind"] == "reopening"
    status, body, _ = await post_json(
        api + "/reopen", {"code": code, "email": email, "message": "Encore."}
    )
    assert (status, body["error"]) == (409, "already_reopened")


async def test_too_many_replies_get_the_french_message_and_retry_after(
    strict_stack, amqp_url, namespace
):
    stack = strict_stack
    email = "awa.kone@example.ci"
    code, _ = await _answered(stack, amqp_url, namespace, email)
    async with new_session() as http:
        token = await form_token(http, stack.gateway + "/suivre")
        form = {"csrf_token": token, "code": code, "email": email, "comment": "Sans avis."}
        # The right code and email never count toward the code's limit (failures only); every
        # attempt counts toward the address's (6 here).
        for _ in range(STRICT["tracking_per_client"]):
            async with http.post(stack.gateway + "/suivre/avis", data=form) as resp:
                assert resp.status == 422
                assert "Choisissez votre avis" in await resp.text()
        async with http.post(stack.gateway + "/suivre/avis", data=form) as resp:
            assert resp.status == 429
            assert int(resp.headers["Retry-After"]) > 0
            assert "Trop de tentatives. Réessayez dans" in await resp.text()


async def test_relancer_without_a_message_is_refused_beside_the_field_then_recorded(
    relaxed_stack, amqp_url, namespace
):
    stack = relaxed_stack
    email = "serge.bamba@example.ci"
    code, _ = await _answered(stack, amqp_url, namespace, email)
    async with new_session() as http:
        token = await form_token(http, stack.gateway + "/suivre")
        form = {"csrf_token": token, "code": code, "email": email, "message": "   "}
        async with http.post(stack.gateway + "/suivre/relancer", data=form) as resp:
            assert resp.status == 422
            page = await resp.text()
        assert re.search(r'<p class="error" id="err-relance">[^<]*pourquoi vous relancez', page)
        assert 'aria-invalid="true">   </textarea>' in page  # what was typed, kept
        form["message"] = "Le virement n'est jamais arrivé sur mon compte."
        async with http.post(stack.gateway + "/suivre/relancer", data=form) as resp:
            assert resp.status == 200
            page = await resp.text()
        assert "Votre requête a été relancée" in page
        assert 'action="/suivre/relancer"' not in page and 'action="/suivre/avis"' not in page
    body = (
        await stack.apps["intake"]
        .app[POOL]
        .fetchval(
            "SELECT o.body FROM outbox o JOIN citizen_replies c ON c.id = o.message_id "
            "JOIN requests r ON r.id = c.request_id WHERE r.code = $1",
            code,
        )
    )
    assert json.loads(body)["message"] == "Le virement n'est jamais arrivé sur mon compte."


async def test_the_citizen_is_told_until_when_to_give_an_opinion(
    relaxed_stack, page, amqp_url, namespace
):
    """The trial: the tracking page invited the opinion without saying that the request would be
    closed « sans retour » after a while. Now: « Donnez votre avis jusqu'au … », the day treatment's
    clock closes it (its setting here: ``no_opinion_days`` after the answer)."""
    stack = relaxed_stack
    email = "awa.traore@example.ci"
    code, _ = await _answered(stack, amqp_url, namespace, email)
    treatment = stack.apps["treatment"].app
    treated_at = await treatment[POOL].fetchval(
        "SELECT treated_at FROM treatments WHERE code = $1", code
    )
    until = french.until(treated_at + timedelta(days=treatment[SETTINGS].no_opinion_days))

    await _open(page, stack.gateway, code, email)
    said = page.locator("#avis-jusqu-au")
    await expect(said).to_contain_text(f"Donnez votre avis jusqu'au {until}")
    await page.set_viewport_size({"width": 360, "height": 800})
    await expect(said).to_be_visible()
    assert await page.evaluate("() => document.documentElement.scrollWidth") <= 360

    # « Donner mon avis » without an opinion chosen: the page again with the error, and the
    # date still said.
    await page.get_by_role("button", name="Donner mon avis").click()
    await expect(page.locator("#f-opinion-satisfied")).to_have_attribute("aria-invalid", "true")
    await expect(said).to_contain_text(f"Donnez votre avis jusqu'au {until}")
