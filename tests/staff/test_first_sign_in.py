"""Issue 13: a new agent gets an email (real SMTP server) with a link to choose a password; the
link works once and for 48 hours; an administrator can send a new one; notify's staff directory
(``staff_recipients``) follows every account change, and nothing is lost while notify is down."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from gateway.staff import sign_in_links
from services.notify.app import create_app as notify_app
from services.notify.settings import NotifySettings
from shared.identity import Role
from tests.staff.helpers import (
    create_account,
    form_token,
    new_session,
    password_through_link,
    sign_in_link,
    signed_in_session,
)
from tests.support import RunningApp, eventually, free_port

ADMIN_PASSWORD = "l'administrateur ouvre les comptes"
PASSWORD = "le mot de passe choisi par awa"
EMAIL = "awa.kone@osep.gouv.ci"


async def _recipient(database_url: str, login: str) -> dict | None:
    conn = await asyncpg.connect(database_url)
    try:
        row = await conn.fetchrow("SELECT * FROM notify.staff_recipients WHERE login = $1", login)
    finally:
        await conn.close()
    return dict(row) if row else None


async def _post(http, gateway: str, path: str, data: dict, page: str | None = None) -> int:
    token = await form_token(http, gateway + (page or path))
    async with http.post(
        gateway + path, data={**data, "csrf_token": token}, allow_redirects=False
    ) as resp:
        await resp.read()
        return resp.status


async def _page(gateway: str, link: str) -> tuple[int, str]:
    """The link's page as the agent opens it: (status, text)."""
    path = "/admin/premiere-connexion/" + link.rsplit("/", 1)[-1]
    async with new_session() as http, http.get(gateway + path) as resp:
        # The address holds the token: kept by no cache, sent to no other site.
        assert resp.headers["Cache-Control"] == "no-store"
        assert resp.headers["Referrer-Policy"] == "no-referrer"
        return resp.status, html.unescape(await resp.text())


async def test_a_new_agent_chooses_a_password_through_the_emailed_link_once(
    stack, database_url, smtp_server
):
    gateway = stack.gateway
    await create_account(database_url, Role.ADMINISTRATOR, "admin.comptes", ADMIN_PASSWORD)
    async with await signed_in_session(gateway, "admin.comptes", ADMIN_PASSWORD) as admin:
        status = await _post(
            admin,
            gateway,
            "/admin/comptes/nouveau",
            {"login": "awa.kone", "display_name": "Awa KONÉ", "role": "analyst", "email": EMAIL},
        )
        assert status == 303

        # The email: French, to her, with the link (text and HTML parts, readable on a phone).
        link = await sign_in_link(smtp_server, EMAIL)
        assert link.startswith(gateway + "/admin/premiere-connexion/")
        message = smtp_server.to(EMAIL)[0]
        assert "choisissez votre mot de passe" in str(message["Subject"])
        html_part = message.get_body(("html",)).get_content()
        assert 'name="viewport"' in html_part and link in html_part
        text = message.get_body(("plain",)).get_content()
        assert "Bonjour Awa KONÉ," in text and "Votre login est : awa.kone" in text
        assert "ne sert qu'une fois" in text and link in text

        # Notify's directory has her, as the gateway pushed it.
        found = await eventually(lambda: _recipient(database_url, "awa.kone"))
        assert (found["email"], found["role"], found["active"]) == (EMAIL, "analyst", True)
        assert found["alerts"] == "immediate" and found["display_name"] == "Awa KONÉ"

        # The link: she chooses her password and is signed in at once.
        status, http = await password_through_link(gateway, link, PASSWORD)
        async with http:
            assert status == 303
            async with http.get(gateway + "/admin/", allow_redirects=False) as resp:
                assert resp.status == 200
                assert "Awa KONÉ" in await resp.text()
        # The same link a second time: refused, in French, pointing to an administrator.
        status, page = await _page(gateway, link)
        assert status == 410
        assert "Ce lien a déjà servi" in page
        assert "Demandez un nouveau lien à un administrateur" in page
        status, http = await password_through_link(gateway, link, "un autre mot de passe")
        async with http:
            assert status == 410
        async with await signed_in_session(gateway, "awa.kone", PASSWORD):
            pass  # her password is the one she chose, not the second try

        # A new link from the administrator: her password stops working, a second email comes.
        conn = await asyncpg.connect(database_url)
        try:
            account_id = await conn.fetchval(
                "SELECT id FROM gateway.staff_accounts WHERE login = 'awa.kone'"
            )
            # The table keeps the token's hash only.
            token = link.rsplit("/", 1)[-1]
            hashes = await conn.fetch("SELECT token_hash FROM gateway.first_sign_in_links")
            assert all(token.encode() not in bytes(h["token_hash"]) for h in hashes)
        finally:
            await conn.close()
        assert (
            await _post(
                admin,
                gateway,
                f"/admin/comptes/{account_id}/nouveau-lien",
                {"confirm": "oui"},  # « Oui, envoyer le lien »
                page=f"/admin/comptes/{account_id}",
            )
            == 303
        )
        second = await sign_in_link(smtp_server, EMAIL, count=2)
        assert second != link
        with pytest.raises(AssertionError, match="refused"):
            await signed_in_session(gateway, "awa.kone", PASSWORD)

        # Expired: the row aged past its 48 hours (the clock of the database moved for it).
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute(
                """UPDATE gateway.first_sign_in_links
                   SET created_at = created_at - interval '49 hours',
                       expires_at = expires_at - interval '49 hours'
                   WHERE account_id = $1 AND used_at IS NULL AND replaced_at IS NULL""",
                account_id,
            )
        finally:
            await conn.close()
        status, page = await _page(gateway, second)
        assert status == 410
        assert "Ce lien a expiré" in page and "48 heures" in page
        status, http = await password_through_link(gateway, second, PASSWORD)
        async with http:
            assert status == 410

        # A third link works again.
        await _post(
            admin,
            gateway,
            f"/admin/comptes/{account_id}/nouveau-lien",
            {"confirm": "oui"},
            page=f"/admin/comptes/{account_id}",
        )
        third = await sign_in_link(smtp_server, EMAIL, count=3)
        status, http = await password_through_link(gateway, third, PASSWORD)
        async with http:
            assert status == 303


async def test_the_link_is_checked_against_a_clock_passed_in(stack, database_url):
    """48 hours to the second, with the clock the caller gives."""
    account = await create_account(database_url, Role.ANALYST, "awa.kone", PASSWORD)
    start = datetime(2026, 8, 7, 8, 0, tzinfo=UTC)
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("SET search_path TO gateway")
        token = await sign_in_links.issue(conn, account.id, now=start)
        states = [
            (await sign_in_links.look(conn, token, start + delta)).state
            for delta in (timedelta(0), timedelta(hours=47, minutes=59), timedelta(hours=48))
        ]
        unknown = await sign_in_links.look(conn, "x" * 43, start)
    finally:
        await conn.close()
    S = sign_in_links.State
    assert states == [S.VALID, S.VALID, S.EXPIRED]
    assert unknown.state is S.UNKNOWN


async def test_notify_s_directory_follows_the_account_changes(stack, database_url, smtp_server):
    gateway = stack.gateway
    await create_account(database_url, Role.ADMINISTRATOR, "admin.comptes", ADMIN_PASSWORD)
    async with await signed_in_session(gateway, "admin.comptes", ADMIN_PASSWORD) as admin:
        await _post(
            admin,
            gateway,
            "/admin/comptes/nouveau",
            {"login": "awa.kone", "role": "analyst", "email": EMAIL},
        )
        first = await eventually(lambda: _recipient(database_url, "awa.kone"))
        account_id = first["account_id"]
        page = f"/admin/comptes/{account_id}"

        async def becomes(**wanted):
            async def probe():
                row = await _recipient(database_url, "awa.kone")
                return row if row and all(row[k] == v for k, v in wanted.items()) else None

            return await eventually(probe)

        # Role and body.
        data = {"role": Role.FOCAL_POINT.value, "body_id": "ministere-budget"}
        assert await _post(admin, gateway, page + "/role", data, page=page) == 303
        await becomes(role="focal_point", body_id="ministere-budget")
        # Address.
        data = {"email": "awa@budget.gouv.ci"}
        assert await _post(admin, gateway, page + "/email", data, page=page) == 303
        await becomes(email="awa@budget.gouv.ci")
        # Another account's address is refused, in French.
        await create_account(database_url, Role.ANALYST, "yao.kouadio", PASSWORD, email="y@o.ci")
        async with admin.post(
            gateway + page + "/email",
            data={"email": "Y@o.ci", "csrf_token": await form_token(admin, gateway + page)},
        ) as resp:
            assert resp.status == 422
            assert "déjà celle d'un autre compte" in html.unescape(await resp.text())
        # Disabled, enabled.
        data = {"confirm": "oui"}
        assert await _post(admin, gateway, page + "/desactiver", data, page=page) == 303
        await becomes(active=False)
        assert await _post(admin, gateway, page + "/activer", {}, page=page) == 303
        await becomes(active=True, role="focal_point")

        # « Mes alertes »: she chooses one digest a day.
        link = await sign_in_link(smtp_server, EMAIL)
        status, http = await password_through_link(gateway, link, PASSWORD)
        async with http:
            assert status == 303
            async with http.get(gateway + "/admin/") as resp:  # in her menu
                assert 'href="/admin/mes-alertes"' in await resp.text()
            assert await _post(http, gateway, "/admin/mes-alertes", {"alerts": "digest"}) == 303
            async with http.get(gateway + "/admin/mes-alertes?fait=1") as resp:
                text = html.unescape(await resp.text())
                assert "Votre choix est enregistré." in text
                assert 'value="digest" checked' in text
        await becomes(alerts="digest")


async def test_nothing_is_lost_while_notify_is_down(
    gateway_alone, settings_for, database_url, smtp_server
):
    """The account is made while notify does not answer; the directory row and the email wait
    in the gateway's outbox and reach notify once it is up."""
    port = free_port()
    gw = await gateway_alone(notify_url=f"http://127.0.0.1:{port}", public_url="https://milie.ci")
    await create_account(database_url, Role.ADMINISTRATOR, "admin.comptes", ADMIN_PASSWORD)
    async with await signed_in_session(gw.url, "admin.comptes", ADMIN_PASSWORD) as admin:
        status = await _post(
            admin,
            gw.url,
            "/admin/comptes/nouveau",
            {"login": "awa.kone", "role": "analyst", "email": EMAIL},
        )
        assert status == 303

    async def waiting() -> tuple[int, int]:
        """(rows waiting, rows tried): the relay stops at the first refusal, to keep order."""
        conn = await asyncpg.connect(database_url)
        try:
            row = await conn.fetchrow(
                "SELECT count(*), count(*) FILTER (WHERE attempts > 0) FROM gateway.notify_outbox"
            )
            return tuple(row)
        finally:
            await conn.close()

    async def tried():
        return (await waiting())[1] > 0

    await eventually(tried)
    assert await waiting() == (2, 1)  # the directory row tried and kept, the email behind it

    notify = RunningApp(
        notify_app(settings_for(NotifySettings, smtp_port=smtp_server.port, db_pool_min=1))
    )
    notify.port = port
    async with notify:
        link = await sign_in_link(smtp_server, EMAIL, count=1)
        assert link.startswith("https://milie.ci/admin/premiere-connexion/")
        assert await eventually(lambda: _recipient(database_url, "awa.kone"))
        assert await waiting() == (0, 0)
