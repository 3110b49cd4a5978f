"""A citizen who gave no email — a call-centre caller, or a citizen of the web form who typed
only a mobile number — tracks with code + mobile number, recovers forgotten codes by SMS, and is
throttled as an email is; the web form takes a mobile number or an email, at least one (the whole
platform in this process, SMS through the local fake of Orange's API, a real Chromium)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from shared.codes import grouped, new_code
from shared.identity import Identity, Role
from tests.browser import ARTIFACTS
from tests.channels.conftest import sms_settings
from tests.fakes.orange_sms import FakeOrangeSms
from tests.front.pages import (
    BUDGET_NAME,
    choose_nature_and_body,
    fill_form,
    new_page,
    no_horizontal_scroll,
    submit_form,
)
from tests.stack import Stack, start_stack
from tests.support import as_staff, signed_session
from tests.track.conftest import RELAXED, STRICT, post_json

CONTACT = "Adresse e-mail ou numéro de mobile"
NOT_FOUND = (
    "Aucune requête ne correspond à ce code et à cette adresse électronique ou ce numéro de mobile."
)
CONTACT_MISSING = "Indiquez votre numéro de mobile ou votre email : au moins l'un des deux."


@pytest.fixture
async def fake_sms() -> AsyncIterator[FakeOrangeSms]:
    async with FakeOrangeSms() as fake:
        yield fake


async def _stack(settings_for, smtp_server, fake_sms, limits: dict) -> AsyncIterator[Stack]:
    exits = await start_stack(settings_for, smtp_server.port, **sms_settings(fake_sms), **limits)
    async with exits:
        yield exits.stack  # type: ignore[attr-defined]


@pytest.fixture
async def sms_stack(settings_for, smtp_server, fake_sms) -> AsyncIterator[Stack]:
    async for stack in _stack(settings_for, smtp_server, fake_sms, RELAXED):
        yield stack


@pytest.fixture
async def strict_sms_stack(settings_for, smtp_server, fake_sms) -> AsyncIterator[Stack]:
    async for stack in _stack(settings_for, smtp_server, fake_sms, STRICT):
        yield stack


def _mobile() -> tuple[str, str]:
    """A fresh Ivorian mobile number: (as typed, E.164)."""
    digits = f"{uuid.uuid4().int % 10**8:08d}"
    typed = "07 " + " ".join(digits[i : i + 2] for i in range(0, 8, 2))
    return typed, f"+22507{digits}"


async def call_centre_submission(stack: Stack, phone: str) -> str:
    """A request an operator submits for a caller who gives a mobile number and no email."""
    fields = {
        "nature": "reclamation",
        "body_id": "ministere-budget",
        "message": "L'appelant attend sa pension depuis six mois.",
        "contact": {"last_name": "TRAORÉ", "phone": phone, "country": "CI"},
        "terms_accepted": True,
    }
    headers = as_staff(Identity("o1", Role.OPERATOR, login="centre"), channel="phone")
    async with (
        signed_session() as http,
        http.post(stack.url("intake") + "/requests", json=fields, headers=headers) as resp,
    ):
        body = await resp.json()
        assert resp.status == 201, body
    return body["code"]


async def test_a_caller_without_email_tracks_with_code_and_mobile_through_the_api(
    sms_stack, fake_sms
):
    typed, e164 = _mobile()
    code = await call_centre_submission(sms_stack, typed)
    await fake_sms.wait_for(e164)  # the code, by SMS
    url = sms_stack.gateway + "/api/v1/tracking"

    # The number as typed or in E.164: the same request.
    for phone in (typed, e164, typed.replace(" ", "")):
        status, view, _ = await post_json(url, {"code": code, "phone": phone})
        assert status == 200, view
        assert view["code"] == code
    # A wrong number and an email where none was given: the same refusal as a wrong email.
    wrong_phone = await post_json(url, {"code": code, "phone": "07 07 00 00 01"})
    by_email = await post_json(url, {"code": code, "email": "traore@example.ci"})
    # Each answer names its own call (correlation_id), nothing else tells them apart.
    assert wrong_phone[1].pop("correlation_id") != by_email[1].pop("correlation_id")
    assert wrong_phone[:2] == by_email[:2] == (404, {"error": "not_found", "message": NOT_FOUND})
    # Neither, both, or a number that is not one: 422 on the field, before any look-up.
    status, body, _ = await post_json(url, {"code": code})
    assert status == 422 and body["errors"][0]["field"] == "email"
    status, body, _ = await post_json(url, {"code": code, "phone": typed, "email": "a@b.ci"})
    assert status == 422 and body["errors"][0]["field"] == "phone"
    status, body, _ = await post_json(url, {"code": code, "phone": "12"})
    assert status == 422 and body["errors"] == [
        {
            "field": "phone",
            "code": "value_error",
            "message": "Ce numéro de mobile n'est pas valide.",
        }
    ]

    # « Code requête oublié ? » with the number: the codes by SMS.
    status, body, _ = await post_json(
        sms_stack.gateway + "/api/v1/tracking/codes-reminder", {"phone": typed}
    )
    assert status == 202
    assert body["message"].endswith("vous allez recevoir leurs codes par SMS.")
    _, reminder = await fake_sms.wait_for(e164, count=2)
    assert f"code(s) de vos demandes : {code}." in reminder.message
    assert reminder.message.endswith(f"{sms_stack.gateway}/suivre")


async def test_the_json_api_refuses_a_submission_without_mobile_nor_email(sms_stack):
    body = {
        "nature": "reclamation",
        "body_id": "ministere-budget",
        "message": "L'accueil est décevant.",
        "contact": {"last_name": "KONE", "country": "CI", "phone": "", "email": None},
        "terms_accepted": True,
    }
    status, answer, _ = await post_json(sms_stack.gateway + "/api/v1/requests", body)
    assert status == 422
    assert answer["error"] == "validation_failed"
    assert sorted((e["field"], e["code"]) for e in answer["errors"]) == [
        ("contact.email", "phone_or_email_required"),
        ("contact.phone", "phone_or_email_required"),
    ]
    assert {e["message"] for e in answer["errors"]} == {CONTACT_MISSING}
    typed, _ = _mobile()
    body["contact"]["phone"] = typed
    status, answer, _ = await post_json(sms_stack.gateway + "/api/v1/requests", body)
    assert status == 201, answer


async def test_mobile_look_ups_are_throttled_as_emails_are(strict_sms_stack):
    typed, e164 = _mobile()
    url = strict_sms_stack.gateway + "/api/v1/tracking"
    # Other codes each time (the per-code limit is not the one tested), the same number.
    limit = STRICT["tracking_per_email"]
    for _ in range(limit):
        status, _, _ = await post_json(url, {"code": new_code(), "phone": typed})
        assert status == 404
    # The number written otherwise is the same number: it is refused too.
    status, body, headers = await post_json(url, {"code": new_code(), "phone": e164})
    assert status == 429
    assert int(headers["Retry-After"]) > 0
    assert body["message"].startswith("Trop de tentatives. Réessayez dans ")

    reminder = strict_sms_stack.gateway + "/api/v1/tracking/codes-reminder"
    other, _ = _mobile()
    for _ in range(STRICT["reminder_per_email"]):
        assert (await post_json(reminder, {"phone": other}))[0] == 202
    assert (await post_json(reminder, {"phone": other}))[0] == 429


async def test_a_citizen_without_email_submits_on_the_web_and_tracks_with_the_mobile_at_360px(
    sms_stack, fake_sms, browser, smtp_server
):
    gateway = sms_stack.gateway
    caller_typed, caller_e164 = _mobile()
    caller_code = await call_centre_submission(sms_stack, caller_typed)
    typed, e164 = _mobile()
    context, page = await new_page(browser, width=360, javascript=False)
    try:
        await choose_nature_and_body(page, gateway, "Réclamation", "budget", BUDGET_NAME)
        # Neither a number nor an email: the French sentence beside both fields, what was typed
        # kept.
        await fill_form(page, phone="", email="")
        await submit_form(page)
        for field in ("phone", "email"):
            control = page.locator(f"#f-{field}")
            assert await control.get_attribute("aria-invalid") == "true"
            assert f"err-{field}" in (await control.get_attribute("aria-describedby")).split()
            assert CONTACT_MISSING in await page.locator(f"#err-{field}").inner_text()
        assert await page.get_by_label("Nom", exact=True).input_value() == "KOUASSI"
        assert await page.get_by_label("Message").input_value() != ""
        await page.screenshot(path=ARTIFACTS / "mobile-seul-erreur-360.png", full_page=True)

        # A mobile number only: accepted; the confirmation says no email, the page the SMS.
        await page.get_by_label("Téléphone portable").fill(typed)
        await page.get_by_label("J'accepte").check()
        await submit_form(page)
        recap = page.locator(".recap")
        await recap.wait_for()
        assert "Non précisé" in await recap.inner_text()
        await page.get_by_role("button", name="Envoyer ma requête").click()
        await page.get_by_text("Votre Réclamation a bien été enregistrée.").wait_for()
        code = (await page.locator("#code").inner_text()).replace(" ", "")
        assert "Le code vous est aussi envoyé par SMS." in await page.locator("main").inner_text()
        [sms] = await fake_sms.wait_for(e164)
        assert f"Son code : {code}." in sms.message

        # « Suivre une requête » from the SMS's link, with the mobile number, at 360 px.
        await page.goto(sms.message.rsplit(" ", 1)[-1])
        assert await page.get_by_label("Code Requête").input_value() == code
        await page.get_by_label(CONTACT).fill(typed)
        await page.get_by_role("button", name="Valider").click()
        await page.locator("#code").wait_for()
        assert (await page.locator("#code").inner_text()).strip() == grouped(code)
        row = page.locator("tr", has=page.locator("#email"))
        assert "Numéro de mobile" in await row.inner_text()
        assert (await page.locator("#email").inner_text()).endswith(e164[-2:])
        assert typed not in await page.content()  # masked
        assert await no_horizontal_scroll(page)
        await page.screenshot(path=ARTIFACTS / "suivi-mobile-360.png", full_page=True)

        # The call centre's caller, the same way; a wrong number gets the usual refusal.
        await page.goto(gateway + "/suivre")
        await page.get_by_label("Code Requête").fill(caller_code)
        await page.get_by_label(CONTACT).fill("07 07 00 00 02")
        await page.get_by_role("button", name="Valider").click()
        await page.get_by_text("Aucune requête ne correspond").wait_for()
        await page.get_by_label(CONTACT).fill(caller_typed)
        await page.get_by_role("button", name="Valider").click()
        await page.locator("#code").wait_for()
        assert (await page.locator("#code").inner_text()).strip() == grouped(caller_code)
        assert await no_horizontal_scroll(page)

        # « Code requête oublié ? » with the number: said on the page, the codes by SMS.
        await page.goto(gateway + "/suivre")
        await page.get_by_role("link", name="Code requête oublié ?").click()
        await page.get_by_label(CONTACT).fill(typed)
        await page.get_by_role("button", name="Recevoir mes codes").click()
        await page.get_by_text("vous allez recevoir leurs codes par SMS").wait_for()
        _, reminder = await fake_sms.wait_for(e164, count=2)
        assert f"code(s) de vos demandes : {code}." in reminder.message
    finally:
        await context.close()
    assert smtp_server.messages == []  # nobody gave an email
    assert caller_e164 in {m.address.removeprefix("tel:") for m in fake_sms.messages}
