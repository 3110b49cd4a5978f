"""Open311's rules in intake's terms, without I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.intake.channels import open311_rules as rules
from services.intake.channels.commands import submission_key
from shared.messages import Nature

NOW = datetime(2024, 6, 1, 12, tzinfo=UTC)


def test_service_codes():
    assert rules.parse_service_code("ministere-budget.reclamation") == (
        "ministere-budget",
        Nature.RECLAMATION,
    )
    assert rules.parse_service_code("ministere-budget.motion_felicitations")[1] == Nature.MOTION
    for bad in ("ministere-budget", ".reclamation", "ministere-budget.plainte", ""):
        assert rules.parse_service_code(bad) is None


def test_the_search_window():
    assert rules.window(None, None, NOW) == rules.Window(NOW - timedelta(days=90), NOW)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    assert rules.window("2024-01-01T00:00:00Z", None, NOW).end == start + timedelta(days=90)
    assert rules.window(None, "2024-01-01", NOW).start == start - timedelta(days=90)
    assert rules.window("2024-01-01", "2024-03-01T10:00:00+01:00", NOW).start == start
    for start_raw, end_raw in (
        ("hier", None),
        ("2024-03-01", "2024-01-01"),
        ("2024-01-01", "2024-05-01"),
    ):
        with pytest.raises(rules.BadQuery):
            rules.window(start_raw, end_raw, NOW)


def test_the_notice_names_the_nature_as_a_sentence_does():
    for nature in Nature:
        said = rules.notice(nature, "5030529490", media_ignored=False)
        assert said.startswith(f"Votre {nature.label.lower()} a bien été enregistrée. "), said
        assert "5030529490" in said and "media_url" not in said
    assert rules.notice(Nature.MOTION, "5030529490", media_ignored=True).startswith(
        "Votre motion de félicitations a bien été enregistrée."
    )
    assert "media_url n'a pas été repris" in rules.notice(
        Nature.SUGGESTION, "5030529490", media_ignored=True
    )


def test_statuses():
    assert rules.closed_filter(None) is None
    assert rules.closed_filter("open") is False
    assert rules.closed_filter("CLOSED") is True
    assert rules.closed_filter("open,closed") is None
    with pytest.raises(rules.BadQuery):
        rules.closed_filter("pending")
    assert rules.is_closed("rejected") and rules.is_closed("acknowledged")
    assert not rules.is_closed("treated") and not rules.is_closed("submitted")
    assert rules.status_notes("submitted") == "En attente de traitement"


def test_dates_in_w3c_format():
    assert rules.w3c(datetime(2024, 5, 2, 9, 30, 0, 123456, tzinfo=UTC)) == (
        "2024-05-02T09:30:00+00:00"
    )


def test_a_long_external_id_still_makes_a_stable_key():
    assert submission_key("guichet", "GU-1") == "guichet:GU-1"
    long_id = "x" * 200
    key = submission_key("guichet-unique", long_id)
    assert len(key) <= 200
    assert key == submission_key("guichet-unique", long_id)
    assert key != submission_key("guichet-unique", long_id[:-1] + "y")
