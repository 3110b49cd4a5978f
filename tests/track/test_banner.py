"""« Suivre une requête » says what to do next, first: at 360 px, in a real Chromium, the banner
above the table in each state (waiting, reformulation asked, rejected, forwarded, in treatment,
answered) with the date due and the action leading straight to its form, « Comprendre les
étapes » marking the right step, axe-core clean; the code in groups of digits, the address
masked; the form's POST redirected so that reloading does not post again, the code and email
kept out of the URL."""

from __future__ import annotations

import re
import uuid

from playwright.async_api import expect

from services.intake.tracking.view import ADMISSIBILITY_DAYS
from shared import french
from shared.codes import grouped
from shared.messages import (
    RequestReformulationRequestedV1,
    RequestRejectedV1,
    RequestValidatedV1,
)
from shared.working_days import calendar, day_of
from tests.browser import ARTIFACTS, axe_violations
from tests.support import eventually, publish_event
from tests.track.conftest import ANALYST, applied, now, submit
from tests.track.test_answer_page import _answered
from tests.track.test_tracking_page import _cell, _open
from tests.treatment.conftest import validated_event

PHONE = {"width": 360, "height": 800}


async def _banner_first(page, name: str) -> None:
    """The banner, named by the state, sits above the request's table; nothing overflows."""
    banner = page.locator("#prochaine-etape")
    await expect(banner.get_by_role("heading", name=name)).to_be_visible()
    assert (await banner.bounding_box())["y"] < (
        await page.locator("table.request").bounding_box()
    )["y"]
    assert await page.evaluate("() => document.documentElement.scrollWidth") <= 360
    assert await axe_violations(page) == []


async def _current_step(page) -> str:
    return await page.locator("ol.steps > li[aria-current=step]").inner_text()


async def test_the_banner_in_each_state_at_360_px(
    relaxed_stack, page, intake_db, amqp_url, namespace
):
    stack = relaxed_stack
    await page.set_viewport_size(PHONE)
    ARTIFACTS.mkdir(exist_ok=True)
    email = f"awa.{uuid.uuid4().hex[:6]}@example.ci"

    # Waiting: the admissibility date (triage's 15 days from the submission), no action.
    request_id, code = await submit(stack, email)
    await _open(page, stack.gateway, code, email)
    await _banner_first(page, "En attente de traitement")
    submitted_at = await intake_db.fetchval(
        "SELECT submitted_at FROM requests WHERE id = $1", request_id
    )
    due = french.day(calendar().add(day_of(submitted_at), ADMISSIBILITY_DAYS))
    assert f"au plus tard le {due}" in await page.locator("#banner-due").inner_text()
    assert await page.locator("#banner-action").count() == 0
    assert "Etape 1 : Attente de traitement" in await _current_step(page)
    await page.screenshot(path=ARTIFACTS / "track-banner-waiting-360.png", full_page=True)

    # Reformulation asked: the analyst's question at the top, « Reformuler ma requête » leads
    # straight to the rewrite box.
    question = "Précisez le service concerné et la date de votre visite."
    await applied(
        intake_db,
        await publish_event(
            amqp_url,
            namespace,
            RequestReformulationRequestedV1(
                request_id=request_id,
                code=code,
                analyst_message=question,
                actor=ANALYST,
                decided_at=now(),
            ),
        ),
    )
    await _open(page, stack.gateway, code, email)
    await _banner_first(page, "Renvoyée pour reformulation")
    assert question in await page.locator("#banner-question").inner_text()
    assert question in await _cell(page, "Réponse de l'analyste")
    await expect(page.locator("#banner-question")).to_be_in_viewport()
    action = page.locator("#banner-action")
    await expect(action).to_have_text("Reformuler ma requête")
    await expect(action).to_be_in_viewport()
    await page.screenshot(path=ARTIFACTS / "track-banner-reformulation-360.png", full_page=True)
    await action.click()
    await expect(page.get_by_role("textbox", name="Votre message")).to_be_in_viewport()

    # Rejected: closed, the reason, « Soumettre une nouvelle requête ».
    rejected_id, rejected_code = await submit(stack, email)
    await applied(
        intake_db,
        await publish_event(
            amqp_url,
            namespace,
            RequestRejectedV1(
                request_id=rejected_id,
                code=rejected_code,
                reason="Cette requête relève d'une décision de justice.",
                actor=ANALYST,
                decided_at=now(),
            ),
        ),
    )
    await _open(page, stack.gateway, rejected_code, email)
    await _banner_first(page, "Clôturée : requête non recevable")
    assert "décision de justice" in await page.locator("#banner-reason").inner_text()
    action = page.locator("#banner-action")
    await expect(action).to_have_text("Soumettre une nouvelle requête")
    assert await action.get_attribute("href") == "/soumettre"
    assert "Etape 4 : Requête clôturée" in await _current_step(page)
    assert "Etape 1" not in await _current_step(page)

    # A suggestion read and forwarded: finished, no answer to wait for.
    suggestion_id, suggestion_code = await submit(stack, email, nature="suggestion")
    await applied(
        intake_db,
        await publish_event(
            amqp_url,
            namespace,
            RequestValidatedV1(
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
            ),
        ),
    )
    await _open(page, stack.gateway, suggestion_code, email)
    await _banner_first(page, "Lue et transmise à l'organisme")
    assert "pas de réponse à attendre" in await page.locator("#banner-state").inner_text()
    assert await page.locator("#banner-action").count() == 0
    assert "Etape 4 : Requête clôturée" in await _current_step(page)

    # In treatment: until treatment has counted it, the body's answer has no date announced;
    # then its deadline, 60 working days from the validation (issue 13); step 2.
    treated_id, treated_code = await submit(stack, email)
    validated = validated_event(request_id=treated_id, code=treated_code)
    await applied(intake_db, await publish_event(amqp_url, namespace, validated))
    await _open(page, stack.gateway, treated_code, email)
    await _banner_first(page, "En cours de traitement")
    due = french.day(calendar().add(day_of(validated.decided_at), 60))

    async def announced() -> str | None:
        text = await page.locator("#banner-due").inner_text()
        if "aucune date n'est encore annoncée" in text:
            await page.reload()
            return None
        return text

    assert f"Réponse attendue au plus tard le {due}" in await eventually(announced)
    assert await page.locator("#banner-action").count() == 0
    assert "Etape 2 : En cours de traitement" in await _current_step(page)

    # Answered: « Donner mon avis ou relancer » leads straight to the opinion form.
    answered_code, _ = await _answered(stack, amqp_url, namespace, email)
    await _open(page, stack.gateway, answered_code, email)
    banner = page.locator("#prochaine-etape")
    await expect(banner.get_by_role("heading", name=re.compile("^Traité le "))).to_be_visible()
    await _banner_first(page, re.compile("^Traité le "))
    action = page.locator("#banner-action")
    await expect(action).to_have_text("Donner mon avis ou relancer")
    assert "Etape 3 : Avis du citoyen" in await _current_step(page)
    await page.screenshot(path=ARTIFACTS / "track-banner-answered-360.png", full_page=True)
    await action.click()
    await expect(
        page.get_by_role("heading", name=re.compile("Donner notre avis"))
    ).to_be_in_viewport()


async def test_the_code_is_grouped_the_address_masked_and_reloading_posts_nothing(
    relaxed_stack, page
):
    stack = relaxed_stack
    await page.set_viewport_size(PHONE)
    email = "aya.kouassi@example.ci"
    _, code = await submit(stack, email)
    shown = grouped(code)
    assert re.fullmatch(r"\d{3} \d{3} \d{4}", shown)

    # The code typed as shown, with its spaces, is taken.
    await _open(page, stack.gateway, shown, email)
    assert await _cell(page, "Code") == shown
    assert shown in await page.get_by_role("heading", level=1).inner_text()
    assert await _cell(page, "Adresse électronique") == "a***@example.ci"
    assert await axe_violations(page) == []

    # The form's POST answered with a redirect: the URL names neither the code nor the email,
    # and reloading is a GET that shows the same request again.
    assert page.url == stack.gateway + "/suivre/requete"
    response = await page.reload()
    assert response is not None and response.request.method == "GET" and response.status == 200
    assert await _cell(page, "Code") == shown

    # Without the browser's cookie (another browser, a link shared), the URL shows nothing.
    other = await page.context.browser.new_context()
    try:
        elsewhere = await other.new_page()
        await elsewhere.goto(stack.gateway + "/suivre/requete")
        assert elsewhere.url == stack.gateway + "/suivre"
        await expect(elsewhere.get_by_role("heading", name="Suivre une requête")).to_be_visible()
        # A cookie altered by hand is refused the same way.
        await other.add_cookies(
            [{"name": "milie_suivi", "value": "e30.00", "url": stack.gateway + "/suivre"}]
        )
        await elsewhere.goto(stack.gateway + "/suivre/requete")
        assert elsewhere.url == stack.gateway + "/suivre"
    finally:
        await other.close()
