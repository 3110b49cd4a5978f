"""A service's list exported as CSV, streamed from a database cursor as it is read.

The answer is private and never cached (it holds citizens' contacts); the rows go out 500 at a
time, in the cells of :mod:`shared.csv_cells` (what French Excel opens cleanly), so that a list
of 100,000 requests never sits whole in memory. The caller holds the read-only transaction
around :func:`write_rows`, writes its journal lines once the rows are out, and only then ends
the answer: the journal holds the export before the agent holds the whole file.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence

import asyncpg
from aiohttp import web

from shared import csv_cells

BATCH = 500


def answer(filename: str) -> web.StreamResponse:
    """The streamed answer, offered to save as ``filename``."""
    return web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "private, no-store",
        }
    )


async def write_rows(
    request: web.Request,
    response: web.StreamResponse,
    header: Sequence[object],
    rows: AsyncIterator[asyncpg.Record],
    cells: Callable[[asyncpg.Record], Sequence[object]],
) -> list[str]:
    """Sends the header row, then each row's ``cells``; returns the codes of the requests sent,
    in order, for the journal."""
    await response.prepare(request)
    await response.write(csv_cells.lines([header], first=True))
    exported: list[str] = []
    batch: list[Sequence[object]] = []
    async for row in rows:
        batch.append(cells(row))
        exported.append(row["code"].strip())
        if len(batch) == BATCH:
            await response.write(csv_cells.lines(batch))
            batch = []
    if batch:
        await response.write(csv_cells.lines(batch))
    return exported
