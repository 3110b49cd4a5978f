"""« Mes alertes » (a focal point's choice: « Immédiatement » or « Un résumé par jour »): the
choice is checked as posted, whole, and anything but one of the two is refused beside the field,
nothing saved, the page a plain form (no script) under its CSRF token."""

from __future__ import annotations

import html
import re

import asyncpg

from shared.identity import Role
from tests.staff.helpers import create_account, form_token, signed_in_session

PASSWORD = "le point focal choisit ses alertes"
REFUSED = "Choisissez comment recevoir les alertes."


async def _saved(database_url: str) -> tuple[str, int]:
    """(the account's choice, the « Alertes modifiées » lines of the audit log)."""
    conn = await asyncpg.connect(database_url)
    try:
        alerts = await conn.fetchval(
            "SELECT alerts FROM gateway.staff_accounts WHERE login = 'pf.alertes'"
        )
        lines = await conn.fetchval(
            "SELECT count(*) FROM gateway.audit_log WHERE action = 'alerts_changed'"
        )
    finally:
        await conn.close()
    return alerts, lines


async def test_my_alerts_checks_the_choice_as_posted(gateway_alone, database_url):
    gw = await gateway_alone()
    await create_account(
        database_url, Role.FOCAL_POINT, "pf.alertes", PASSWORD, body_id="ministere-budget"
    )
    url = gw.url + "/admin/mes-alertes"
    async with await signed_in_session(gw.url, "pf.alertes", PASSWORD) as http:

        async def post(data: dict) -> tuple[int, str, str]:
            token = await form_token(http, url)
            async with http.post(
                url, data={"csrf_token": token, **data}, allow_redirects=False
            ) as resp:
                return resp.status, resp.headers.get("Location", ""), await resp.text()

        assert await _saved(database_url) == ("immediate", 0)
        status, location, _ = await post({"alerts": "digest"})
        assert (status, location) == (303, "/admin/mes-alertes?fait=1")
        assert await _saved(database_url) == ("digest", 1)

        # A choice with anything after it, past what it takes, garbage, or none: refused as
        # posted, beside the field, the choice saved before still checked.
        for typed in [
            "immediate" + " " * 11 + "x",
            "immediate" + "x" * 100_000,
            "immediate ",
            "Immediate",
            "immédiatement",
            "",
        ]:
            status, _, page = await post({"alerts": typed})
            assert status == 422, typed[:30]
            assert f'<p class="error" id="err-alerts">{REFUSED}</p>' in page
            radio = re.search(r'<input type="radio" id="f-alerts-immediate"[^>]*>', page)[0]
            assert 'aria-describedby="err-alerts"' in radio and "checked" not in radio
            assert 'value="digest" checked' in page
            assert len(page) < 20_000  # what was posted is not sent back
        assert await _saved(database_url) == ("digest", 1)

        # Without the form's token: refused, nothing saved.
        async with http.post(url, data={"alerts": "immediate"}, allow_redirects=False) as resp:
            assert resp.status == 403
        assert await _saved(database_url) == ("digest", 1)

        status, location, _ = await post({"alerts": "immediate"})
        assert (status, location) == (303, "/admin/mes-alertes?fait=1")
        async with http.get(gw.url + location) as resp:
            page = html.unescape(await resp.text())
        assert "Votre choix est enregistré." in page
        assert 'value="immediate" checked' in page
    assert await _saved(database_url) == ("immediate", 2)
