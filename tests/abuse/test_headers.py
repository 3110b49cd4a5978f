"""A name can never add a recipient (issue 14): notify builds every address header with the
standard library's address formatting, so a name holding ``\\r\\nBcc: x@evil`` or
``"a@b.c, d@e.f"`` reaches the real SMTP server (aiosmtpd) as one recipient in the envelope and
one address in ``To``, with no header added. And notify refuses to send an SMS to a country not
allowed (the second guard behind intake's)."""

from __future__ import annotations

import aiohttp
import pytest

from services.notify.app import create_app
from services.notify.emails import render
from services.notify.settings import NotifySettings
from services.notify.sms import OrangeSms, SmsRefused
from shared.messages import Contact
from tests.fakes.orange_sms import FakeOrangeSms
from tests.support import RunningApp, publish_event, submitted_event

HOSTILE_NAMES = [
    "KONÉ\r\nBcc: x@evil.example",
    "Aya\nBcc: x@evil.example",
    '"a@b.c, d@e.f"',
    "a@b.c, d@e.f",
    "x <x@evil.example>, y",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_the_rendered_message_has_one_recipient_and_no_added_header(name):
    import uuid
    from datetime import UTC, datetime
    from email import message_from_bytes, policy
    from email.utils import getaddresses

    raw = render(
        delivery_id=uuid.uuid4(),
        mail_from="Miliê <no-reply@milie.ci>",
        recipient="aya@example.ci",
        recipient_name=name,
        subject="Sujet",
        text="Bonjour",
        html=None,
        created_at=datetime.now(UTC),
    )
    message = message_from_bytes(raw, policy=policy.default)
    assert message["Bcc"] is None and message["Cc"] is None
    assert [a for _, a in getaddresses(message.get_all("To"))] == ["aya@example.ci"]
    # No line of the head starts a header of its own from the name.
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    assert not any(line.lower().startswith((b"bcc", b"cc:")) for line in head)
    assert sum(line.startswith(b"To:") for line in head) == 1


async def test_the_mail_server_receives_exactly_one_recipient(
    settings_for, smtp_server, amqp_url, namespace
):
    settings = settings_for(NotifySettings, smtp_port=smtp_server.port)
    events = []
    for name in HOSTILE_NAMES:
        event = submitted_event()
        events.append(
            submitted_event(contact=Contact(**{**event.contact.model_dump(), "last_name": name}))
        )
    async with RunningApp(create_app(settings)):
        for event in events:
            await publish_event(amqp_url, namespace, event)
        for event in events:
            [message] = await smtp_server.wait_for(event.contact.email)
            assert message["Bcc"] is None and message["Cc"] is None
            assert [a.addr_spec for a in message["To"].addresses] == [event.contact.email]
    recipients = [r for _, rcpts in smtp_server.envelopes for r in rcpts]
    assert sorted(recipients) == sorted(e.contact.email for e in events)
    assert not any("evil" in r or "b.c" in r or "e.f" in r for r in recipients)


async def test_notify_refuses_an_sms_to_a_country_not_allowed():
    async with FakeOrangeSms() as fake, aiohttp.ClientSession() as session:
        client = OrangeSms(
            session,
            base_url=fake.url,
            client_id=fake.client_id,
            client_secret=fake.client_secret,
            sender=fake.sender,
            sender_name="Milie",
            countries=frozenset({225}),
        )
        with pytest.raises(SmsRefused, match="not allowed"):
            await client.send("+33612345678", "Votre code : 1234567890")
        assert fake.send_attempts == 0 and fake.tokens_issued == 0
        await client.send("+2250707123456", "Votre code : 1234567890")
        assert len(fake.to("+2250707123456")) == 1
