"""Notify against real PostgreSQL, RabbitMQ and an SMTP server (aiosmtpd)."""

from __future__ import annotations

import asyncio
import json
import uuid
from contextlib import asynccontextmanager
from email.header import decode_header, make_header

import asyncpg
import pytest
from aiosmtpd.controller import Controller
from prometheus_client import REGISTRY

from services.notify.app import create_app
from services.notify.settings import NotifySettings
from shared.messages import Contact
from tests.conftest import SmtpInbox
from tests.notify.identity import analyst_headers
from tests.support import (
    RunningApp,
    dead_letters,
    eventually,
    free_port,
    publish_event,
    signed_session,
    submitted_event,
)

PUBLIC_URL = "https://portail.milie.test"


@pytest.fixture
def notify_settings(settings_for, smtp_server):
    def build(**overrides) -> NotifySettings:
        values = {"smtp_port": smtp_server.port, "public_url": PUBLIC_URL, **overrides}
        return settings_for(NotifySettings, **values)

    return build


@asynccontextmanager
async def database(settings: NotifySettings):
    conn = await asyncpg.connect(settings.database_url)
    try:
        await conn.execute("SET search_path TO notify")
        yield conn
    finally:
        await conn.close()


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


def header(message, name: str) -> str:
    """A header decoded (the fixture parses with the compat32 policy: RFC 2047 words stay)."""
    return str(make_header(decode_header(message[name] or "")))


def sample(name: str, labels: dict) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_submitted_event_sends_one_acknowledgement(
    notify_settings, smtp_server, amqp_url, namespace
):
    settings = notify_settings()
    event = submitted_event()
    email = event.contact.email
    async with RunningApp(create_app(settings)) as app:
        await publish_event(amqp_url, namespace, event)
        [message] = await smtp_server.wait_for(email)

        assert email in message["To"]
        assert "Aya KOUASSI" in header(message, "To")
        assert header(message, "Subject") == (
            f"Miliê — votre réclamation n° {event.code} a bien été enregistrée"
        )
        assert message["Message-ID"].endswith("@milie.ci>")
        assert message.is_multipart()
        parts = {p.get_content_type(): p for p in message.walk() if not p.is_multipart()}
        assert set(parts) == {"text/plain", "text/html"}
        text = parts["text/plain"].get_payload(decode=True).decode()
        assert f"Le numéro de la demande est : {event.code}" in text
        assert f"{PUBLIC_URL}/suivre?code={event.code}" in text
        assert "Bienvenue sur le Portail du citoyen Miliê" in text
        assert smtp_server.envelopes[-1] == ("no-reply@milie.ci", [email])

        async def sent():
            log = await delivery_log(app, event.request_id)
            return log if log and log[0]["status"] == "sent" else None

        [row] = await eventually(sent)
        assert row["medium"] == "email"
        assert row["recipient"] == email
        assert row["attempts"] == 1
        assert row["sent_at"] is not None
        assert message["Message-ID"] == f"<{row['id']}@milie.ci>"

        async with database(settings) as conn:
            body = await conn.fetchval(
                "SELECT body FROM outbox WHERE message_type = 'notification.sent.v1'"
            )
            recipient = await conn.fetchrow(
                "SELECT * FROM recipients WHERE request_id = $1", event.request_id
            )
        assert json.loads(body)["delivery_id"] == row["id"]
        assert recipient["code"] == event.code
        assert recipient["email"] == email
        assert recipient["phone"] == "+2250707123456"


async def test_the_acknowledgement_reaches_the_citizen_as_a_receipt_readable_on_a_phone(
    notify_settings, smtp_server, amqp_url, namespace, browser
):
    """At the SMTP server: the code, the date, the body, the message, the attachments' names and
    the analysts' deadline (from MILIE_ADMISSIBILITY_DAYS_BY_NATURE, as triage reads it); the
    HTML part, opened in Chromium at 360 px, fits the screen."""
    from datetime import UTC, datetime

    from shared.messages import AttachmentRef

    settings = notify_settings(admissibility_days_by_nature={"reclamation": 5})
    event = submitted_event(
        submitted_at=datetime(2026, 3, 2, 8, 15, tzinfo=UTC),
        place_label="Abidjan — Plateau",
        message="Le guichet était fermé.\nVoir https://exemple.ci/" + "trèsLongChemin" * 12,
        attachments=[
            AttachmentRef(
                attachment_id=uuid.uuid4(),
                filename=name,
                content_type="application/pdf",
                size=2048,
            )
            for name in ("facture-mars.pdf", "reçu guichet.pdf")
        ],
    )
    async with RunningApp(create_app(settings)):
        await publish_event(amqp_url, namespace, event)
        [message] = await smtp_server.wait_for(event.contact.email)
    parts = {p.get_content_type(): p for p in message.walk() if not p.is_multipart()}
    # Parsed from the wire, the lines end with CRLF.
    text = parts["text/plain"].get_payload(decode=True).decode().replace("\r\n", "\n")
    html = parts["text/html"].get_payload(decode=True).decode()
    for words in (
        f"Numéro de la demande : {event.code}",
        "Envoyée le : 02/03/2026 à 08:15",
        f"Organisme concerné : {event.body_name}",
        "Lieu : Abidjan — Plateau",
        "Pièces jointes : facture-mars.pdf, reçu guichet.pdf",
        "« Le guichet était fermé.\nVoir https://exemple.ci/trèsLongChemin",
        "dans un délai de 5 jours ouvrés : vous recevrez leur décision par email au plus tard "
        "le 09/03/2026.",
    ):
        assert words in text, words
    assert 'name="viewport"' in html

    context = await browser.new_context(viewport={"width": 360, "height": 740})
    try:
        page = await context.new_page()
        await page.set_content(html)
        assert await page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")
        body = await page.inner_text("body")
        for words in (event.code, "reçu guichet.pdf", "09/03/2026", "Le guichet était fermé."):
            assert words in body, words
    finally:
        await context.close()


async def test_same_message_twice_sends_one_email(
    notify_settings, smtp_server, amqp_url, namespace
):
    settings = notify_settings()
    event = submitted_event()
    message_id = str(uuid.uuid4())
    duplicates = {"type": "request.submitted.v1"}
    before = sample("milie_messages_duplicate_total", duplicates)
    async with RunningApp(create_app(settings)) as app:
        await publish_event(amqp_url, namespace, event, message_id=message_id)
        await publish_event(amqp_url, namespace, event, message_id=message_id)

        async def second_copy_seen():
            return sample("milie_messages_duplicate_total", duplicates) >= before + 1

        await eventually(second_copy_seen)

        async def sent():
            log = await delivery_log(app, event.request_id)
            return log if log and all(r["status"] == "sent" for r in log) else None

        log = await eventually(sent)
        assert len(log) == 1
        assert len(smtp_server.to(event.contact.email)) == 1
        async with database(settings) as conn:
            assert await conn.fetchval("SELECT count(*) FROM deliveries") == 1


async def test_email_waits_for_a_smtp_server_that_is_down(settings_for, amqp_url, namespace):
    inbox = SmtpInbox("127.0.0.1", free_port())
    settings = settings_for(NotifySettings, smtp_port=inbox.port, public_url=PUBLIC_URL)
    event = submitted_event()
    controller = Controller(inbox, hostname=inbox.host, port=inbox.port)
    async with RunningApp(create_app(settings)) as app:
        await publish_event(amqp_url, namespace, event)

        async def attempted():
            log = await delivery_log(app, event.request_id)
            return log if log and log[0]["attempts"] >= 1 else None

        [row] = await eventually(attempted)
        assert row["status"] == "pending"
        assert row["last_error"]

        await asyncio.to_thread(controller.start)
        try:
            [message] = await inbox.wait_for(event.contact.email)
            assert event.code in header(message, "Subject")

            async def sent():
                log = await delivery_log(app, event.request_id)
                return log if log and log[0]["status"] == "sent" else None

            [row] = await eventually(sent)
            assert row["attempts"] > 1
            assert len(inbox.to(event.contact.email)) == 1
        finally:
            await asyncio.to_thread(controller.stop)


async def test_contact_without_email_gets_no_email_and_an_unsent_line(
    notify_settings, smtp_server, amqp_url, namespace
):
    settings = notify_settings()
    silent = submitted_event(
        contact=Contact(last_name="KONE", first_names="Ali", phone="+2250505123456")
    )
    after = submitted_event()
    async with RunningApp(create_app(settings)) as app:
        await publish_event(amqp_url, namespace, silent)
        async with database(settings) as conn:

            async def recorded():
                return await conn.fetchrow(
                    "SELECT * FROM recipients WHERE request_id = $1", silent.request_id
                )

            recipient = await eventually(recorded)
        assert recipient["email"] is None
        assert recipient["phone"] == "+2250505123456"
        # No SMS sent (MILIE_SMS_ENABLED off): written down unsent, with why (test_unsent.py).
        [unsent] = await delivery_log(app, silent.request_id)
        assert (unsent["medium"], unsent["status"]) == ("sms", "unsent")

        # Still working afterwards, and nothing was dead-lettered.
        await publish_event(amqp_url, namespace, after)
        await smtp_server.wait_for(after.contact.email)
        assert await dead_letters(amqp_url, f"{namespace}.milie.notify.dead-letter") == []
        async with database(settings) as conn:
            # The unsent line, and the other citizen's email.
            assert await conn.fetchval("SELECT count(*) FROM deliveries") == 2


async def test_health_and_metrics(notify_settings):
    async with (
        RunningApp(create_app(notify_settings())) as app,
        signed_session() as http,
    ):
        async with http.get(f"{app.url}/health/ready") as resp:
            assert resp.status == 200
            body = await resp.json()
        assert body["checks"] == {"database": True, "broker": True, "sender": True}
        async with http.get(f"{app.url}/metrics") as resp:
            assert resp.status == 200
            text = await resp.text()
        for name in (
            'milie_notifications_sent_total{medium="email"}',
            'milie_notifications_failed_total{medium="email"}',
            "milie_notifications_pending",
        ):
            assert name in text


async def test_delivery_log_refuses_a_bad_uuid(notify_settings):
    async with (
        RunningApp(create_app(notify_settings())) as app,
        signed_session() as http,
    ):
        for query in ("?request_id=not-a-uuid", ""):
            headers = analyst_headers(app.app)
            async with http.get(f"{app.url}/deliveries{query}", headers=headers) as resp:
                assert resp.status == 400
                assert (await resp.json())["error"] == "invalid_request_id"
        # The log names citizens' addresses: staff only, with the gateway's signed identity.
        async with http.get(f"{app.url}/deliveries?request_id={uuid.uuid4()}") as resp:
            assert resp.status == 401


class RefusingInbox(SmtpInbox):
    """An SMTP server that refuses one mailbox for good (550)."""

    refused: str = ""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == self.refused:
            return "550 5.1.1 mailbox unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"


async def test_a_refused_recipient_fails_at_once(settings_for, amqp_url, namespace):
    inbox = RefusingInbox("127.0.0.1", free_port())
    event = submitted_event()
    other = submitted_event()
    inbox.refused = event.contact.email
    controller = Controller(inbox, hostname=inbox.host, port=inbox.port)
    controller.start()
    try:
        settings = settings_for(NotifySettings, smtp_port=inbox.port)
        before = sample("milie_notifications_failed_total", {"medium": "email"})
        async with RunningApp(create_app(settings)) as app:
            await publish_event(amqp_url, namespace, event)
            await publish_event(amqp_url, namespace, other)

            async def failed():
                log = await delivery_log(app, event.request_id)
                return log if log and log[0]["status"] == "failed" else None

            [row] = await eventually(failed)
            assert row["attempts"] == 1
            assert "550" in row["last_error"]
            # The same connection goes on with the next email.
            await inbox.wait_for(other.contact.email)
            async with database(settings) as conn:
                body = await conn.fetchval(
                    "SELECT body FROM outbox WHERE message_type = 'notification.failed.v1'"
                )
            assert json.loads(body)["delivery_id"] == row["id"]
            assert sample("milie_notifications_failed_total", {"medium": "email"}) == before + 1
    finally:
        controller.stop()


class GreylistingInbox(SmtpInbox):
    """An SMTP server that answers « try again later » (451) to every recipient."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        return "451 4.7.1 greylisted, try again later"


async def test_temporary_refusals_fail_after_max_attempts(settings_for, amqp_url, namespace):
    inbox = GreylistingInbox("127.0.0.1", free_port())
    controller = Controller(inbox, hostname=inbox.host, port=inbox.port)
    controller.start()
    try:
        settings = settings_for(NotifySettings, smtp_port=inbox.port, max_attempts=2)
        event = submitted_event()
        async with RunningApp(create_app(settings)) as app:
            await publish_event(amqp_url, namespace, event)

            async def failed():
                log = await delivery_log(app, event.request_id)
                return log if log and log[0]["status"] == "failed" else None

            [row] = await eventually(failed)
            assert row["attempts"] == 2
            assert "451" in row["last_error"]
    finally:
        controller.stop()


async def test_two_copies_send_each_email_once(notify_settings, smtp_server, amqp_url, namespace):
    settings = notify_settings(sender_concurrency=2, sender_batch=3)
    events = [submitted_event() for _ in range(30)]
    async with RunningApp(create_app(settings)), RunningApp(create_app(settings)):
        await asyncio.gather(*(publish_event(amqp_url, namespace, e) for e in events))
        for event in events:
            await smtp_server.wait_for(event.contact.email)
        async with database(settings) as conn:

            async def all_sent():
                return await conn.fetchval(
                    "SELECT count(*) = 30 FROM deliveries WHERE status = 'sent'"
                )

            await eventually(all_sent)
    ids = [m["Message-ID"] for m in smtp_server.messages]
    assert len(ids) == 30
    assert len(set(ids)) == 30


async def test_a_server_we_cannot_talk_to_never_loses_mail(
    notify_settings, smtp_server, amqp_url, namespace
):
    # STARTTLS asked of a server that does not offer it: our configuration, not the message.
    settings = notify_settings(smtp_starttls=True, max_attempts=1)
    event = submitted_event()
    async with RunningApp(create_app(settings)) as app:
        await publish_event(amqp_url, namespace, event)

        async def retried():
            log = await delivery_log(app, event.request_id)
            return log if log and log[0]["attempts"] >= 2 else None

        [row] = await eventually(retried)
        assert row["status"] == "pending"
        assert "SmtpUnavailable" in row["last_error"]
    assert smtp_server.messages == []


async def test_the_acknowledgement_dates_the_decision_with_the_administrators_deadline(
    notify_settings, smtp_server, amqp_url, namespace
):
    """« Délais »: notify's copy of the policy (deadlines.policy_changed) wins over its settings,
    the body's own value over the nature's, and a day declared off is not counted."""
    from datetime import UTC, date, datetime

    from shared.messages import (
        DeadlineKind,
        DeadlineRule,
        DeadlinesPolicyChangedV1,
        DeclaredDayOff,
        Nature,
    )

    settings = notify_settings(admissibility_days_by_nature={"reclamation": 5})
    event = submitted_event(submitted_at=datetime(2026, 3, 2, 8, 15, tzinfo=UTC))
    policy = DeadlinesPolicyChangedV1(
        revision=1,
        rules=[
            DeadlineRule(kind=DeadlineKind.ADMISSIBILITY, nature=Nature.RECLAMATION, days=9),
            DeadlineRule(
                kind=DeadlineKind.ADMISSIBILITY,
                nature=Nature.RECLAMATION,
                body_id=event.body_id,
                days=3,
            ),
        ],
        days_off=[DeclaredDayOff(day=date(2026, 3, 4), label="Deuil national")],
        changed_at=datetime.now(UTC),
    )
    async with RunningApp(create_app(settings)):
        await publish_event(amqp_url, namespace, policy)
        async with database(settings) as conn:

            async def copied():
                return await conn.fetchval("SELECT revision FROM deadline_revision") == 1

            await eventually(copied)
        await publish_event(amqp_url, namespace, event)
        [message] = await smtp_server.wait_for(event.contact.email)
    parts = {p.get_content_type(): p for p in message.walk() if not p.is_multipart()}
    text = parts["text/plain"].get_payload(decode=True).decode().replace("\r\n", "\n")
    # Three working days after Monday 2 March, Wednesday 4 declared off: Friday 6 March.
    assert "dans un délai de 3 jours ouvrés" in text
    assert "au plus tard le 06/03/2026." in text
