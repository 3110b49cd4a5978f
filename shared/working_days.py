"""Working days in Côte d'Ivoire: what every deadline of the platform is counted in.

A working day is a Monday to Friday that is neither one of the country's public holidays (the
maintained `holidays` library knows them, the Muslim feasts included, which move every year) nor
a day an administrator declared off (« jour chômé » decreed at short notice). Côte d'Ivoire is on
UTC all year, so a timestamp's day is its UTC date.

Pure: the declared days are passed in by whoever stores them; nothing here reads a database.
:meth:`Calendar.add` is what a deadline is (« 15 jours ouvrés » after the submission),
:meth:`Calendar.between` what a time on hold gives back.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

import holidays

COUNTRY = "CI"


@lru_cache(maxsize=64)
def public_holidays(year: int) -> dict[date, str]:
    """The country's public holidays of ``year``, with their French names."""
    return dict(holidays.country_holidays(COUNTRY, years=year, language="fr").items())


def day_of(moment: datetime) -> date:
    """The day of a timestamp in Côte d'Ivoire (UTC all year)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).date()


@dataclass(frozen=True)
class Calendar:
    """The days off beyond weekends: declared by administrators; the public holidays are added
    from the library for whatever year is asked about."""

    declared: frozenset[date] = frozenset()

    def is_working(self, day: date) -> bool:
        return (
            day.weekday() < 5 and day not in self.declared and day not in public_holidays(day.year)
        )

    def day_off_name(self, day: date) -> str | None:
        """Why ``day`` is not worked (« Fête Nationale », « Jour déclaré chômé », « Samedi »…),
        None for a working day."""
        if day in public_holidays(day.year):
            return public_holidays(day.year)[day]
        if day in self.declared:
            return "Jour déclaré chômé"
        if day.weekday() >= 5:
            return "Samedi" if day.weekday() == 5 else "Dimanche"
        return None

    def add(self, start: date, days: int) -> date:
        """The ``days``-th working day after ``start`` (``start`` itself never counts): a request
        submitted on Friday with 1 day is due the next working Monday. ``days`` ≥ 0; 0 gives
        ``start``."""
        if days < 0:
            raise ValueError("a number of working days is never negative")
        day = start
        while days:
            day += timedelta(days=1)
            if self.is_working(day):
                days -= 1
        return day

    def between(self, start: date, end: date) -> int:
        """Working days in (``start``, ``end``]: the days a request used from ``start`` to
        ``end``; 0 when ``end`` is not after ``start``."""
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            count += self.is_working(day)
        return count

    def left(self, today: date, due: date) -> int:
        """Working days from ``today`` to ``due``: positive before, 0 on the day, negative after
        (the working days late)."""
        return self.between(today, due) if due >= today else -self.between(due, today)


def calendar(declared: Iterable[date] = ()) -> Calendar:
    return Calendar(frozenset(declared))
