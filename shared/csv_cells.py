"""A cell of the CSV exports that a spreadsheet opens without ever running it.

Formula injection: Excel and LibreOffice run a cell that starts with ``=``, ``+``, ``-`` or
``@`` (``=HYPERLINK(…)``, ``@SUM(…)``, ``+cmd|…``), and a leading tab or carriage return may
hide one. Such a cell gets an apostrophe in front, so that it is read as text, never run.

Every CSV export (the analysts' queue, a body's lists, the back office's tables) is written by
:func:`lines`: UTF-8 with a byte-order mark first, « ; » between cells, CRLF, a moment as
« 17/01/2019 14:32 » (Abidjan) and a day as « 17/01/2019 »: what French Excel opens cleanly.

A phone number (« +2250707123456 », « +225 07 07 12 34 56 ») or a signed number (« -2 ») starts
with ``+`` or ``-`` too, but an apostrophe before every phone number is noise to the person who
opens the file. So a cell made only of an optional sign, digits, spaces and dots is left as it
is: without a letter, a parenthesis, a quote or an operator between its digits it can name no
function and no other cell, so the worst a spreadsheet does with it is read it as a number.
Every other cell starting with one of those characters is made inert. Quoting the field would
not be a guard (Excel and LibreOffice run a quoted ``=…`` as well) and does not make Excel keep
the ``+`` either: whoever needs the phone numbers exactly as written takes the .xlsx export,
where they are text cells.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime

from shared import french

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
QUOTING = csv.QUOTE_MINIMAL
# A phone number or a signed number: nothing a formula could run.
_INERT = re.compile(r"[+-]?[0-9][0-9 .]*\Z")


def inert(text: str) -> str:
    """``text`` as a CSV cell that no spreadsheet runs: an apostrophe before a formula, nothing
    added to a phone number."""
    if text.startswith(FORMULA_STARTS) and not _INERT.match(text):
        return "'" + text
    return text


def cell(value: object) -> str:
    """``value`` as the text of a cell: a moment or a day in French, anything else made inert."""
    if isinstance(value, datetime):
        return french.stamp(value)
    if isinstance(value, date):
        return french.day(value)
    return inert("" if value is None else str(value))


def lines(rows: Iterable[Sequence[object]], *, first: bool = False) -> bytes:
    """Rows of an export as bytes; ``first``: the file's first rows, behind the byte-order mark."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", quoting=QUOTING, lineterminator="\r\n")
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return (("\ufeff" if first else "") + out.getvalue()).encode("utf-8")


def uninert(text: str) -> str:
    """The cell's text as it was before :func:`inert` (for a text cell of a workbook, which never
    runs)."""
    if text.startswith("'") and text[1:2] in FORMULA_STARTS:
        return text[1:]
    return text
