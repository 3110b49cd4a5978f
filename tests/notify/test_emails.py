"""The emails' words and shape, without I/O."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from email import message_from_bytes, policy

import aiosmtplib
import pytest

from services.notify import decisions, emails
from services.notify.delivery import PERMANENT, TEMPORARY, UNAVAILABLE
from services.notify.smtp import SmtpUnavailable, classify
from shared.messages import NATURE_LABELS, AttachmentRef, Contact, Nature
from tests.support import submitted_event, validated_event


@pytest.mark.parametrize("nature", list(Nature))
def test_acknowledgement_names_the_nature_the_code_and_the_tracking_link(nature):
    event = submitted_event(nature=nature, code="4148584520")
    mail = emails.acknowledgement(event, "https://milie.ci/")
    label = NATURE_LABELS[nature]
    # The nature inside a sentence in lower case, as every other email writes it (the trial saw
    # « votre Réclamation n° … a bien été enregistrée » beside « votre réclamation n° … est prise
    # en compte »).
    word = label.lower()
    assert mail.subject == f"Miliê — votre {word} n° 4148584520 a bien été enregistrée"
    assert "Bienvenue sur le Portail du citoyen Miliê" in mail.text
    assert f"Votre {word} a bien été enregistrée." in mail.text
    assert f"Votre <strong>{word}</strong> a bien été enregistrée." in mail.html.replace(
        "&#x27;", "'"
    )
    assert "Le numéro de la demande est : 4148584520" in mail.text
    assert "https://milie.ci/suivre?code=4148584520" in mail.text
    assert f"Suivre {emails.possessive(label)} : https://milie.ci/" in mail.text
    assert f"Organisme concerné : {event.body_name}" in mail.text
    assert 'href="https://milie.ci/suivre?code=4148584520"' in mail.html
    assert '<html lang="fr">' in mail.html


def test_html_is_escaped():
    event = submitted_event(
        body_name="<script>alert(1)</script>",
        contact=Contact(first_names="A&B", last_name="<K>", email="a@example.ci"),
    )
    mail = emails.acknowledgement(event, "http://gw")
    assert "<script>" not in mail.html
    assert "&lt;script&gt;" in mail.html
    assert "A&amp;B &lt;K&gt;" in mail.html


def test_the_tracking_link_names_the_nature():
    assert emails.possessive("Réclamation") == "ma réclamation"
    assert emails.possessive("Observation") == "mon observation"
    assert emails.possessive("Motion de félicitations") == "ma motion de félicitations"
    assert emails.possessive("Demande d'information") == "ma demande d'information"


def test_the_acknowledgement_is_a_receipt():
    """The code, the date, the body, a copy of the message, the attachments' names and the date
    of the analysts' decision, in both parts; the HTML part made for a phone."""
    event = submitted_event(
        code="4148584520",
        nature=Nature.OBSERVATION,
        place_label="Abidjan — Plateau",
        message="La file d'attente est longue.\nLe guichet 3 était fermé <toute la matinée>.",
        attachments=[attachment("facture <mars>.pdf"), attachment("photo-guichet.jpg")],
        submitted_at=datetime(2026, 1, 5, 10, 7, tzinfo=UTC),
    )
    mail = emails.acknowledgement(event, "https://milie.ci", decision_days=10)
    text = mail.text
    for line in (
        "Numéro de la demande : 4148584520",
        "Envoyée le : 05/01/2026 à 10:07",
        "Nature : Observation",
        f"Organisme concerné : {event.body_name}",
        "Thème : ACCUEIL : Espace d'accueil",
        "Lieu : Abidjan — Plateau",
        "Pièces jointes : facture <mars>.pdf, photo-guichet.jpg",
        "« La file d'attente est longue.\nLe guichet 3 était fermé <toute la matinée>. »",
        "Suivre mon observation : https://milie.ci/suivre?code=4148584520",
    ):
        assert line in text, line
    # Ten working days from Monday 5 January: the analysts rule by Monday 19 January.
    assert "dans un délai de 10 jours ouvrés" in text and "au plus tard le 19/01/2026" in text
    assert "pour qu'il en prenne connaissance" in text  # an observation gets no answer

    html = mail.html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert "max-width:600px" in html and "<table" not in html  # one column
    assert "<li>facture &lt;mars&gt;.pdf</li><li>photo-guichet.jpg</li>" in html
    assert "La file d&#x27;attente est longue.<br>\nLe guichet 3 était fermé &lt;toute" in html
    assert "<strong>Envoyée le</strong><br>05/01/2026 à 10:07" in html
    assert "au plus tard le 19/01/2026" in html
    assert '<a href="https://milie.ci/suivre?code=4148584520">Suivre mon observation</a>' in html


def test_a_receipt_without_attachment_says_so_and_a_complaint_awaits_an_answer():
    event = submitted_event(submitted_at=datetime(2026, 12, 20, 23, 30, tzinfo=UTC))
    mail = emails.acknowledgement(event, "https://milie.ci")
    assert "Pièces jointes : aucune" in mail.text
    # 15 working days by default, over Christmas and New Year's Day.
    assert "au plus tard le 12/01/2027" in mail.text
    assert "qui vous répondra" in mail.text
    assert "Lieu :" not in mail.text  # no place given


def attachment(filename: str):
    return AttachmentRef(
        attachment_id=uuid.uuid4(), filename=filename, content_type="application/pdf", size=1024
    )


@pytest.mark.parametrize("eight_bit", [False, True])
def test_message_is_multipart_and_the_same_on_every_attempt(eight_bit):
    delivery_id = uuid.uuid4()
    mail = emails.acknowledgement(submitted_event(), "http://gw")
    row = {
        "delivery_id": delivery_id,
        "mail_from": "Miliê <no-reply@milie.ci>",
        "recipient": "aya@example.ci",
        "recipient_name": "Aya KOUASSI",
        "subject": mail.subject,
        "text": mail.text,
        "html": mail.html,
        "created_at": datetime.now(UTC),
        "eight_bit": eight_bit,
    }
    raw = emails.render(**row)
    assert raw == emails.render(**row)
    msg = message_from_bytes(raw, policy=policy.default)
    assert msg["Message-ID"] == f"<{delivery_id}@milie.ci>"
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert msg["To"] == "Aya KOUASSI <aya@example.ci>"
    assert msg["From"] == "Miliê <no-reply@milie.ci>"
    assert msg["Subject"] == mail.subject
    assert msg["Auto-Submitted"] == "auto-generated"
    plain, rich = msg.iter_parts()
    # Parsed from the wire, the lines end with CRLF.
    assert plain.get_content().replace("\r\n", "\n") == mail.text
    assert rich.get_content().replace("\r\n", "\n") == mail.html
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    assert raw.isascii() != eight_bit
    assert emails.envelope_sender("Miliê <no-reply@milie.ci>") == "no-reply@milie.ci"


@pytest.mark.parametrize(
    "subject",
    ["plain ascii", "é" * 200, "Miliê — " + "x" * 120, "line\nbreak"],
)
@pytest.mark.parametrize("eight_bit", [False, True])
def test_long_and_accented_subjects_round_trip(subject, eight_bit):
    raw = emails.render(
        delivery_id=uuid.uuid4(),
        mail_from="no-reply@milie.ci",
        recipient="a@example.ci",
        recipient_name="Ébène d'Ivoire",
        subject=subject,
        text="é\n" + "long line " * 150,
        html=None,
        created_at=datetime.now(UTC),
        eight_bit=eight_bit,
    )
    msg = message_from_bytes(raw, policy=policy.default)
    assert msg["Subject"] == subject.replace("\n", " ")
    assert msg["To"] == "Ébène d'Ivoire <a@example.ci>"
    # A line longer than SMTP allows falls back to quoted-printable even with 8BITMIME.
    [part] = msg.iter_parts()
    assert part["Content-Transfer-Encoding"] == "quoted-printable"
    assert part.get_content().replace("\r\n", "\n") == "é\n" + "long line " * 150
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))


def test_an_address_with_a_line_break_is_refused():
    with pytest.raises(ValueError):
        emails.render(
            delivery_id=uuid.uuid4(),
            mail_from="no-reply@milie.ci",
            recipient="a@example.ci\r\nBcc: x@evil.ci",
            recipient_name="",
            subject="s",
            text="t",
            html=None,
            created_at=datetime.now(UTC),
        )


def test_smtp_errors_are_classified():
    refused = aiosmtplib.SMTPRecipientRefused(550, "no such user", "x@example.ci")
    greylisted = aiosmtplib.SMTPRecipientRefused(451, "try later", "x@example.ci")
    assert classify(aiosmtplib.SMTPRecipientsRefused([refused])) == PERMANENT
    assert classify(aiosmtplib.SMTPRecipientsRefused([greylisted])) == TEMPORARY
    assert classify(aiosmtplib.SMTPDataError(554, "rejected")) == PERMANENT
    assert classify(aiosmtplib.SMTPDataError(452, "full")) == TEMPORARY
    assert classify(aiosmtplib.SMTPConnectError("refused")) == UNAVAILABLE
    assert classify(aiosmtplib.SMTPServerDisconnected("gone")) == UNAVAILABLE
    assert classify(ConnectionRefusedError()) == UNAVAILABLE
    assert classify(aiosmtplib.SMTPResponseException(421, "closing")) == UNAVAILABLE
    assert classify(aiosmtplib.SMTPSenderRefused(550, "bad sender", "n@milie.ci")) == UNAVAILABLE
    assert classify(SmtpUnavailable("STARTTLS extension not supported by server")) == UNAVAILABLE
    assert classify(aiosmtplib.SMTPNotSupported("SMTPUTF8 is not supported")) == PERMANENT
    assert classify(RuntimeError("bug")) == TEMPORARY


@pytest.mark.parametrize("nature", list(Nature))
def test_every_email_about_a_request_writes_its_nature_in_lower_case(nature):
    """One way for the nature in a sentence: « votre réclamation n° … », « votre motion de
    félicitations n° … » (the validation's email wrote « votre Réclamation »)."""
    event = validated_event(submitted_event(nature=nature, code="4148584520"))
    mail = decisions.validation(event, "Aya KOUASSI", "https://milie.ci/")
    word = NATURE_LABELS[nature].lower()
    assert mail.subject.startswith(f"Miliê — votre {word} n° 4148584520 "), mail.subject
    assert f"Votre {word} n° 4148584520 a été" in mail.text
    assert NATURE_LABELS[nature] not in mail.subject + mail.text or word == NATURE_LABELS[nature]
