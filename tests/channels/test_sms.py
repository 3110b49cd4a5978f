"""The SMS with the code: notify on real PostgreSQL and RabbitMQ, sending through a local fake of
Orange's SMS API (the real one is an edge nobody here can reach)."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

import asyncpg
import pytest

from services.notify.app import create_app
from services.notify.settings import NotifySettings
from services.notify.sms import (
    OrangeSms,
    SmsProviderUnavailable,
    SmsRefused,
    SmsTemporary,
)
from shared.messages import Contact
from shared.reach import is_mobile
from tests.channels.conftest import sms_settings
from tests.notify.identity import analyst_headers
from tests.support import (
    RunningApp,
    eventually,
    free_port,
    publish_event,
    signed_session,
    submitted_event,
)

PUBLIC_URL = "https://portail.milie.test"
MOBILE = "+2250707123456"


@pytest.fixture
async def notify(settings_for, smtp_server, fake_sms) -> AsyncIterator[RunningApp]:
    settings = settings_for(
        NotifySettings,
        smtp_port=smtp_server.port,
        public_url=PUBLIC_URL,
        db_pool_min=1,
        **sms_settings(fake_sms),
    )
    async with RunningApp(create_app(settings)) as app:
        yield app


async def delivery_log(app: RunningApp, request_id) -> list[dict]:
    async with (
        signed_session() as http,
        http.get(
            f"{app.url}/deliveries",
            params={"request_id": str(request_id)},
            headers=analyst_headers(app.app),
        ) as resp,
    ):
        assert resp.status == 200
        return await resp.json()


async def settled(app: RunningApp, request_id, medium: str = "sms") -> dict:
    """The delivery of ``medium`` once it is sent or failed."""

    async def probe():
        rows = [r for r in await delivery_log(app, request_id) if r["medium"] == medium]
        return rows[0] if rows and rows[0]["status"] != "pending" else None

    return await eventually(probe)


async def test_the_code_by_sms_once_even_after_a_provider_failure(
    notify, fake_sms, smtp_server, amqp_url, namespace, database_url
):
    fake_sms.fail_next(1, 503)
    event = submitted_event()
    await publish_event(amqp_url, namespace, event)

    [sms] = await fake_sms.wait_for(MOBILE)
    assert sms.message == (
        f"Milie : votre réclamation est enregistrée. Son code : {event.code}. "
        f"Gardez-le pour la suivre sur {PUBLIC_URL}/suivre?code={event.code}"
    )
    assert sms.sender_address == f"tel:+{fake_sms.sender}"
    assert "/outbound/tel%3A%2B2250700000000/requests" in sms.raw_path
    row = await settled(notify, event.request_id)
    assert (row["status"], row["attempts"], row["recipient"]) == ("sent", 2, MOBILE)
    assert row["last_error"].startswith("SmsTemporary: 503")
    # One 503, one accepted send, one SMS: the sent row is never claimed again.
    assert (fake_sms.send_attempts, len(fake_sms.messages), fake_sms.tokens_issued) == (2, 1, 1)
    # The email goes out as before, beside it.
    await smtp_server.wait_for(event.contact.email)

    conn = await asyncpg.connect(database_url)
    try:
        bodies = await conn.fetch(
            "SELECT body::text FROM notify.outbox WHERE message_type = 'notification.sent.v1'"
        )
        ref = await conn.fetchval("SELECT provider_ref FROM notify.deliveries WHERE medium = 'sms'")
    finally:
        await conn.close()
    sent = [json.loads(b["body"]) for b in bodies]
    assert sorted(s["medium"] for s in sent) == ["email", "sms"]
    assert ref.startswith(f"{fake_sms.url}/smsmessaging/v1/outbound/")


async def test_a_revoked_token_is_replaced_and_the_sms_sent(notify, fake_sms, amqp_url, namespace):
    first = submitted_event()
    await publish_event(amqp_url, namespace, first)
    await fake_sms.wait_for(MOBILE)
    assert fake_sms.tokens_issued == 1

    fake_sms.revoke_tokens()  # as when Orange expires a token early
    second = submitted_event(
        contact=Contact(phone="+2250505123456", email="kone@example.ci", last_name="KONE")
    )
    await publish_event(amqp_url, namespace, second)
    [sms] = await fake_sms.wait_for("+2250505123456")
    assert second.code in sms.message
    row = await settled(notify, second.request_id)
    assert (row["status"], row["attempts"]) == ("sent", 1)
    assert (fake_sms.tokens_issued, fake_sms.unauthorized) == (2, 1)


async def test_a_refused_sms_fails_for_good_and_no_sms_without_a_mobile(
    notify, fake_sms, smtp_server, amqp_url, namespace
):
    fake_sms.fail_next(1, 400)
    refused = submitted_event()
    await publish_event(amqp_url, namespace, refused)
    row = await settled(notify, refused.request_id)
    assert (row["status"], row["attempts"]) == ("failed", 1)
    assert row["last_error"].startswith("SmsRefused: 400")

    for phone in ("+2252122000000", None):  # a landline, no number
        event = submitted_event(
            contact=Contact(phone=phone, email=f"sans-mobile-{phone}@example.ci")
        )
        await publish_event(amqp_url, namespace, event)
        await settled(notify, event.request_id, medium="email")
        assert [r["medium"] for r in await delivery_log(notify, event.request_id)] == ["email"]
    assert fake_sms.messages == []


async def test_no_sms_when_no_provider_is_configured(
    settings_for, smtp_server, amqp_url, namespace, caplog
):
    caplog.set_level(logging.WARNING, logger="services.notify.app")
    settings = settings_for(NotifySettings, smtp_port=smtp_server.port, db_pool_min=1)
    async with RunningApp(create_app(settings)) as app:
        event = submitted_event()
        await publish_event(amqp_url, namespace, event)
        await settled(app, event.request_id, medium="email")
        assert [r["medium"] for r in await delivery_log(app, event.request_id)] == ["email"]
    assert "SMS disabled: MILIE_SMS_ENABLED is off" in caplog.text


async def test_the_client_keeps_its_token_until_it_expires_and_classifies_failures(fake_sms):
    now = [1000.0]
    async with signed_session() as session:

        def client(**overrides) -> OrangeSms:
            values = {
                "base_url": fake_sms.url,
                "client_id": fake_sms.client_id,
                "client_secret": fake_sms.client_secret,
                "sender": fake_sms.sender,
                "sender_name": "Milie",
                "clock": lambda: now[0],
                **overrides,
            }
            return OrangeSms(session, **values)

        orange = client()
        assert (await orange.send(MOBILE, "un")).startswith(fake_sms.url)
        await orange.send(MOBILE, "deux")
        assert fake_sms.tokens_issued == 1
        now[0] += 3600 - 60  # the token's life, less the margin
        await orange.send(MOBILE, "trois")
        assert fake_sms.tokens_issued == 2
        assert [m.message for m in fake_sms.messages] == ["un", "deux", "trois"]

        fake_sms.fail_next(1, 503)
        with pytest.raises(SmsTemporary):
            await orange.send(MOBILE, "quatre")
        fake_sms.fail_next(1, 429)
        with pytest.raises(SmsTemporary):
            await orange.send(MOBILE, "quatre")
        with pytest.raises(SmsRefused):
            await orange.send("+225", "numéro incomplet")
        with pytest.raises(SmsProviderUnavailable, match="token: 401"):
            await client(client_secret="mauvais").send(MOBILE, "cinq")
        with pytest.raises(SmsProviderUnavailable):
            await client(base_url=f"http://127.0.0.1:{free_port()}").send(MOBILE, "six")
        assert len(fake_sms.messages) == 3


def test_only_mobile_numbers_get_an_sms():
    assert is_mobile("+2250707123456")
    assert is_mobile("+33612345678")
    assert not is_mobile("+2252122000000")  # a landline
    assert not is_mobile("+22507")
    assert not is_mobile(None)


def test_an_sms_provider_needs_its_credentials():
    with pytest.raises(ValueError, match="MILIE_SMS_CLIENT_ID"):
        NotifySettings(sms_enabled=True, sms_base_url="https://api.orange.com")
    with pytest.raises(ValueError, match="digits"):
        NotifySettings(
            sms_enabled=True,
            sms_base_url="https://api.orange.com",
            sms_client_id="id",
            sms_client_secret="secret",
            sms_sender="+225 07",
        )
    assert not NotifySettings().sms_enabled
