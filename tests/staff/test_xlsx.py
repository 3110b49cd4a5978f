"""gateway/web/xlsx.py without a server: what a cell of each type becomes."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import openpyxl

from gateway.web import xlsx


def _book(header, rows, **options):
    out = io.BytesIO()
    count = xlsx.write(out, header, rows, "Feuille", **options)
    out.seek(0)
    return count, openpyxl.load_workbook(out).active


def test_numbers_dates_and_text_keep_their_type() -> None:
    paris = timezone(timedelta(hours=1))
    count, sheet = _book(
        ["Code", "Quand", "Jour", "N", "Taux", "Texte"],
        [
            [
                "0012345678",
                datetime(2019, 1, 7, 10, 5, tzinfo=paris),
                date(2019, 1, 7),
                12,
                Decimal("2.5"),
                "=1+1\x01",
            ],
            [None, "", None, 0, 1.5, "x" * 40_000],
        ],
    )
    assert count == 2
    row = [c.value for c in sheet[2]]
    # Abidjan's wall-clock time (UTC), the code's leading zeros, the formula as text.
    assert row == ["0012345678", datetime(2019, 1, 7, 9, 5), datetime(2019, 1, 7), 12, 2.5, "=1+1"]
    assert sheet["B2"].number_format == xlsx.MOMENT and sheet["C2"].number_format == xlsx.DAY
    assert sheet["A3"].value is None and sheet["B3"].value is None and sheet["D3"].value == 0
    assert len(sheet["F3"].value) == 32_767
    assert sheet["A1"].font.b and sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:F3"
    widths = {k: d.width for k, d in sheet.column_dimensions.items()}
    assert widths["A"] > len("0012345678") and widths["F"] <= 61


def test_a_column_may_show_seconds_and_an_empty_export_keeps_its_header() -> None:
    count, sheet = _book(
        ["Date"], [[datetime(2019, 1, 7, 9, 5, 30, tzinfo=UTC)]], date_formats={0: "hh:mm:ss"}
    )
    assert sheet["A2"].number_format == "hh:mm:ss"
    count, sheet = _book(["Login", "Nom"], [])
    assert count == 0 and [c.value for c in sheet[1]] == ["Login", "Nom"]
