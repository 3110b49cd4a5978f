"""The call-centre channel end to end: an operator submits for a caller who gives a mobile number
and no email (channel « téléphone »); the page shows the code to read out, and the caller gets
the same code by SMS through the (local fake) Orange provider; the analysts see that SMS on
the request's page."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator

import asyncpg
import pytest

from shared.identity import Role
from tests.channels.conftest import sms_settings
from tests.fakes.orange_sms import FakeOrangeSms
from tests.stack import Stack, start_stack
from tests.staff.helpers import create_account, form_token, signed_in_session
from tests.support import as_staff, eventually, signed_session

PASSWORD = "le centre d'appels répond"
MOBILE = "+2250707123456"
LIST_LEFT_EMPTY = "Choisissez une valeur dans la liste."  # the citizen form's « Nature »


async def _call(http, url: str, token: str, *, message: str, phone: str, email: str) -> str:
    """The operator's form for a caller with a réclamation to the budget ministry: the page that
    answers it (200)."""
    async with http.get(url) as resp:
        key = re.search(r'name="submission_key" value="([^"]+)"', await resp.text())[1]
    form = {
        "csrf_token": token,
        "submission_key": key,
        "nature": "reclamation",
        "body_id": "ministere-budget",
        "message": message,
        "last_name": "TRAORÉ",
        "phone": phone,
        "email": email,
        "country": "CI",
        "terms_accepted": "on",
    }
    async with http.post(url, data=form) as resp:
        page = await resp.text()
        assert resp.status == 200, page
    return page


@pytest.fixture
async def fake_sms() -> AsyncIterator[FakeOrangeSms]:
    async with FakeOrangeSms() as fake:
        yield fake


@pytest.fixture
async def sms_stack(settings_for, smtp_server, fake_sms) -> AsyncIterator[Stack]:
    exits = await start_stack(settings_for, smtp_server.port, **sms_settings(fake_sms))
    async with exits:
        yield exits.stack  # type: ignore[attr-defined]


async def test_the_caller_gets_by_sms_the_code_the_operator_reads_out(
    sms_stack, fake_sms, smtp_server, database_url
):
    await create_account(database_url, Role.OPERATOR, "centre.sms", PASSWORD)
    url = sms_stack.gateway + "/admin/appel"
    async with await signed_in_session(sms_stack.gateway, "centre.sms", PASSWORD) as http:
        token = await form_token(http, url)
        page = await _call(
            http,
            url,
            token,
            message="L'appelant attend sa pension depuis six mois.",
            phone="07 07 12 34 56",
            email="",
        )
    # Read out in the groups the portal and the tracking page show (« 892 024 6340 »).
    code = "".join(re.search(r'id="code">(\d{3}) (\d{3}) (\d{4})<', page).groups())
    assert "Lisez ce code à l'appelant, groupe par groupe" in page
    assert "Suivre ma réclamation" not in page and "« Suivre une requête »" in page

    [sms] = await fake_sms.wait_for(MOBILE)
    assert f"Son code : {code}" in sms.message
    conn = await asyncpg.connect(database_url)
    try:
        channel = await conn.fetchval("SELECT channel FROM intake.requests WHERE code = $1", code)
        media = await conn.fetch("SELECT medium, status FROM notify.deliveries ORDER BY created_at")
    finally:
        await conn.close()
    assert channel == "phone"
    # No email was given: the SMS is the only message, and nothing was mailed.
    assert [r["medium"] for r in media] == ["sms"]
    assert smtp_server.messages == []

    # The analyst sees the SMS on the request's page, in the messages sent to the citizen.
    await create_account(database_url, Role.ANALYST, "analyste.sms", PASSWORD)
    async with await signed_in_session(sms_stack.gateway, "analyste.sms", PASSWORD) as http:

        async def sms_listed():
            async with http.get(f"{sms_stack.gateway}/admin/traitements/{code}") as resp:
                page = await resp.text()
            section = page[page.find('id="envois-titre"') :]
            return "<td>SMS</td><td>+225 07 07 12 34 56</td>" in section and "Envoyé" in section

        await eventually(sms_listed)


async def test_intake_takes_a_phone_submission_only_from_a_signed_operator(stack):
    """Intake itself checks who claims the phone channel (where an email is optional): not the
    citizen's API, not an analyst, only an operator the gateway signed for."""
    from shared.identity import Identity

    fields = {
        "nature": "reclamation",
        "body_id": "ministere-budget",
        "message": "L'appelant attend sa pension depuis six mois.",
        "contact": {"last_name": "TRAORÉ", "phone": "07 07 12 34 56", "country": "CI"},
        "terms_accepted": True,
    }

    async def submit(identity: Identity | None) -> int:
        headers = as_staff(identity, channel="phone")
        async with signed_session() as http:
            url = stack.url("intake") + "/requests"
            async with http.post(url, json=fields, headers=headers) as resp:
                return resp.status

    assert await submit(None) == 401
    assert await submit(Identity("a1", Role.ANALYST, login="awa.kone")) == 403
    assert await submit(Identity("o1", Role.OPERATOR, login="centre")) == 201


async def test_the_page_promises_only_what_intake_will_send(sms_stack, database_url):
    """An SMS for a mobile number, an email for an email, nothing for a landline alone (SMS on;
    off: tests/triage/test_sms_off.py)."""
    await create_account(database_url, Role.OPERATOR, "centre.promesses", PASSWORD)
    url = sms_stack.gateway + "/admin/appel"
    async with await signed_in_session(sms_stack.gateway, "centre.promesses", PASSWORD) as http:
        token = await form_token(http, url)

        async def said(phone: str, email: str) -> str:
            message = f"L'appelant ({phone or email}) attend sa pension."
            page = await _call(http, url, token, message=message, phone=phone, email=email)
            return re.sub(r"\s+", " ", page[page.find('id="code"') :])

        mobile = await said("07 07 12 34 56", "")
        assert "Il lui est aussi envoyé par SMS au +225 07 07 12 34 56." in mobile
        assert "email de confirmation" not in mobile
        landline_and_email = await said("27 22 44 55 66", "awa.traore@example.ci")
        assert "SMS" not in landline_and_email
        assert "Un email de confirmation lui est envoyé à awa.traore@" in landline_and_email
        landline = await said("27 22 44 55 66", "")
        assert "par SMS" not in landline and "email de confirmation" not in landline
        assert "L'usager n'a ni email ni SMS possible : il ne sera pas prévenu" in landline


async def test_the_error_summary_follows_the_page_and_says_one_thing_for_an_empty_list(
    stack, database_url
):
    await create_account(database_url, Role.OPERATOR, "centre.resume", PASSWORD)
    url = stack.gateway + "/admin/appel"
    async with await signed_in_session(stack.gateway, "centre.resume", PASSWORD) as http:
        token = await form_token(http, url)
        async with http.get(url) as resp:
            page = await resp.text()
        fields_order = list(dict.fromkeys(re.findall(r' id="(f-[a-z_]+)"', page)))
        form = {"csrf_token": token, "nature": "", "body_id": "", "message": "", "phone": ""}
        async with http.post(url, data=form) as resp:
            page = html.unescape(await resp.text())
            assert resp.status == 422, page
    summary = page[page.find('id="erreurs"') : page.find("</div>", page.find('id="erreurs"'))]
    lines = re.findall(r'<a href="#(f-[a-z_]+)">([^<]*)</a>', summary)
    targets = [target for target, _ in lines]
    # In the order of the fields on the page: « Nature » before « Organisme public ».
    assert targets == [t for t in fields_order if t in targets], (lines, fields_order)
    assert targets[:2] == ["f-nature", "f-body_id"], targets
    said = dict(lines)
    # An empty list: one message, the citizen form's.
    assert said["f-nature"] == f"Nature : {LIST_LEFT_EMPTY}", said
    assert said["f-body_id"] == f"Organisme public : {LIST_LEFT_EMPTY}", said
