"""French dates and numbers as the pages, emails and exports show them, in one place.

Built on Babel's ``fr_CI`` locale, in Côte d'Ivoire's time (``Africa/Abidjan``: UTC all year,
no summer time), whatever the server's own zone. Every function takes a ``datetime`` (a naive one
is read as UTC, as the database and the events give them), a ``date``, an ISO 8601 string (what
services answer in JSON) or None, which gives "" (an empty cell, a date not reached yet).

- :func:`day` « 17/01/2019 » — the guide's dates;
- :func:`moment` « 17/01/2019 à 14:32 » — a moment in a sentence or a page;
- :func:`until` either, as the limit was given (a day or a moment);
- :func:`stamp` « 17/01/2019 14:32 » (``seconds=True``: « 14:32:05 ») — lists and CSV cells;
- :func:`clock` « 14:32 », :func:`spoken_clock` « 14 h 32 »;
- :func:`local` the naive Abidjan time a spreadsheet cell takes;
- :func:`number` « 12 345 » (a narrow no-break space between thousands, as French typesetting
  and Babel's ``fr`` data do).

:data:`FILTERS` gives them to Jinja templates by their French names (``{{ x | jour }}``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from babel import Locale
from babel.dates import format_date, format_datetime, get_timezone
from babel.numbers import format_decimal

# Parsed once: given a name, Babel parses it again on every call (a third of a date's cost).
LOCALE = Locale.parse("fr_CI")
ZONE = get_timezone("Africa/Abidjan")

When = datetime | date | str | None


def _at(value: datetime | date | str) -> datetime | date:
    if isinstance(value, str):
        # « 2019-01-17 » is a day; anything longer is a moment.
        value = date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(ZONE)
    return value


def _format(value: When, pattern: str) -> str:
    if value is None or value == "":
        return ""
    at = _at(value)
    if isinstance(at, datetime):
        return format_datetime(at, pattern, tzinfo=ZONE, locale=LOCALE)
    return format_date(at, pattern, locale=LOCALE)


def day(value: When) -> str:
    """« 17/01/2019 »."""
    return _format(value, "dd/MM/y")


def moment(value: When) -> str:
    """« 17/01/2019 à 14:32 »."""
    return _format(value, "dd/MM/y 'à' HH:mm")


def until(value: When) -> str:
    """A limit given as a day (« 17/01/2019 », the day included) or as a moment (« 17/01/2019 à
    14:32 »), each as it was given: treatment's opinion window is either."""
    if value is None or value == "":
        return ""
    return moment(value) if isinstance(_at(value), datetime) else day(value)


def stamp(value: When, *, seconds: bool = False) -> str:
    """« 17/01/2019 14:32 », or « 17/01/2019 14:32:05 » with ``seconds``."""
    return _format(value, "dd/MM/y HH:mm:ss" if seconds else "dd/MM/y HH:mm")


def clock(value: When) -> str:
    """« 14:32 »."""
    return _format(value, "HH:mm")


def spoken_clock(value: When) -> str:
    """« 14 h 32 », the time of day in a sentence."""
    return _format(value, "HH 'h' mm")


def local(value: datetime) -> datetime:
    """The wall-clock time in Abidjan, without a zone: what a spreadsheet's date cell holds."""
    return (
        (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(ZONE).replace(tzinfo=None)
    )


def number(value: int | float | Decimal | None) -> str:
    """« 12 345 », « 12,5 »: grouped thousands, decimal comma; None → ""."""
    return "" if value is None else format_decimal(value, locale=LOCALE)


# For a Jinja environment: ``env.filters.update(french.FILTERS)``.
FILTERS = {
    "jour": day,
    "moment": moment,
    "horodatage": stamp,
    "heure": clock,
    "nombre": number,
}
