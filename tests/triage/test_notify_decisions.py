"""notify tells the citizen what the analysts decided, by email, once per event (real
PostgreSQL, RabbitMQ and SMTP server)."""

from __future__ import annotations

from datetime import UTC, datetime
from email.header import decode_header, make_header

import asyncpg

from services.notify import decisions
from services.notify.app import create_app
from services.notify.settings import NotifySettings
from shared.messages import (
    Actor,
    Contact,
    Nature,
    RequestClarificationSentV1,
    RequestReformulationRequestedV1,
    RequestRejectedV1,
    RequestValidatedV1,
)
from tests.support import RunningApp, eventually, publish_event, submitted_event

PUBLIC_URL = "https://portail.milie.test"
ANALYST = Actor(staff_id="a-1", role="analyst")


def _subject(mail) -> str:
    return str(make_header(decode_header(mail["Subject"])))


def _text(mail) -> str:
    return mail.get_body(("plain",)).get_content()


def test_the_emails_say_what_was_decided_in_french():
    mail = decisions.reformulation(
        "2029392357", "Précisez <le> service.\nMerci.", "Aya KOUASSI", PUBLIC_URL
    )
    assert mail.subject == "Miliê — votre requête n° 2029392357 doit être reformulée"
    assert mail.text.startswith("Bonjour Aya KOUASSI,")
    assert "« Précisez <le> service.\nMerci. »" in mail.text
    assert f"{PUBLIC_URL}/suivre?code=2029392357" in mail.text
    assert "« Modifier »" in mail.text
    # Whatever the nature, the page's name as the portal's menu says it, the link alone.
    assert f"« Suivre une requête » : {PUBLIC_URL}/suivre?code=2029392357\n" in mail.text
    clarified = decisions.clarification("2029392357", "Voici.", "Aya KOUASSI", PUBLIC_URL)
    assert f"« Suivre une requête » : {PUBLIC_URL}/suivre?code=2029392357\n" in clarified.text
    assert "Suivre ma réclamation" not in mail.text + clarified.text
    # The analyst's words are text in the HTML part, never markup.
    assert "Précisez &lt;le&gt; service.<br>" in mail.html
    assert "<le>" not in mail.html
    rejected = decisions.rejection("2029392357", "Hors du champ du portail.", "", PUBLIC_URL)
    assert rejected.text.startswith("Bonjour,")
    assert "n'a pas été jugée recevable" in rejected.subject


async def test_each_decision_emails_the_citizen_once(
    settings_for, amqp_url, namespace, smtp_server
):
    settings = settings_for(NotifySettings, smtp_port=smtp_server.port, public_url=PUBLIC_URL)
    now = datetime.now(UTC)
    complaint = submitted_event(nature=Nature.RECLAMATION)
    suggestion = submitted_event(nature=Nature.SUGGESTION)
    by_phone = submitted_event(
        contact=Contact(last_name="YAO", first_names="Jean", phone="+2250707123456", email=None)
    )
    email, other = complaint.contact.email, suggestion.contact.email
    async with RunningApp(create_app(settings)):
        for event in (complaint, suggestion, by_phone):
            await publish_event(amqp_url, namespace, event)
        await smtp_server.wait_for(email)  # the acknowledgement
        await smtp_server.wait_for(other)

        reformulate = RequestReformulationRequestedV1(
            request_id=complaint.request_id,
            code=complaint.code,
            analyst_message="Précisez le service et la date de votre passage.",
            actor=ANALYST,
            decided_at=now,
        )
        message_id = await publish_event(amqp_url, namespace, reformulate)
        # The same event delivered again (a relay's retry): no second email.
        await publish_event(amqp_url, namespace, reformulate, message_id=message_id)
        await publish_event(
            amqp_url,
            namespace,
            RequestRejectedV1(
                request_id=complaint.request_id,
                code=complaint.code,
                reason="Les faits relèvent d'une procédure judiciaire en cours.",
                actor=ANALYST,
                decided_at=now,
            ),
        )
        await publish_event(
            amqp_url,
            namespace,
            RequestValidatedV1(
                **{
                    k: getattr(suggestion, k)
                    for k in (
                        "request_id",
                        "code",
                        "nature",
                        "body_id",
                        "body_name",
                        "theme_id",
                        "theme_label",
                        "message",
                        "contact",
                        "submitted_at",
                    )
                },
                needs_treatment=False,
                actor=ANALYST,
                decided_at=now,
            ),
        )
        await publish_event(
            amqp_url,
            namespace,
            RequestClarificationSentV1(
                request_id=suggestion.request_id,
                code=suggestion.code,
                message="L'organisme a bien reçu votre suggestion et l'étudie.",
                actor=ANALYST,
                sent_at=now,
            ),
        )
        await publish_event(
            amqp_url,
            namespace,
            RequestRejectedV1(
                request_id=by_phone.request_id,
                code=by_phone.code,
                reason="Doublon.",
                actor=ANALYST,
                decided_at=now,
            ),
        )
        mails = await smtp_server.wait_for(email, count=3)
        others = await smtp_server.wait_for(other, count=3)

        async def phone_rejection_handled() -> bool:
            conn = await asyncpg.connect(settings.database_url)
            try:
                return (
                    await conn.fetchval(
                        "SELECT count(*) FROM notify.inbox WHERE message_type = $1",
                        RequestRejectedV1.type_name(),
                    )
                    == 2
                )
            finally:
                await conn.close()

        await eventually(phone_rejection_handled)
        conn = await asyncpg.connect(settings.database_url)
        try:
            about_phone = await conn.fetchval(
                "SELECT count(*) FROM notify.deliveries WHERE request_id = $1 AND medium = 'email'",
                by_phone.request_id,
            )
        finally:
            await conn.close()

    assert len(mails) == 3  # acknowledgement, reformulation (once), rejection
    by_subject = {_subject(m): m for m in mails}
    asked = by_subject[f"Miliê — votre requête n° {complaint.code} doit être reformulée"]
    text = _text(asked)
    assert "Précisez le service et la date de votre passage." in text
    assert f"{PUBLIC_URL}/suivre?code={complaint.code}" in text
    [rejected] = [m for s, m in by_subject.items() if "n'a pas été jugée recevable" in s]
    assert "procédure judiciaire" in _text(rejected)
    other_subjects = {_subject(m): m for m in others}
    [read] = [m for s, m in other_subjects.items() if "a été lue et transmise" in s]
    assert suggestion.body_name in _text(read)
    [clarified] = [m for s, m in other_subjects.items() if "un message de l'OSEP" in s]
    assert "l'étudie" in _text(clarified)
    assert about_phone == 0
