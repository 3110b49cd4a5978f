"""« Administration › Rappels » and the analysts' « En retard », on the whole platform: an
administrator sets the clock's reminders through the page (nonsense refused beside its field,
nothing kept), nobody else reaches it; a request whose deadline the clock escalated is listed
« En retard »."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from services.treatment import clock
from services.treatment.settings import TreatmentSettings
from shared.identity import Role
from shared.service import POOL
from tests.staff.helpers import create_account, form_token, signed_in_session
from tests.treatment.conftest import deliver, validated_event

PASSWORD = "les rappels des organismes"
RAPPELS = "/admin/rappels"


async def page(http, url: str) -> tuple[int, str]:
    async with http.get(url, allow_redirects=False) as resp:
        return resp.status, await resp.text()


async def post(http, url: str, data: dict) -> tuple[int, str, str | None]:
    async with http.post(url, data=data, allow_redirects=False) as resp:
        return resp.status, await resp.text(), resp.headers.get("Location")


def value_of(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, name
    return found.group(1)


async def test_an_administrator_sets_the_reminders_and_nobody_else(stack, database_url):
    await create_account(database_url, Role.ADMINISTRATOR, "admin.rappels", PASSWORD)
    await create_account(database_url, Role.ANALYST, "awa.retard", PASSWORD)
    url = stack.gateway + RAPPELS
    good = {
        "not_taken_days": "2",
        "in_progress_days": "12",
        "before_due_days": "4",
        "repeat_days": "3",
    }
    async with await signed_in_session(stack.gateway, "admin.rappels", PASSWORD) as admin:
        status, html = await page(admin, url)
        assert status == 200
        assert 'href="/admin/rappels"' in html  # in the menu
        assert '<label for="f-repeat_days">' in html and value_of(html, "not_taken_days") == "3"
        token = await form_token(admin, url)
        # Nonsense: said beside the field, nothing kept.
        status, html, _ = await post(
            admin, url, {"csrf_token": token, **good, "not_taken_days": "0"}
        )
        assert status == 422 and "Un nombre entier de 1 à 365." in html
        status, html, _ = await post(
            admin, url, {"csrf_token": token, **good, "not_taken_days": "30"}
        )
        assert status == 422
        assert "ne peut venir avant celui d&#39;une requête non prise en compte" in html
        status, _, location = await post(admin, url, {"csrf_token": token, **good})
        assert (status, location) == (303, f"{RAPPELS}?fait=enregistre")
        status, html = await page(admin, f"{url}?fait=enregistre")
        assert "Les rappels sont enregistrés" in html
        assert all(value_of(html, name) == value for name, value in good.items())
        assert "Dernière modification par admin.rappels" in html

    async with await signed_in_session(stack.gateway, "awa.retard", PASSWORD) as analyst:
        status, _ = await page(analyst, url)
        assert status == 403
        status, _, _ = await post(analyst, url, {**good})
        assert status in (403, 400)  # no token, no role


async def test_a_request_escalated_by_the_clock_is_listed_late(stack, database_url):
    await create_account(database_url, Role.ANALYST, "awa.liste", PASSWORD)
    pool = stack.apps["treatment"].app[POOL]
    late, in_time = validated_event(), validated_event()
    for event in (late, in_time):
        assert await deliver(pool, event)
    await pool.execute(
        "UPDATE treatments SET answer_due = $2 WHERE code = $1", late.code, date(2026, 6, 11)
    )
    await pool.execute(
        "UPDATE treatments SET answer_due = $2 WHERE code = $1", in_time.code, date(2026, 6, 30)
    )
    swept = await clock.sweep(pool, TreatmentSettings(), datetime(2026, 6, 15, 9, tzinfo=UTC))
    assert swept.reminded.missed == [(late.code, date(2026, 6, 11))]

    async with await signed_in_session(stack.gateway, "awa.liste", PASSWORD) as analyst:
        status, html = await page(analyst, stack.gateway + "/admin/traitements/en-retard")
        assert status == 200
        assert "<h1>" in html and "En retard" in html
        assert late.code in html and in_time.code not in html
        status, html = await page(analyst, stack.gateway + "/admin/traitements/en-cours")
        assert late.code in html and in_time.code in html
