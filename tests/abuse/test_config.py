"""Intake's configuration table over HTTP: administrators read and change the limits and the SMS
countries (each change validated, who made it kept); other roles and citizens cannot; a change
is what the next submission is judged by."""

from __future__ import annotations

import html
import re

import asyncpg
import pytest

from services.intake import limits
from shared.identity import Identity, Role
from tests.abuse.conftest import api_request, api_submit
from tests.staff.helpers import create_account, signed_in_session
from tests.support import as_staff, eventually, signed_session

ADMIN = Identity(staff_id="admin-1", role=Role.ADMINISTRATOR, login="admin")
ANALYST = Identity(staff_id="analyste-1", role=Role.ANALYST, login="analyste")


def test_values_are_checked_and_defaults_fill_the_rest():
    config = limits.parse({"submissions_per_email": 9, "sms_country_codes": [225, 226]})
    assert config.submissions_per_email == 9 and config.sms_country_codes == (225, 226)
    assert config.submissions_per_client == limits.DEFAULTS.submissions_per_client
    for wrong in (
        {"submissions_per_email": -1},
        {"submissions_per_email": "5"},
        {"sms_country_codes": ["+225"]},
        {"proof_difficulty_bits": 40},
        {"no_such_setting": 1},
    ):
        with pytest.raises(ValueError):
            limits.parse(wrong)


async def test_administrators_change_the_configuration(intake, database_url):
    base = intake.url
    async with signed_session() as http:
        async with http.get(base + "/config", headers=as_staff(ADMIN)) as resp:
            assert resp.status == 200
            shown = await resp.json()
        assert shown["sms_country_codes"] == [225]

        async with http.put(
            base + "/config",
            json={"sms_country_codes": [225, 226], "submissions_per_email": 3},
            headers=as_staff(ADMIN),
        ) as resp:
            assert resp.status == 200
            assert (await resp.json())["sms_country_codes"] == [225, 226]
        async with http.get(base + "/config", headers=as_staff(ADMIN)) as resp:
            assert (await resp.json())["submissions_per_email"] == 3

        # A wrong value is refused, naming the setting; nothing changes.
        async with http.put(
            base + "/config", json={"submissions_per_phone": "beaucoup"}, headers=as_staff(ADMIN)
        ) as resp:
            assert resp.status == 422
            assert (await resp.json())["errors"][0]["field"] == "submissions_per_phone"

        # Not for an analyst, nor for an anonymous call.
        for headers in (as_staff(ANALYST), {}):
            async with http.put(
                base + "/config", json={"submissions_per_email": 1000}, headers=headers
            ) as resp:
                assert resp.status in (401, 403)

    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT key, updated_by FROM intake.config ORDER BY key")
    finally:
        await conn.close()
    assert [(r["key"], r["updated_by"]) for r in rows] == [
        ("sms_country_codes", "admin-1"),
        ("submissions_per_email", "admin-1"),
    ]


TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "un mot de passe des limites"


async def test_the_back_office_page_changes_them_and_the_audit_says_so(strict_stack, database_url):
    await create_account(database_url, Role.ADMINISTRATOR, "admin.limites", PASSWORD)
    page_url = strict_stack.gateway + "/admin/limites"
    payload = api_request(phone="06 12 34 56 78", country="FR")
    assert (await api_submit(strict_stack, payload))[0] == 422  # France: no SMS there yet

    async with await signed_in_session(strict_stack.gateway, "admin.limites", PASSWORD) as admin:
        async with admin.get(page_url) as resp:
            assert resp.status == 200
            text = html.unescape(await resp.text())
        assert "Limites et SMS" in text and 'value="+225"' in text
        values = {
            name: re.search(rf'name="{name}" value="([^"]*)"', text).group(1)
            for name in (
                "submission_window_seconds",
                "submissions_per_client",
                "submissions_per_email",
                "submissions_per_phone",
                "suspicion_window_seconds",
                "suspicion_per_client",
                "proof_difficulty_bits",
                "proof_wait_seconds",
                "proof_lifetime_seconds",
            )
        }
        form = {"csrf_token": TOKEN.search(text).group(1), **values}

        # A wrong value: said beside its field, nothing changed.
        wrong = {**form, "sms_country_codes": "France", "submissions_per_email": "-3"}
        async with admin.post(page_url, data=wrong, allow_redirects=False) as resp:
            assert resp.status == 422
            text = html.unescape(await resp.text())
        assert 'id="err-sms_country_codes"' in text and 'id="err-submissions_per_email"' in text

        changed = {**form, "sms_country_codes": "+225, +33"}
        async with admin.post(page_url, data=changed, allow_redirects=False) as resp:
            assert resp.status == 303

    conn = await asyncpg.connect(database_url)
    try:
        detail = await conn.fetchval(
            "SELECT detail FROM gateway.audit_log WHERE action = 'config_changed'"
        )
    finally:
        await conn.close()
    assert detail == "Indicatifs des pays où les SMS sont envoyés : « +225 » → « +225, +33 »"

    async def accepted():
        answer = await api_submit(strict_stack, payload)
        return answer if answer[0] == 201 else None

    await eventually(accepted, timeout=15)  # every copy of intake reads it within seconds
