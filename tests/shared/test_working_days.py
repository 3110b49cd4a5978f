"""Working-day arithmetic against real dates of Côte d'Ivoire's calendar."""

from datetime import date

import pytest

from shared.working_days import calendar, public_holidays

CI = calendar()


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        (date(2026, 12, 4), 1, date(2026, 12, 7)),  # Friday + 1: Monday
        (date(2026, 12, 24), 1, date(2026, 12, 28)),  # Christmas (Friday), then a weekend
        (date(2026, 8, 6), 1, date(2026, 8, 10)),  # 7 August, the national day (Friday)
        (date(2026, 5, 26), 1, date(2026, 5, 28)),  # Tabaski 2026: Wednesday 27 May
        (date(2026, 12, 7), 0, date(2026, 12, 7)),
        (date(2026, 12, 1), 15, date(2026, 12, 22)),
    ],
)
def test_add(start, days, due):
    assert CI.add(start, days) == due


def test_a_declared_day_off_moves_the_due_date():
    declared = calendar([date(2026, 12, 8)])
    assert CI.add(date(2026, 12, 7), 1) == date(2026, 12, 8)
    assert declared.add(date(2026, 12, 7), 1) == date(2026, 12, 9)
    assert declared.day_off_name(date(2026, 12, 8)) == "Jour déclaré chômé"


def test_between_and_left():
    assert CI.between(date(2026, 12, 4), date(2026, 12, 7)) == 1
    assert CI.between(date(2026, 12, 7), date(2026, 12, 4)) == 0
    assert CI.left(date(2026, 12, 7), date(2026, 12, 9)) == 2
    assert CI.left(date(2026, 12, 9), date(2026, 12, 7)) == -2
    assert CI.left(date(2026, 12, 9), date(2026, 12, 9)) == 0


def test_the_library_knows_the_muslim_feasts():
    assert "Tabaski" in public_holidays(2026)[date(2026, 5, 27)]
    assert CI.day_off_name(date(2026, 8, 7)) == "Fête Nationale"
    assert CI.day_off_name(date(2026, 12, 5)) == "Samedi"
    assert CI.day_off_name(date(2026, 12, 7)) is None


def test_negative_days_are_refused():
    with pytest.raises(ValueError):
        CI.add(date(2026, 12, 7), -1)
