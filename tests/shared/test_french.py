"""The French dates and numbers every page, email and export shows (shared/french.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from shared import french

AT = datetime(2019, 1, 7, 9, 5, 30, tzinfo=UTC)


def test_dates_as_the_guide_writes_them() -> None:
    assert french.day(AT) == "07/01/2019"
    assert french.day(date(2019, 12, 31)) == "31/12/2019"
    assert french.moment(AT) == "07/01/2019 à 09:05"
    assert french.stamp(AT) == "07/01/2019 09:05"
    assert french.stamp(AT, seconds=True) == "07/01/2019 09:05:30"
    assert french.clock(AT) == "09:05"
    assert french.spoken_clock(AT) == "09 h 05"


def test_in_abidjan_time_whatever_the_moment_s_zone() -> None:
    paris = AT.astimezone(timezone(timedelta(hours=1)))
    assert french.moment(paris) == "07/01/2019 à 09:05"
    # Naive moments are UTC, as the database and the events give them.
    assert french.moment(AT.replace(tzinfo=None)) == "07/01/2019 à 09:05"
    # Late in the evening west of Greenwich is already the next day in Abidjan.
    assert french.day(datetime(2019, 1, 7, 23, 30, tzinfo=timezone(timedelta(hours=-2)))) == (
        "08/01/2019"
    )


def test_iso_strings_and_nothing() -> None:
    assert french.moment(AT.isoformat()) == "07/01/2019 à 09:05"
    assert french.day("2019-01-07") == "07/01/2019"
    assert french.moment(None) == french.day("") == french.number(None) == ""


def test_numbers_group_thousands_with_a_narrow_no_break_space() -> None:
    assert french.number(7) == "7"
    assert french.number(1234567) == "1\u202f234\u202f567"
    assert french.number(12.5) == "12,5"
