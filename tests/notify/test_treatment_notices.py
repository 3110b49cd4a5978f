"""notify tells the citizen what the body did — its answer, a hold, a further message, a
« Retraitement » received — by email and by SMS, once per event (real PostgreSQL, RabbitMQ and
SMTP server; a local fake of Orange's SMS API)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.header import decode_header, make_header

import asyncpg
import pytest

from services.notify import sms_texts, treatment
from services.notify.app import create_app
from services.notify.settings import NotifySettings
from shared.messages import (
    Acknowledgement,
    Actor,
    Contact,
    DocumentRef,
    RequestAssignedV1,
    RequestCitizenAnsweredV1,
    RequestCitizenReplyRefusedV1,
    RequestClosedV1,
    RequestPutOnHoldV1,
    RequestReopenedV1,
    RequestSubmittedV1,
    RequestTreatedV1,
)
from tests.fakes.orange_sms import FakeOrangeSms
from tests.support import RunningApp, eventually, publish_event, submitted_event

PUBLIC_URL = "https://portail.milie.test"
FOCAL = Actor(staff_id="pf-1", role="focal_point")
MOBILE = "+2250707123456"
OTHER_MOBILE = "+2250505123456"
BODY_ID = "ministere-budget"


@pytest.fixture
async def fake_sms() -> AsyncIterator[FakeOrangeSms]:
    async with FakeOrangeSms() as fake:
        yield fake


def _subject(mail) -> str:
    return str(make_header(decode_header(mail["Subject"])))


def _text(mail) -> str:
    return mail.get_body(("plain",)).get_content()


def _html(mail) -> str:
    return mail.get_body(("html",)).get_content()


def _treated(request_id, code, message="Votre dossier est régularisé.", **kw) -> RequestTreatedV1:
    return RequestTreatedV1(
        request_id=request_id,
        code=code,
        body_id=BODY_ID,
        message=message,
        actor=FOCAL,
        treated_at=datetime.now(UTC),
        **kw,
    )


def test_the_answer_email_quotes_the_body_and_asks_for_an_opinion_in_french():
    request_id = uuid.uuid4()
    document = DocumentRef(
        document_id=uuid.uuid4(), filename="quittance.pdf", content_type="application/pdf", size=9
    )
    notice = treatment.treated(
        _treated(
            request_id, "2029392357", "Remboursé <le> 3 mars.\nCordialement.", documents=[document]
        ),
        "Aya KOUASSI",
        PUBLIC_URL,
    )
    mail = notice.email
    link = f"{PUBLIC_URL}/suivre?code=2029392357"
    assert mail.subject == "Miliê — votre requête n° 2029392357 a été traitée"
    assert mail.text.startswith("Bonjour Aya KOUASSI,")
    assert "« Remboursé <le> 3 mars.\nCordialement. »" in mail.text
    assert "Un document est joint à la réponse : vous le trouverez sur « Suivre" in mail.text
    assert "(s)" not in mail.text
    assert (
        "« Satisfait », « Partiellement satisfait » ou « Non satisfait »), ou choisissez "
        "« Relancer »"
    ) in mail.text
    assert f"« Suivre une requête » : {link}" in mail.text
    # The body's words are text in the HTML part; the link is an anchor.
    assert "Remboursé &lt;le&gt; 3 mars.<br>" in mail.html
    assert "<le>" not in mail.html
    assert f'<a href="{link}">{link}</a>' in mail.html
    assert notice.sms.startswith("Milie : l'organisme a répondu à votre demande 2029392357.")
    assert notice.sms.endswith(link)

    held = treatment.put_on_hold(
        RequestPutOnHoldV1(
            request_id=request_id,
            code="2029392357",
            body_id=BODY_ID,
            reason="x" * 400,
            actor=FOCAL,
            held_at=datetime.now(UTC),
        ),
        "",
        PUBLIC_URL,
    )
    assert held.email.text.startswith("Bonjour,")
    assert "x" * 400 in held.email.text
    # The SMS quotes a long reason shortened to two segments; the email has all of it.
    assert "xxx..." in held.sms
    assert sms_texts.segments(held.sms) == 2


async def test_each_treatment_event_reaches_the_citizen_once_by_email_and_sms(
    settings_for, amqp_url, namespace, smtp_server, fake_sms
):
    settings = settings_for(
        NotifySettings,
        smtp_port=smtp_server.port,
        public_url=PUBLIC_URL,
        **fake_sms.settings,
    )
    now = datetime.now(UTC)
    citizen = submitted_event()  # an address and a mobile number
    by_phone = submitted_event(
        contact=Contact(last_name="YAO", first_names="Jean", phone=OTHER_MOBILE, email=None)
    )
    address, rid, code = citizen.contact.email, citizen.request_id, citizen.code
    link = f"{PUBLIC_URL}/suivre?code={code}"
    async with RunningApp(create_app(settings)):
        for event in (citizen, by_phone):
            await publish_event(amqp_url, namespace, event)
        await smtp_server.wait_for(address)  # the acknowledgement
        await fake_sms.wait_for(OTHER_MOBILE)

        await publish_event(
            amqp_url,
            namespace,
            RequestPutOnHoldV1(
                request_id=rid,
                code=code,
                body_id=BODY_ID,
                reason="Nous attendons le relevé de la banque.",
                actor=FOCAL,
                held_at=now,
            ),
        )
        answer = _treated(rid, code, "Votre remboursement a été viré le 3 mars.")
        message_id = await publish_event(amqp_url, namespace, answer)
        # The same event delivered again (a relay's retry): no second email, no second SMS.
        await publish_event(amqp_url, namespace, answer, message_id=message_id)
        await publish_event(
            amqp_url,
            namespace,
            RequestReopenedV1(
                request_id=rid,
                code=code,
                body_id=BODY_ID,
                message="Le virement n'est jamais arrivé sur mon compte.",
                reopened_at=now,
            ),
        )
        await publish_event(
            amqp_url,
            namespace,
            RequestCitizenAnsweredV1(
                request_id=rid,
                code=code,
                body_id=BODY_ID,
                message="Le virement a été refait ce matin, avec nos excuses.",
                actor=FOCAL,
                answered_at=now,
            ),
        )
        await publish_event(
            amqp_url, namespace, _treated(by_phone.request_id, by_phone.code, "C'est réglé.")
        )
        mails = await smtp_server.wait_for(address, count=5)
        texts = await fake_sms.wait_for(MOBILE, count=5)
        phone_texts = await fake_sms.wait_for(OTHER_MOBILE, count=2)

        async def all_handled() -> bool:
            conn = await asyncpg.connect(settings.database_url)
            try:
                return (
                    await conn.fetchval(
                        "SELECT count(*) FROM notify.inbox WHERE message_type = $1",
                        RequestTreatedV1.type_name(),
                    )
                    == 2
                )
            finally:
                await conn.close()

        await eventually(all_handled)
        conn = await asyncpg.connect(settings.database_url)
        try:
            logged = await conn.fetch(
                "SELECT medium, about_message_type, status FROM notify.deliveries"
                " WHERE request_id = $1",
                rid,
            )
            phone_emails = await conn.fetchval(
                "SELECT count(*) FROM notify.deliveries WHERE request_id = $1 AND medium = 'email'",
                by_phone.request_id,
            )
        finally:
            await conn.close()

    # Acknowledgement, hold, answer (once), reopening, further message.
    assert len(mails) == 5
    assert len(smtp_server.to(address)) == 5
    by_subject = {_subject(m): m for m in mails}
    answered = by_subject[f"Miliê — votre requête n° {code} a été traitée"]
    assert "Votre remboursement a été viré le 3 mars." in _text(answered)
    assert f"« Suivre une requête » : {link}" in _text(answered)
    assert "« Relancer »" in _text(answered)
    assert f'<a href="{link}">' in _html(answered)
    held = by_subject[f"Miliê — votre requête n° {code} est mise en attente"]
    assert "Nous attendons le relevé de la banque." in _text(held)
    assert link in _text(held)
    again = by_subject[f"Miliê — un nouveau message au sujet de votre requête n° {code}"]
    assert "refait ce matin" in _text(again)
    assert link in _text(again)
    reopened = by_subject[
        f"Miliê — votre demande de nouveau traitement a été reçue (requête n° {code})"
    ]
    assert "jamais arrivé" in _text(reopened)
    assert link in _text(reopened)

    # The same by SMS to the mobile number: acknowledgement and the four, the answer once.
    assert len(fake_sms.to(MOBILE)) == 5
    assert sum("l'organisme a répondu" in s.message for s in texts) == 1
    assert all(s.message.endswith(link) for s in texts)
    # A citizen with a mobile number only: the answer by SMS, no email.
    assert any("l'organisme a répondu" in s.message for s in phone_texts)
    assert phone_emails == 0
    assert sorted((r["medium"], r["about_message_type"]) for r in logged) == sorted(
        (medium, kind)
        for medium in ("email", "sms")
        for kind in (
            RequestSubmittedV1.type_name(),
            RequestPutOnHoldV1.type_name(),
            RequestTreatedV1.type_name(),
            RequestReopenedV1.type_name(),
            RequestCitizenAnsweredV1.type_name(),
        )
    )


def test_notify_listens_only_to_the_events_that_tell_the_citizen_something():
    listened = treatment.handlers(PUBLIC_URL, sms_enabled=True)
    assert set(listened) == {
        RequestTreatedV1.type_name(),
        RequestPutOnHoldV1.type_name(),
        RequestCitizenAnsweredV1.type_name(),
        RequestReopenedV1.type_name(),
        # Only a closing « sans retour » (no opinion came in time) is told.
        RequestClosedV1.type_name(),
        # A reply of the citizen's the body's service could not apply (tests/notify/
        # test_reply_refused.py).
        RequestCitizenReplyRefusedV1.type_name(),
        # Only for the acknowledgement email an agent chose to send (« Prendre en compte »).
        RequestAssignedV1.type_name(),
    }


def _assigned(citizen, acknowledgement=None) -> RequestAssignedV1:
    return RequestAssignedV1(
        request_id=citizen.request_id,
        code=citizen.code,
        body_id=BODY_ID,
        assignee_id=FOCAL.staff_id,
        actor=FOCAL,
        assigned_at=datetime.now(UTC),
        acknowledgement=acknowledgement,
    )


async def test_the_agents_acknowledgement_is_sent_once_as_edited(
    settings_for, amqp_url, namespace, smtp_server
):
    settings = settings_for(NotifySettings, smtp_port=smtp_server.port, public_url=PUBLIC_URL)
    citizen = submitted_event()
    silent = submitted_event()
    address = citizen.contact.email
    mail = Acknowledgement(
        subject="Votre requête est entre nos mains",
        text="Nous avons pris en compte votre requête.\n\nUn agent vous répondra sous 15 jours.",
    )
    async with RunningApp(create_app(settings)):
        for event in (citizen, silent):
            await publish_event(amqp_url, namespace, event)
        await smtp_server.wait_for(address)  # the submission's acknowledgement
        await smtp_server.wait_for(silent.contact.email)
        # No acknowledgement asked: nothing sent.
        await publish_event(amqp_url, namespace, _assigned(silent))
        event = _assigned(citizen, mail)
        message_id = await publish_event(amqp_url, namespace, event)
        # Delivered twice: one email.
        await publish_event(amqp_url, namespace, event, message_id=message_id)
        mails = await smtp_server.wait_for(address, count=2)

        async def both_handled() -> bool:
            conn = await asyncpg.connect(settings.database_url)
            try:
                return (
                    await conn.fetchval(
                        "SELECT count(*) FROM notify.inbox WHERE message_type = $1",
                        RequestAssignedV1.type_name(),
                    )
                    == 2
                )
            finally:
                await conn.close()

        await eventually(both_handled)
        conn = await asyncpg.connect(settings.database_url)
        try:
            kinds = await conn.fetch(
                "SELECT request_id, about_message_type FROM notify.deliveries"
                " WHERE about_message_type = $1",
                RequestAssignedV1.type_name(),
            )
        finally:
            await conn.close()
    assert [r["request_id"] for r in kinds] == [citizen.request_id]
    [sent] = [m for m in mails if _subject(m) == "Votre requête est entre nos mains"]
    text = _text(sent)
    assert "Nous avons pris en compte votre requête." in text
    assert "Un agent vous répondra sous 15 jours." in text
    assert f"{PUBLIC_URL}/suivre?code={citizen.code}" in text
    assert len(smtp_server.to(address)) == 2
