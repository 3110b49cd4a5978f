"""The staff's second factor (issue 14): after the password, a TOTP code; enrolled with a QR code
at the first sign-in, with ten single-use recovery codes; a code is never accepted twice; wrong
codes end the session; an administrator resets a lost factor; production refuses to go without.
"""

from __future__ import annotations

import re
import uuid

import aiohttp
import asyncpg
import pyotp
import pytest
from pydantic import ValidationError

from gateway.settings import GatewaySettings
from gateway.staff import second_factor
from shared.identity import Role
from tests.browser import axe_violations
from tests.staff.helpers import (
    ENROLLED,
    complete_second_factor,
    create_account,
    form_token,
    give_password,
    new_session,
)

PASSWORD = "un mot de passe bien long"
PAGE = "/admin/double-authentification"


async def _password_only(gateway: str, login: str, password: str = PASSWORD):
    """A session that gave the password; (session, where the sign-in sent it)."""
    session = new_session()
    return session, await give_password(session, gateway, login, password)


async def _give(session, gateway: str, code: str) -> aiohttp.ClientResponse:
    token = await form_token(session, gateway + PAGE)
    async with session.post(
        gateway + PAGE,
        data={"csrf_token": token, "code": code, "next": "/admin/"},
        allow_redirects=False,
    ) as resp:
        await resp.read()
        return resp


async def _home_status(session, gateway: str) -> tuple[int, str]:
    async with session.get(gateway + "/admin/", allow_redirects=False) as resp:
        return resp.status, resp.headers.get("Location", "")


async def _audit(database_url: str, login: str) -> list[str]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            """SELECT action FROM gateway.audit_log
               WHERE actor_login = $1 OR target = $1 ORDER BY id""",
            login,
        )
    finally:
        await conn.close()
    return [r["action"] for r in rows]


async def test_enrolment_then_codes_then_a_recovery_code_once(gateway_alone, database_url):
    gw = await gateway_alone(second_factor_required=True)
    login = f"awa.{uuid.uuid4().hex[:6]}"
    await create_account(database_url, Role.ANALYST, login, PASSWORD)

    session, location = await _password_only(gw.url, login)
    async with session:
        assert location == f"{PAGE}?next=/admin/"
        # The password alone opens nothing of the back office.
        assert await _home_status(session, gw.url) == (303, f"{PAGE}?next=/admin/")
        recovery = await complete_second_factor(session, gw.url + location, login)
        assert len(recovery) == 10 and len(set(recovery)) == 10
        assert (await _home_status(session, gw.url))[0] == 200
    secret = ENROLLED[login]

    session, location = await _password_only(gw.url, login)
    async with session:
        async with session.get(gw.url + location) as resp:
            page = await resp.text()
        assert 'id="secret"' not in page  # enrolled: the key is never shown again
        # The code given at the enrolment was used: it is refused now, whatever the time.
        conn = await asyncpg.connect(database_url)
        try:
            step = await conn.fetchval(
                "SELECT last_step FROM gateway.staff_second_factors f"
                " JOIN gateway.staff_accounts a ON a.id = f.account_id WHERE a.login = $1",
                login,
            )
        finally:
            await conn.close()
        refused = await _give(session, gw.url, pyotp.TOTP(secret).at(step * 30))
        assert refused.status == 422
        assert (await _home_status(session, gw.url))[0] == 303
        assert (await _give(session, gw.url, recovery[0].upper())).status == 303
        assert (await _home_status(session, gw.url))[0] == 200

    session, _ = await _password_only(gw.url, login)
    async with session:
        assert (await _give(session, gw.url, recovery[0])).status == 422  # used once already
        assert (await _give(session, gw.url, recovery[1])).status == 303

    actions = await _audit(database_url, login)
    assert actions.count("second_factor_enrolled") == 1
    assert actions.count("second_factor_recovery_used") == 2
    assert actions.count("second_factor_failed") == 2


def test_a_code_is_accepted_within_one_step_and_never_twice():
    secret = second_factor.new_secret()
    totp, now = pyotp.TOTP(secret), 1_800_000_000.0
    step = int(now // 30)
    assert second_factor.accepted_step(secret, totp.at(now), 0, now) == step
    assert second_factor.accepted_step(secret, totp.at(now - 30), 0, now) == step - 1
    assert second_factor.accepted_step(secret, totp.at(now - 90), 0, now) is None
    assert second_factor.accepted_step(secret, totp.at(now), step, now) is None  # reused
    assert second_factor.accepted_step(secret, "12345", 0, now) is None


async def test_wrong_codes_end_the_session(gateway_alone, database_url):
    gw = await gateway_alone(second_factor_required=True)
    login = f"pf.{uuid.uuid4().hex[:6]}"
    await create_account(database_url, Role.FOCAL_POINT, login, PASSWORD, "ministere-budget")
    session, location = await _password_only(gw.url, login)
    async with session:
        await complete_second_factor(session, gw.url + location, login)
    session, _ = await _password_only(gw.url, login)
    async with session:
        for _ in range(second_factor.MAX_FAILURES - 1):
            assert (await _give(session, gw.url, "000000")).status == 422
        last = await _give(session, gw.url, "000000")
        assert last.status == 303 and last.headers["Location"] == "/admin/connexion?fin=1"
        # The session is gone: even the right code now leads back to the password.
        async with session.get(gw.url + PAGE, allow_redirects=False) as resp:
            assert resp.headers["Location"] == "/admin/connexion"


async def test_an_administrator_resets_a_lost_factor(gateway_alone, database_url):
    gw = await gateway_alone(second_factor_required=True)
    admin, agent = f"admin.{uuid.uuid4().hex[:6]}", f"awa.{uuid.uuid4().hex[:6]}"
    await create_account(database_url, Role.ADMINISTRATOR, admin, PASSWORD)
    account = await create_account(database_url, Role.ANALYST, agent, PASSWORD)
    agent_session, location = await _password_only(gw.url, agent)
    await complete_second_factor(agent_session, gw.url + location, agent)
    first_secret = ENROLLED[agent]

    admin_session, location = await _password_only(gw.url, admin)
    async with admin_session:
        await complete_second_factor(admin_session, gw.url + location, admin)
        url = f"{gw.url}/admin/comptes/{account.id}"
        token = await form_token(admin_session, url)
        async with admin_session.post(
            url + "/double-authentification",
            data={"csrf_token": token, "confirm": "oui"},  # « Oui, réinitialiser »
            allow_redirects=False,
        ) as resp:
            assert resp.status == 303
        async with admin_session.get(gw.url + resp.headers["Location"]) as resp:
            assert "La double authentification est réinitialisée" in await resp.text()
    async with agent_session:
        assert (await _home_status(agent_session, gw.url))[0] == 303  # its session ended
    session, location = await _password_only(gw.url, agent)
    async with session:
        async with session.get(gw.url + location) as resp:
            assert 'id="secret"' in await resp.text()  # enrols again, with a new key
        await complete_second_factor(session, gw.url + location, agent)
        assert ENROLLED[agent] != first_secret
    assert "second_factor_reset" in await _audit(database_url, agent)


def test_production_refuses_to_start_without_the_second_factor(settings_for):
    from tests.support import PRODUCTION_SECRETS

    with pytest.raises(ValidationError, match="MILIE_SECOND_FACTOR_REQUIRED"):
        settings_for(
            GatewaySettings,
            env="production",
            **{**PRODUCTION_SECRETS, "second_factor_required": False},
        )


async def test_enrolment_in_a_real_browser_with_its_qr_code(gateway_alone, database_url, page):
    gw = await gateway_alone(second_factor_required=True)
    login = f"admin.{uuid.uuid4().hex[:6]}"
    await create_account(database_url, Role.ADMINISTRATOR, login, PASSWORD)
    await page.set_viewport_size({"width": 360, "height": 740})
    await page.goto(f"{gw.url}/admin/connexion")
    await page.get_by_label("Login").fill(login)
    await page.get_by_label("Mot de passe").fill(PASSWORD)
    async with page.expect_navigation():
        await page.get_by_role("button", name="Se connecter").click()
    await page.get_by_role("heading", name="Double authentification").wait_for()
    qr = page.locator("figure.qr svg")
    await qr.wait_for()
    assert (
        await qr.get_attribute("role") == "img" or await page.locator("figure.qr svg title").count()
    )
    secret = re.sub(r"\s", "", await page.locator("#secret").inner_text())
    assert await axe_violations(page) == []
    await page.get_by_label("Code à 6 chiffres").fill(pyotp.TOTP(secret).now())
    async with page.expect_navigation():
        await page.get_by_role("button", name="Vérifier").click()
    await page.get_by_role("heading", name="Vos codes de secours").wait_for()
    assert await page.locator("ol.recovery-codes li").count() == 10
    async with page.expect_navigation():
        await page.get_by_role("link", name="J'ai noté mes codes, continuer").click()
    assert page.url.endswith("/admin/")
    await page.get_by_role("navigation").first.wait_for()
