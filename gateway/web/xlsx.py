"""The back office's spreadsheet files (.xlsx), written by XlsxWriter.

One sheet: the header row in bold, frozen and with an autofilter; numbers as numbers, dates as
dates (Abidjan's time, shown « 17/01/2019 14:32 »), text as text — written as inline strings,
so a citizen's « =HYPERLINK(…) » is never run as a formula. Constant-memory mode: each row goes
to a temporary file as it is written, so a long export does not sit in memory; the workbook is
built in a temporary file off the event loop, then streamed to the client.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import IO

import xlsxwriter
from aiohttp import web

from shared import csv_cells, french

CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DAY = "dd/mm/yyyy"
MOMENT = "dd/mm/yyyy hh:mm"
MOMENT_SECONDS = "dd/mm/yyyy hh:mm:ss"
# XML 1.0 refuses most control characters; a citizen's message may hold some.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_TEXT_MAX = 32_767  # characters in one cell
_WIDTH_MIN, _WIDTH_MAX = 8, 60


def _shown_length(value: object) -> int:
    if isinstance(value, datetime):
        return 16
    if isinstance(value, date):
        return 10
    return max((len(line) for line in str(value).splitlines()), default=0)


def write(
    target: str | IO[bytes],
    header: Sequence[object],
    rows: Iterable[Sequence[object]],
    sheet: str = "Feuille1",
    *,
    date_formats: Mapping[int, str] | None = None,
) -> int:
    """Write the workbook to ``target`` (a path or a seekable binary file); returns the rows
    written under the header. ``date_formats``: column index → number format of its dates, for
    a column that needs other than :data:`MOMENT` (a ``date`` takes :data:`DAY`)."""
    book = xlsxwriter.Workbook(target, {"constant_memory": True, "in_memory": False})
    try:
        bold = book.add_format({"bold": True})
        day = book.add_format({"num_format": DAY})
        formats = {DAY: day, MOMENT: book.add_format({"num_format": MOMENT})}
        for fmt in (date_formats or {}).values():
            formats.setdefault(fmt, book.add_format({"num_format": fmt}))
        by_column = {i: formats[f] for i, f in (date_formats or {}).items()}
        ws = book.add_worksheet(sheet[:31])
        widths = [len(str(h)) + 4 for h in header]  # room for the autofilter's arrow
        for col, title in enumerate(header):
            ws.write_string(0, col, str(title), bold)
        count = 0
        for count, row in enumerate(rows, start=1):
            for col, value in enumerate(row):
                if col >= len(widths):
                    widths.append(0)
                widths[col] = max(widths[col], _shown_length(value))
                if value is None or value == "":
                    continue
                if isinstance(value, bool):
                    ws.write_string(count, col, "Oui" if value else "Non")
                elif isinstance(value, int | float | Decimal):
                    ws.write_number(count, col, value)
                elif isinstance(value, datetime):
                    cell_format = by_column.get(col, formats[MOMENT])
                    ws.write_datetime(count, col, french.local(value), cell_format)
                elif isinstance(value, date):
                    ws.write_datetime(count, col, value, by_column.get(col, day))
                else:
                    ws.write_string(count, col, _NOT_XML.sub("", str(value))[:_TEXT_MAX])
        for col, width in enumerate(widths):
            ws.set_column(col, col, min(max(width + 1, _WIDTH_MIN), _WIDTH_MAX))
        ws.freeze_panes(1, 0)
        if widths:
            ws.autofilter(0, 0, count, len(widths) - 1)
    finally:
        book.close()
    return count


def from_csv(
    source: IO[bytes],
    target: IO[bytes],
    *,
    dates: frozenset[str],
    numbers: frozenset[str] = frozenset(),
    sheet: str = "Requêtes",
) -> int:
    """A service's CSV export (shared.csv_cells: BOM, « ; », French moments) as a workbook: the
    columns named in ``dates`` (« 17/01/2019 14:32 » or « 17/01/2019 ») as dates, those in
    ``numbers`` as numbers, every other cell as text (a code or a phone number is not a
    number). Returns the rows."""
    source.seek(0)
    text = io.TextIOWrapper(source, encoding="utf-8-sig", newline="")
    reader = csv.reader(text, delimiter=";")
    header = next(reader, [])
    kinds = ["date" if h in dates else "number" if h in numbers else "text" for h in header]
    count = write(target, header, (_typed(kinds, row) for row in reader), sheet=sheet)
    text.detach()
    return count


def _moment_or_day(text: str) -> datetime | date:
    """« 17/01/2019 14:32 » (a moment, Abidjan's time) or « 17/01/2019 » (a day, as a
    deadline is); ValueError for anything else."""
    if " " in text:
        return datetime.strptime(text, "%d/%m/%Y %H:%M").replace(tzinfo=french.ZONE)
    return datetime.strptime(text, "%d/%m/%Y").date()


def _typed(kinds: list[str], row: list[str]) -> list[object]:
    cells: list[object] = []
    for kind, text in zip(kinds, row, strict=False):
        try:
            if kind == "date" and text:
                cells.append(_moment_or_day(text))
                continue
            if kind == "number" and text:
                cells.append(int(text))
                continue
        except ValueError:
            pass  # not what the column usually holds: kept as text
        # The CSV's guard against formulas is not needed here: xlsx text cells never run.
        cells.append(csv_cells.uninert(text))
    cells.extend(row[len(kinds) :])
    return cells


async def response(
    request: web.Request,
    filename: str,
    header: Sequence[object],
    rows: Iterable[Sequence[object]],
    sheet: str,
    *,
    date_formats: Mapping[int, str] | None = None,
) -> web.StreamResponse:
    """A download of ``header`` + ``rows`` as a workbook, built in a temporary file off the event
    loop, then streamed."""
    with tempfile.TemporaryFile() as target:
        await asyncio.to_thread(write, target, header, rows, sheet, date_formats=date_formats)
        return await stream(request, filename, target)


async def stream(request: web.Request, filename: str, built: IO[bytes]) -> web.StreamResponse:
    """Send a workbook already written to ``built``, from its start."""
    built.seek(0)
    out = web.StreamResponse(
        headers={
            "Content-Type": CONTENT_TYPE,
            "Content-Disposition": f'attachment; filename="{filename}"',
        }
    )
    await out.prepare(request)
    while chunk := built.read(64 * 1024):
        await out.write(chunk)
    await out.write_eof()
    return out
