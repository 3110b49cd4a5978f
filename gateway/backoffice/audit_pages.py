"""The audit log for administrators: a filtered, sorted, paged list and its CSV and spreadsheet
exports."""

from __future__ import annotations

from aiohttp import web

from gateway.backoffice import shell
from gateway.backoffice.access import staff_required
from gateway.staff import audit
from gateway.web import xlsx
from gateway.web.listing import EXPORT_LIMIT, csv_response, listing_of
from shared import french
from shared.identity import Role
from shared.service import POOL

routes = web.RouteTableDef()


async def _search(request: web.Request, limit: int | None = None):
    listing = listing_of(request, audit.SORTS, "date", default_descending=True)
    action = request.query.get("action", "")
    if action not in audit.ACTIONS:
        action = ""
    period = shell.period_of(request)
    async with request.app[POOL].acquire(timeout=10) as conn:
        total, rows = await audit.search(
            conn,
            words=listing.words,
            action=action,
            start=period.start,
            end=period.end,
            sort=listing.sort,
            descending=listing.descending,
            limit=limit or listing.per_page,
            offset=0 if limit else listing.offset,
        )
    return listing, action, total, rows


@routes.get("/admin/journal", name="bo-journal")
@staff_required(Role.ADMINISTRATOR)
async def audit_list(request: web.Request) -> web.Response:
    listing, action, total, rows = await _search(request)
    return await shell.render(
        request,
        "backoffice/audit.html",
        {
            "title": "Journal d'audit",
            "listing": listing,
            "action_filter": action,
            "actions": list(audit.ACTIONS.items()),
            "rows": rows,
            "total": total,
        },
    )


HEADER = ["Date (UTC)", "Login", "Action", "Compte visé", "Adresse", "Détail"]


def _cells(rows) -> list[list[object]]:
    return [
        [
            e.at,
            e.actor_login,
            e.action_label,
            e.target or "",
            e.address,
            e.detail,
        ]
        for e in rows
    ]


@routes.get("/admin/journal/export.csv", name="bo-journal-export")
@staff_required(Role.ADMINISTRATOR)
async def audit_export(request: web.Request) -> web.Response:
    _, _, _, rows = await _search(request, limit=EXPORT_LIMIT)
    cells = ([french.stamp(at, seconds=True), *rest] for at, *rest in _cells(rows))
    return csv_response("journal-audit-milie.csv", HEADER, cells)


@routes.get("/admin/journal/export.xlsx", name="bo-journal-xlsx")
@staff_required(Role.ADMINISTRATOR)
async def audit_xlsx(request: web.Request) -> web.StreamResponse:
    _, _, _, rows = await _search(request, limit=EXPORT_LIMIT)
    return await xlsx.response(
        request,
        "journal-audit-milie.xlsx",
        HEADER,
        _cells(rows),
        "Journal",
        date_formats={0: xlsx.MOMENT_SECONDS},
    )
