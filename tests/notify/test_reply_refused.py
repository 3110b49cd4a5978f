"""A citizen's reply treatment could not apply (request.citizen_reply_refused) is told to the
citizen — by email where they gave an address, by SMS where they gave a mobile number — once,
with the reason: the portal had told them it was recorded (real PostgreSQL, RabbitMQ and SMTP
server; a local fake of Orange's SMS API)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from email.header import decode_header, make_header

from services.notify import sms_texts
from services.notify.app import create_app
from services.notify.emails import tracking_link
from services.notify.settings import NotifySettings
from shared import french
from shared.messages import CitizenReply, Contact, RequestCitizenReplyRefusedV1
from tests.notify.test_sms_notices import fake_sms  # noqa: F401 (a fixture)
from tests.support import RunningApp, publish_event, submitted_event

PUBLIC_URL = "https://portail.milie.test"
REASON = "la requête avait été clôturée sans retour le 11/01/2027"


def refused(event, reply: CitizenReply = CitizenReply.OPINION) -> RequestCitizenReplyRefusedV1:
    now = datetime.now(UTC)
    return RequestCitizenReplyRefusedV1(
        request_id=event.request_id,
        code=event.code,
        body_id="ministere-budget",
        reply=reply,
        reason=REASON,
        recorded_at=now - timedelta(days=1),
        refused_at=now,
    )


async def test_a_refused_opinion_is_told_by_email_and_by_sms_once(
    settings_for,
    amqp_url,
    namespace,
    smtp_server,
    fake_sms,  # noqa: F811
):
    settings = settings_for(
        NotifySettings,
        smtp_port=smtp_server.port,
        public_url=PUBLIC_URL,
        **fake_sms.settings,
    )
    citizen = submitted_event()
    address = citizen.contact.email
    mobile = f"+22507{uuid.uuid4().int % 10**8:08d}"
    caller = submitted_event(contact=Contact(last_name="YAO", phone=mobile, email=None))
    told, told_caller = refused(citizen), refused(caller, CitizenReply.REOPENING)
    async with RunningApp(create_app(settings)):
        for event in (citizen, caller):
            await publish_event(amqp_url, namespace, event)
        await smtp_server.wait_for(address)  # the acknowledgement
        await fake_sms.wait_for(mobile)
        message_id = await publish_event(amqp_url, namespace, told)
        await publish_event(amqp_url, namespace, told, message_id=message_id)  # a redelivery
        await publish_event(amqp_url, namespace, told_caller)
        mails = await smtp_server.wait_for(address, count=2)
        texts = await fake_sms.wait_for(mobile, count=2)

    assert len(smtp_server.to(address)) == 2
    subject = str(make_header(decode_header(mails[1]["Subject"])))
    assert subject == (
        f"Miliê — requête n° {citizen.code} : votre avis n'a pas pu être pris en compte"
    )
    body = " ".join(mails[1].get_body(("plain",)).get_content().split())
    assert (
        f"Votre avis du {french.day(told.recorded_at)} n'a pas pu être pris en compte : "
        f"{REASON}." in body
    )
    assert tracking_link(PUBLIC_URL, citizen.code) in body
    sms = texts[1].message
    assert "votre relance sur la demande" in sms and "cloturée sans retour le 11/01/2027" in sms
    assert sms_texts.is_gsm7(sms) and sms_texts.segments(sms) <= 2
    assert sms.endswith(tracking_link(PUBLIC_URL, caller.code))
