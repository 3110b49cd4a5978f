"""Notify's staff directory and staff emails (issue 13), as the gateway's relay calls them: a real
PostgreSQL and a real SMTP server (aiosmtpd), down for a while in one test."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import aiohttp
import asyncpg
import pytest
from aiosmtpd.controller import Controller

from services.notify import staff
from services.notify.app import create_app
from services.notify.settings import NotifySettings
from tests.conftest import SmtpInbox
from tests.support import RunningApp, eventually, free_port, signed_session

LINK = "https://portail.milie.test/admin/premiere-connexion/" + "a" * 43
EXPIRES = datetime(2026, 8, 9, 10, 30, tzinfo=UTC)


@pytest.fixture
def notify_settings(settings_for, smtp_server):
    def build(**overrides) -> NotifySettings:
        return settings_for(NotifySettings, **{"smtp_port": smtp_server.port, **overrides})

    return build


def recipient(at: datetime, **changes) -> dict:
    return {
        "login": "pf.budget",
        "display_name": "Awa KONÉ",
        "email": "awa.kone@budget.gouv.ci",
        "role": "focal-point",
        "body_id": "ministere-budget",
        "alerts": "immediate",
        "active": True,
        "changed_at": at.isoformat(),
        **changes,
    }


async def _row(settings: NotifySettings, account_id: str) -> dict | None:
    conn = await asyncpg.connect(settings.database_url)
    try:
        row = await conn.fetchrow(
            "SELECT * FROM notify.staff_recipients WHERE account_id = $1", account_id
        )
    finally:
        await conn.close()
    return dict(row) if row else None


async def test_the_directory_keeps_the_newest_state_of_each_account(notify_settings):
    settings = notify_settings()
    account = str(uuid.uuid4())
    now = datetime.now(UTC)
    async with RunningApp(create_app(settings)) as app, signed_session() as http:
        url = f"{app.url}/staff/recipients/{account}"
        async with http.put(url, json=recipient(now)) as resp:
            assert resp.status == 200
            assert (await resp.json())["applied"] is True
        row = await _row(settings, account)
        assert row["role"] == "focal_point" and row["body_id"] == "ministere-budget"
        assert row["active"] is True and row["email"] == "awa.kone@budget.gouv.ci"
        # The same push again (a relay retried after a lost answer): the same row.
        async with http.put(url, json=recipient(now)) as resp:
            assert resp.status == 200
        # A newer state: kept; an older one arriving late: answered, not applied.
        later = recipient(now + timedelta(seconds=1), active=False, alerts="digest")
        async with http.put(url, json=later) as resp:
            assert (await resp.json())["applied"] is True
        async with http.put(url, json=recipient(now, role="analyst")) as resp:
            assert resp.status == 200 and (await resp.json())["applied"] is False
        row = await _row(settings, account)
        assert (row["active"], row["alerts"], row["role"]) == (False, "digest", "focal_point")
        # Another role has no body.
        async with http.put(
            url, json=recipient(now + timedelta(seconds=2), role="analyst")
        ) as resp:
            assert resp.status == 200
        row = await _row(settings, account)
        assert (row["role"], row["body_id"]) == ("analyst", None)
        # Bad input: a clear refusal, nothing written.
        async with http.put(url, json=recipient(now, email="pas une adresse")) as resp:
            assert resp.status == 400
            assert "email" in (await resp.json())["message"]
    # Unsigned: refused.
    async with RunningApp(create_app(settings)) as app:
        async with (
            aiohttp.ClientSession() as plain,
            plain.put(f"{app.url}/staff/recipients/{account}", json=recipient(now)) as resp,
        ):
            assert resp.status == 401


async def test_a_first_sign_in_email_is_sent_once_to_the_directory_s_address(
    notify_settings, smtp_server
):
    settings = notify_settings()
    account = str(uuid.uuid4())
    message = {
        "message_id": str(uuid.uuid4()),
        "account_id": account,
        "kind": "first_sign_in",
        "link": LINK,
        "expires_at": EXPIRES.isoformat(),
    }
    async with RunningApp(create_app(settings)) as app, signed_session() as http:
        # Not in the directory yet: refused, so the gateway's relay tries again later.
        async with http.post(f"{app.url}/staff/messages", json=message) as resp:
            assert resp.status == 404
        now = datetime.now(UTC)
        async with http.put(f"{app.url}/staff/recipients/{account}", json=recipient(now)) as resp:
            assert resp.status == 200
        for _ in range(2):  # posted twice (a retried relay): one email
            async with http.post(f"{app.url}/staff/messages", json=message) as resp:
                assert resp.status == 202
        [mail] = await smtp_server.wait_for("awa.kone@budget.gouv.ci")
        text = mail.get_body(("plain",)).get_content()
        assert "Bonjour Awa KONÉ," in text
        assert "Votre login est : pf.budget" in text
        assert LINK in text
        assert "valable jusqu'au 09/08/2026 à 10:30" in text
        html = mail.get_body(("html",)).get_content()
        assert 'name="viewport"' in html and f'href="{LINK}"' in html
        conn = await asyncpg.connect(settings.database_url)
        try:
            rows = await conn.fetch(
                "SELECT about_message_type, status FROM notify.deliveries "
                "WHERE about_message_id = $1",
                uuid.UUID(message["message_id"]),
            )
        finally:
            await conn.close()
        assert [tuple(r) for r in rows] in (
            [("staff.first_sign_in", "sent")],
            [("staff.first_sign_in", "pending")],
        )
        assert len(smtp_server.to("awa.kone@budget.gouv.ci")) == 1
        # Bad input: an unknown kind, a link that is not one.
        for wrong in ({"kind": "autre"}, {"link": "javascript:alert(1)"}):
            async with http.post(f"{app.url}/staff/messages", json={**message, **wrong}) as resp:
                assert resp.status == 400


async def test_a_staff_email_waits_while_the_smtp_server_is_down(settings_for):
    """Queued while nothing answers on the SMTP port, sent once a server listens there."""
    port = free_port()
    settings = settings_for(NotifySettings, smtp_port=port, retry_cap_seconds=1.0)
    account = str(uuid.uuid4())
    async with RunningApp(create_app(settings)) as app, signed_session() as http:
        async with http.put(
            f"{app.url}/staff/recipients/{account}", json=recipient(datetime.now(UTC))
        ) as resp:
            assert resp.status == 200
        message_id = str(uuid.uuid4())
        body = {
            "message_id": message_id,
            "account_id": account,
            "kind": staff.FIRST_SIGN_IN,
            "link": LINK,
            "expires_at": EXPIRES.isoformat(),
        }
        async with http.post(f"{app.url}/staff/messages", json=body) as resp:
            assert resp.status == 202

        async def attempted():
            conn = await asyncpg.connect(settings.database_url)
            try:
                return await conn.fetchval(
                    "SELECT attempts FROM notify.deliveries WHERE about_message_id = $1 "
                    "AND status = 'pending' AND attempts > 0",
                    uuid.UUID(message_id),
                )
            finally:
                await conn.close()

        await eventually(attempted)
        inbox = SmtpInbox("127.0.0.1", port)
        controller = Controller(inbox, hostname=inbox.host, port=port)
        controller.start()
        try:
            [mail] = await inbox.wait_for("awa.kone@budget.gouv.ci")
            assert LINK in mail.get_body(("plain",)).get_content()
        finally:
            controller.stop()
