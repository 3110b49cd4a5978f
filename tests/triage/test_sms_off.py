"""The platform as ``make up`` runs it, where no SMS is sent (MILIE_SMS_ENABLED off): a caller who
gives only a mobile number is never told anything, so no page says a message went out. The
operator is told to give the code, the analysts' delivery log says « Non envoyé » and why, the
focal point's answer says the citizen cannot be told, « Code requête oublié ? » promises no SMS,
and « Limites et SMS » says that SMS are off (real PostgreSQL, RabbitMQ, SMTP server)."""

from __future__ import annotations

import re
from html import unescape

from shared.identity import Role
from tests.front.pages import (
    BUDGET_NAME,
    choose_nature_and_body,
    fill_form,
    new_page,
    submit_form,
)
from tests.staff.helpers import (
    create_account,
    form_token,
    new_session,
    page_of,
    signed_in_session,
)
from tests.support import eventually, signed_session
from tests.treatment.pages import validated_without_email
from tests.treatment.test_request_page import _multipart
from tests.triage.test_call_centre_sms import _call

PASSWORD = "personne ne sera prévenu"
UNREACHABLE = "L'usager n'a ni email ni SMS possible : il ne sera pas prévenu"


def _flat(page: str) -> str:
    return re.sub(r"\s+", " ", unescape(page))


async def test_a_caller_with_a_mobile_only_is_promised_nothing_and_the_log_says_so(
    stack, database_url, smtp_server
):
    await create_account(database_url, Role.OPERATOR, "centre.sans.sms", PASSWORD)
    url = stack.gateway + "/admin/appel"
    async with await signed_in_session(stack.gateway, "centre.sans.sms", PASSWORD) as http:
        token = await form_token(http, url)
        page = await _call(
            http,
            url,
            token,
            message="L'appelant signale que l'inscription au BEPC refuse son matricule.",
            phone="05 05 12 34 56",
            email="",
        )
    code = "".join(re.search(r'id="code">(\d{3}) (\d{3}) (\d{4})<', page).groups())
    done = _flat(page[page.find('id="code"') :])
    assert "SMS au" not in done
    assert UNREACHABLE in done

    # The analysts' « Messages à l'usager »: the acknowledgement not sent, and why.
    await create_account(database_url, Role.ANALYST, "analyste.sans.sms", PASSWORD)
    async with await signed_in_session(stack.gateway, "analyste.sans.sms", PASSWORD) as http:

        async def logged():
            _, page = await page_of(http, f"{stack.gateway}/admin/traitements/{code}")
            section = _flat(page[page.find('id="envois-titre"') :])
            return section if "Non envoyé" in section else None

        section = await eventually(logged)
    assert "Aucun message envoyé" not in section
    assert "Non envoyé — pas d'adresse email, et la plateforme n'envoie pas de SMS" in section
    assert smtp_server.messages == []

    # The statistics' deliveries count it failed (its notification.failed).
    async with signed_session() as http:

        async def counted():
            async with http.get(stack.url("stats") + "/stats/deliveries") as resp:
                totals = (await resp.json())["deliveries"]
            return totals if totals.get("sms", {}).get("failed") else None

        assert await eventually(counted) == {"sms": {"sent": 0, "failed": 1}}


async def test_the_focal_points_answer_says_the_citizen_cannot_be_told(
    stack, database_url, amqp_url, namespace
):
    await create_account(
        database_url, Role.FOCAL_POINT, "pf.sans.sms", PASSWORD, "ministere-budget", "PF"
    )
    code = await validated_without_email(stack, amqp_url, namespace)
    page_url = f"{stack.gateway}/admin/requetes/{code}"
    async with await signed_in_session(stack.gateway, "pf.sans.sms", PASSWORD) as http:
        _, page = await page_of(http, page_url)
        assert "Répondre avec envoi de mail" not in page
        status, location, _ = await _multipart(
            http,
            f"{page_url}/repondre",
            page_url,
            [("message", "Le service a corrigé votre matricule."), ("bouton", "envoyer")],
        )
        assert status == 303
        _, page = await page_of(http, stack.gateway + location)
    notice = _flat(page[page.find('id="resultat"') :][:600])
    assert "Message envoyé" not in notice
    assert "La réponse est enregistrée" in notice
    assert f"{UNREACHABLE} ; rappelez-le au +225 07 07 12 34 56." in notice


async def test_forgotten_codes_by_mobile_are_not_promised_by_sms(stack):
    async with new_session() as http:
        url = stack.gateway + "/suivre/code-oublie"
        async with http.get(url) as resp:
            page = await resp.text()
        assert "par email ou par SMS" not in page
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
        form = {"csrf_token": token, "email": "05 05 12 34 56"}
        async with http.post(url, data=form) as resp:
            page = _flat(await resp.text())
    assert "leurs codes par SMS" not in page
    assert "courriers indésirables" not in page
    assert "Le portail n'envoie pas de SMS pour l'instant" in page


async def test_the_limits_page_says_sms_are_off(stack, database_url):
    await create_account(database_url, Role.ADMINISTRATOR, "admin.sans.sms", PASSWORD)
    async with await signed_in_session(stack.gateway, "admin.sans.sms", PASSWORD) as http:
        _, page = await page_of(http, stack.gateway + "/admin/limites")
    assert "L'envoi des SMS est désactivé sur la plateforme" in _flat(page)


async def test_a_citizen_with_a_mobile_only_is_told_to_keep_the_code_at_360px(stack, browser):
    """The citizen's own code page (Chromium, no JavaScript): no SMS promised, keep the code."""
    context, page = await new_page(browser, width=360, javascript=False)
    try:
        await choose_nature_and_body(page, stack.gateway, "Réclamation", "budget", BUDGET_NAME)
        hint = await page.locator("#f-phone").get_attribute("aria-describedby")
        said = " ".join([await page.locator(f"#{i}").inner_text() for i in hint.split()])
        assert "vous sera envoyé par SMS" not in said
        await fill_form(page, phone="05 05 12 34 56", email="")
        await submit_form(page)
        await page.get_by_role("button", name="Envoyer ma requête").click()
        await page.get_by_text("Votre Réclamation a bien été enregistrée.").wait_for()
        main = _flat(await page.locator("main").inner_text())
    finally:
        await context.close()
    assert "par SMS." not in main
    assert "Conservez bien ce numéro : vous ne serez prévenu ni par email ni par SMS" in main
