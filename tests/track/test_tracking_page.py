"""« Suivre une requête » in a real Chromium: the guide's table, the history, the steps; the
triage events moving what the page shows; « Modifier » after a reformulation request."""

from __future__ import annotations

import html
import uuid
from datetime import timedelta

import aio_pika
from playwright.async_api import expect

from shared.codes import grouped
from shared.messages import (
    RequestClarificationSentV1,
    RequestReformulationRequestedV1,
    RequestReindexedV1,
    RequestRejectedV1,
    RequestResubmittedV1,
    RequestValidatedV1,
)
from shared.topology import EVENTS, Topology
from tests.browser import ARTIFACTS, axe_violations
from tests.support import eventually, publish_event
from tests.track.conftest import ANALYST, applied, now, submit


async def _open(page, gateway: str, code: str, email: str) -> None:
    await page.goto(gateway + "/suivre")
    await page.get_by_label("Code Requête").fill(code)
    await page.get_by_label("Adresse e-mail ou numéro de mobile").fill(email)
    await page.get_by_role("button", name="Valider").click()
    await page.locator("#status").wait_for()


async def _cell(page, row_header: str) -> str:
    row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=row_header))
    return (await row.get_by_role("cell").inner_text()).strip()


async def _history(page) -> list[str]:
    return [t.strip() for t in await page.locator("ol.history > li").all_inner_texts()]


async def _test_queue(amqp_url: str, namespace: str, routing_key: str):
    """A queue of the test's own on the events exchange (the broker deletes it with the
    connection)."""
    connection = await aio_pika.connect(amqp_url)
    channel = await connection.channel()
    exchange = await channel.declare_exchange(
        Topology(namespace).exchange(EVENTS), aio_pika.ExchangeType.TOPIC, durable=True
    )
    queue = await channel.declare_queue(exclusive=True)
    await queue.bind(exchange, routing_key=routing_key)
    return connection, queue


async def test_tracking_shows_the_table_history_and_steps_and_follows_triage(
    relaxed_stack, page, intake_db, amqp_url, namespace
):
    stack = relaxed_stack
    email = "aya.kouassi@example.ci"
    request_id, code = await submit(
        stack, email, message="L'accueil est décevant.\nLa file d'attente est longue."
    )

    await _open(page, stack.gateway, code, email.upper())
    assert await _cell(page, "Code") == grouped(code)
    assert await _cell(page, "Nature") == "Réclamation"
    assert await _cell(page, "Thème") == "ACCUEIL : Espace d'accueil"
    assert await _cell(page, "Niveau d'avancement") == "En attente de traitement"
    assert await _cell(page, "Message du ministère") == "Aucun"
    assert await _cell(page, "Réponse de l'analyste") == "Aucune"
    today = now()
    assert await _cell(page, "Date de saisie") == f"{today.day:02d}/{today.month:02d}/{today.year}"
    # « Lire »: the whole message, without JavaScript (<details>), line breaks kept.
    message = page.locator("#message")
    assert not await message.get_by_text("La file d'attente est longue.").is_visible()
    await message.get_by_text("Lire").click()
    assert await message.get_by_text("La file d'attente est longue.").is_visible()
    assert "Vous avez soumis la requête" in (await _history(page))[0]
    current = page.locator("ol.steps > li[aria-current=step]")
    assert "Etape 1 : Attente de traitement" in await current.inner_text()
    assert await page.get_by_role("heading", name="Comprendre les étapes de traitement").count()
    assert await page.locator("#modifier").count() == 0  # nothing to rewrite
    assert await page.evaluate("() => document.documentElement.scrollWidth") <= 1280  # no overflow
    assert await axe_violations(page) == []

    # The analyst sends it back: the status, the analyst's message and « Modifier » appear.
    reformulation = RequestReformulationRequestedV1(
        request_id=request_id,
        code=code,
        analyst_message="Précisez le service concerné et la date de votre visite.",
        actor=ANALYST,
        decided_at=now(),
    )
    sent = await publish_event(amqp_url, namespace, reformulation)
    await applied(intake_db, sent)
    # Delivered again (same message id) and applied once.
    await publish_event(amqp_url, namespace, reformulation, message_id=sent)
    connection, resubmissions = await _test_queue(amqp_url, namespace, "request.resubmitted")
    try:
        await _open(page, stack.gateway, code, email)
        assert await _cell(page, "Niveau d'avancement") == "Renvoyée pour reformulation"
        assert "Précisez le service concerné" in await page.locator("#analyst-message").inner_text()
        await page.set_viewport_size({"width": 360, "height": 800})
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=ARTIFACTS / "track-reformulation-360.png", full_page=True)
        assert await page.evaluate("() => document.documentElement.scrollWidth") <= 360
        assert await axe_violations(page) == []

        # « Modifier »: an empty message is refused beside the field, the typed value kept…
        field = page.get_by_role("textbox", name="Votre message")
        assert await field.input_value() == (
            "L'accueil est décevant.\nLa file d'attente est longue."
        )
        assert "aria-describedby" in await field.evaluate("e => e.outerHTML")
        await field.fill("   ")
        await page.get_by_role("button", name="Modifier").click()
        await page.locator("#err-message").wait_for()
        # The error summary the other forms have: its heading, then a link to the field.
        errors = page.get_by_role("alert").filter(has_text="Veuillez corriger")
        await expect(errors.get_by_role("heading")).to_have_text(
            "Veuillez corriger l’erreur ci-dessous"
        )
        await expect(errors.get_by_role("link")).to_have_attribute("href", "#f-message")
        await expect(errors.get_by_role("link")).to_contain_text("Votre message : ")
        assert await field.get_attribute("aria-invalid") == "true"
        assert "err-message" in (await field.get_attribute("aria-describedby") or "")
        assert await axe_violations(page) == []
        # … then the rewritten one goes back to the analysts.
        rewritten = "Au guichet des passeports du Plateau, le 3 février : 4 heures d'attente."
        await field.fill(rewritten)
        await page.get_by_role("button", name="Modifier").click()
        await page.locator("#notice").wait_for()
        assert "a bien été modifié" in await page.locator("#notice").inner_text()
        assert await _cell(page, "Niveau d'avancement") == "En attente de traitement"
        assert await page.locator("#modifier").count() == 0
        history = await _history(page)
        assert sum("vous demande de reformuler" in line for line in history) == 1
        assert "Précisez le service concerné" in history[1]
        assert "Vous avez reformulé votre message" in history[2]

        message = await resubmissions.get(timeout=30)
        assert message.type == RequestResubmittedV1.type_name()
        event = RequestResubmittedV1.model_validate_json(message.body)
        assert (event.request_id, event.code, event.message) == (request_id, code, rewritten)
        await applied(intake_db, message.message_id)  # intake's own event came back: no-op
    finally:
        await connection.close()
    assert await intake_db.fetchval("SELECT message FROM requests WHERE id = $1", request_id) == (
        rewritten
    )
    await page.set_viewport_size({"width": 1280, "height": 900})

    # Re-indexed, then validated: the body and theme shown, « En cours de traitement », step 2.
    reindexed = RequestReindexedV1(
        request_id=request_id,
        code=code,
        body_id="ministere-interieur",
        body_name="Ministère de l'Intérieur et de la Sécurité",
        theme_id="accueil-agent",
        theme_label="ACCUEIL : Problème avec agent d'accueil",
        previous_body_id="ministere-budget",
        previous_theme_id="accueil-espace",
        actor=ANALYST,
        decided_at=now(),
    )
    await applied(intake_db, await publish_event(amqp_url, namespace, reindexed))
    validated = RequestValidatedV1(
        request_id=request_id,
        code=code,
        nature="reclamation",
        needs_treatment=True,
        body_id=reindexed.body_id,
        body_name=reindexed.body_name,
        theme_id=reindexed.theme_id,
        theme_label=reindexed.theme_label,
        message=rewritten,
        contact={"email": email},
        submitted_at=now(),
        actor=ANALYST,
        decided_at=now(),
    )
    await applied(intake_db, await publish_event(amqp_url, namespace, validated))
    # A reformulation request decided before the validation, delivered late: history only.
    late = reformulation.model_copy(update={"decided_at": validated.decided_at - timedelta(1)})
    await applied(intake_db, await publish_event(amqp_url, namespace, late))

    await _open(page, stack.gateway, code, email)
    assert await _cell(page, "Niveau d'avancement") == "En cours de traitement"
    assert await _cell(page, "Organisme public") == "Ministère de l'Intérieur et de la Sécurité"
    assert await _cell(page, "Thème") == "ACCUEIL : Problème avec agent d'accueil"
    current = page.locator("ol.steps > li[aria-current=step]")
    assert "Etape 2 : En cours de traitement" in await current.inner_text()
    history = await _history(page)
    assert any("a réorienté la requête" in line for line in history)
    assert any("recevable et l'a transmise" in line for line in history)

    # A clarification: « Réponse de l'analyste » (« Lire le retour »).
    clarification = RequestClarificationSentV1(
        request_id=request_id,
        code=code,
        message="Le service des passeports ouvre désormais à 7 h 30.",
        actor=ANALYST,
        sent_at=now(),
    )
    await applied(intake_db, await publish_event(amqp_url, namespace, clarification))
    await _open(page, stack.gateway, code, email)
    answer = page.locator("#analyst-answer")
    await answer.get_by_text("Lire le retour").click()
    assert "ouvre désormais à 7 h 30" in await answer.inner_text()
    assert await axe_violations(page) == []
    await page.screenshot(path=ARTIFACTS / "track-in-treatment-1280.png", full_page=True)


async def test_rejected_and_acknowledged_requests_and_rewriting_only_when_asked(
    relaxed_stack, page, intake_db, amqp_url, namespace
):
    stack = relaxed_stack
    email = f"awa.{uuid.uuid4().hex[:6]}@example.ci"
    rejected_id, rejected_code = await submit(stack, email)
    suggestion_id, suggestion_code = await submit(stack, email, nature="suggestion")

    rejected = RequestRejectedV1(
        request_id=rejected_id,
        code=rejected_code,
        reason="Cette requête relève d'une décision de justice.",
        actor=ANALYST,
        decided_at=now(),
    )
    await applied(intake_db, await publish_event(amqp_url, namespace, rejected))
    await _open(page, stack.gateway, rejected_code, email)
    assert await _cell(page, "Niveau d'avancement") == "Clôturée : requête non recevable"
    assert "relève d'une décision de justice" in await _cell(page, "Réponse de l'analyste")
    assert await page.locator("#modifier").count() == 0

    # A rewrite posted for a request that does not wait for one gets a clear message.
    # The form: a mistyped code is said beside the field, linked to it, the values kept.
    await page.goto(stack.gateway + "/suivre")
    assert await axe_violations(page) == []
    mistyped = rejected_code[:-1] + str((int(rejected_code[-1]) + 1) % 10)
    await page.get_by_label("Code Requête").fill(mistyped)
    await page.get_by_label("Adresse e-mail ou numéro de mobile").fill(email)
    await page.get_by_role("button", name="Valider").click()
    error = page.locator("#err-code")
    assert "semble erroné" in await error.inner_text()  # the check digit: one digit is wrong
    code_field = page.get_by_label("Code Requête")
    assert await code_field.input_value() == mistyped
    assert "err-code" in (await code_field.get_attribute("aria-describedby") or "")
    assert await page.get_by_label("Adresse e-mail ou numéro de mobile").input_value() == email
    assert await axe_violations(page) == []
    token = await page.locator("input[name=csrf_token]").first.input_value()
    response = await page.request.post(
        stack.gateway + "/suivre/modifier",
        form={"csrf_token": token, "code": rejected_code, "email": email, "message": "Nouveau"},
    )
    assert response.status == 409
    assert "n'attend pas de reformulation" in html.unescape(await response.text())
    assert await intake_db.fetchval("SELECT status FROM requests WHERE id = $1", rejected_id) == (
        "rejected"
    )
    # Without its CSRF token, the form is refused: a page of the site leads back to the form.
    response = await page.request.post(
        stack.gateway + "/suivre/modifier",
        form={"code": rejected_code, "email": email, "message": "Nouveau"},
        headers={"Referer": stack.gateway + "/suivre?code=" + rejected_code},
    )
    assert response.status == 403
    refusal = html.unescape(await response.text())
    assert "<h1>Formulaire expiré ou invalide</h1>" in refusal
    assert f'href="/suivre?code={rejected_code}"' in refusal
    # From another site, the way back is the home page, not that site.
    response = await page.request.post(
        stack.gateway + "/suivre/modifier",
        form={"code": rejected_code, "email": email, "message": "Nouveau"},
        headers={"Referer": "https://ailleurs.example/suivre"},
    )
    assert response.status == 403
    assert 'href="/"' in html.unescape(await response.text()).split("<main", 1)[1]

    # A suggestion validated is read and forwarded, not treated.
    validated = RequestValidatedV1(
        request_id=suggestion_id,
        code=suggestion_code,
        nature="suggestion",
        needs_treatment=False,
        body_id="ministere-budget",
        body_name="Ministère du budget et du Portefeuille de l'Etat",
        message="L'accueil est décevant, la file d'attente est longue.",
        contact={"email": email},
        submitted_at=now(),
        actor=ANALYST,
        decided_at=now(),
    )
    await applied(intake_db, await publish_event(amqp_url, namespace, validated))
    await _open(page, stack.gateway, suggestion_code, email)
    assert await _cell(page, "Niveau d'avancement") == "Lue et transmise à l'organisme"
    assert any("a lu la requête et l'a transmise" in line for line in await _history(page))

    # An event about a request intake does not know is acknowledged, not dead-lettered.
    stranger = rejected.model_copy(update={"request_id": uuid.uuid4()})
    mid = await publish_event(amqp_url, namespace, stranger)
    await _wait_inbox(intake_db, mid)
    assert not await intake_db.fetchval(
        "SELECT true FROM request_history WHERE event_key = $1", mid
    )


async def _wait_inbox(conn, message_id: str) -> None:
    async def probe():
        return await conn.fetchval(
            "SELECT true FROM inbox WHERE message_id = $1", uuid.UUID(message_id)
        )

    await eventually(probe)
