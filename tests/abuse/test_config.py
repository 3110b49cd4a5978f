"""Intake's configuration table over HTTP: administrators read and change the limits and the SMS
countries (each change validated, who made it kept); other roles and citizens cannot; a change
is what the next submission is judged by."""

from __future__ import annotations

import asyncpg
import pytest

from services.intake import limits
from shared.identity import Identity, Role
from tests.support import as_staff, signed_session

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
