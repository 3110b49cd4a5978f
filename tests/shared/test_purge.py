"""shared.purge's pure parts: the forms of a telephone number, what names a citizen, and the
redaction of the staff's texts."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.purge import REDACTED, identifiers, no_more_messages, phone_forms, redact, redact_json


def test_a_number_in_every_form_it_is_stored_or_written():
    assert set(phone_forms("+2250748912635")) == {
        "+2250748912635",
        "2250748912635",
        "0748912635",
        "07 48 91 26 35",
    }
    assert phone_forms(None) == phone_forms("") == []


def test_what_names_the_citizen_longest_first():
    names = identifiers(
        {
            "last_name": "KOUASSI-N'GUESSAN",
            "first_names": "Aya Marie",
            "email": "aya@example.ci",
            "phone": "+2250707123456",
        }
    )
    assert names[0] == "KOUASSI-N'GUESSAN Aya Marie" or names[0] == "Aya Marie KOUASSI-N'GUESSAN"
    assert {"KOUASSI", "N'GUESSAN", "Aya", "Marie", "aya@example.ci", "07 07 12 34 56"} <= set(
        names
    )
    assert names == sorted(names, key=len, reverse=True)
    assert identifiers({}) == identifiers(None) == []
    # Parts too short to be told from words are not redacted alone.
    assert "Da" not in identifiers({"last_name": "Da", "first_names": "Ali"})


def test_redaction_replaces_the_citizen_and_only_whole_words():
    names = identifiers({"last_name": "Yao", "first_names": "Ali", "phone": "+2250707123456"})
    text = "Bonjour Ali YAO, nous appelons le 07 07 12 34 56 ; la Yaourterie de Cocody répond."
    assert redact(text, names) == (
        f"Bonjour {REDACTED}, nous appelons le {REDACTED} ; la Yaourterie de Cocody répond."
    )
    assert redact(None, names) is None
    details = {"acknowledgement": {"subject": "Prise en compte", "text": "Bonjour Ali Yao"}}
    assert redact_json(details, names) == {
        "acknowledgement": {"subject": "Prise en compte", "text": f"Bonjour {REDACTED}"}
    }


def test_the_refusal_names_the_day_in_french():
    said = no_more_messages(datetime(2027, 3, 1, 9, tzinfo=UTC))
    assert "supprimées le 01/03/2027 :" in said
