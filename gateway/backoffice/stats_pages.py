"""« Statistiques » (the guide's « Statistique générale ») and « Consultations » for analysts and
administrators: per public body, the requests submitted over the period (« PERIODE DU … au … »)
by nature and by present status, from the stats service; searchable, sortable, paged, exported
as CSV or as a spreadsheet file; under it, « Délais respectés »: per body, the answers given in
and out of time and the requests late without an answer over the period (stats' ``deadlines``).

A focal point may open « Statistiques » too: the stats service answers only its own body's
counts (it reads the body from the signed identity, not from the address).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.backoffice import access, shell
from gateway.clients import catalogue
from gateway.clients.stats import STATS
from gateway.clients.transport import ServiceUnavailable
from gateway.staff import auth
from gateway.web import xlsx
from gateway.web.listing import Listing, csv_response, listing_of
from shared import lifecycle
from shared.identity import Role
from shared.messages import NATURE_LABELS, Nature

routes = web.RouteTableDef()
BASE = "/admin/statistiques"
VIEWERS = (Role.ANALYST, Role.ADMINISTRATOR, Role.FOCAL_POINT)
# Present status → the column's heading (the guide's « En attente », « En cours », « Rejet »…).
# The body's answers: « Traités » (treated, « avis attendu »), and « Avis », the requests closed
# with the citizen's opinion (stats' with_opinion: not a status, one closed « sans retour » has
# none).
STATUS_COLUMNS = {s.value: heading for s, heading in lifecycle.STATS_COLUMNS.items()}
WITH_OPINION = "with_opinion"
ANSWER_COLUMNS = {**STATUS_COLUMNS, WITH_OPINION: "Avis"}
# The guide's sub-menu of « Consultations » names each nature in the plural.
PLURALS = {
    Nature.RECLAMATION: "Réclamations",
    Nature.SUGGESTION: "Suggestions",
    Nature.OBSERVATION: "Observations",
    Nature.MOTION: "Motions de félicitations",
    Nature.DEMANDE_INFORMATION: "Demandes d'information",
}
SORTS = ("organisme", "total", *(n.value for n in Nature), *ANSWER_COLUMNS)


def _columns() -> list[tuple[str, str]]:
    natures = [(n.value, NATURE_LABELS[n]) for n in Nature]
    return [("total", "Total"), *natures, *ANSWER_COLUMNS.items()]


def _value(entry: dict, key: str) -> int:
    if key == "total":
        return entry["total"]
    if key == WITH_OPINION:
        return entry.get(WITH_OPINION, 0)
    if key in STATUS_COLUMNS:
        return sum(n for s, n in entry["by_status"].items() if lifecycle.stats_column(s) == key)
    return entry["by_nature"].get(key, 0)


async def general(request: web.Request) -> list[dict] | None:
    """Stats' « statistique générale » of the period, per body; None if stats does not answer."""
    staff = auth.current_staff(request)
    assert staff is not None
    period = shell.period_of(request)
    try:
        status, body = await request.app[STATS].general(
            period.start, period.end, identity=staff.identity
        )
    except ServiceUnavailable:
        return None
    return body["bodies"] if status == 200 else None


def _selected(listing: Listing, bodies: list[dict]) -> list[dict]:
    words = listing.words.casefold()
    rows = [b for b in bodies if not words or words in b["body_name"].casefold()]
    if listing.sort == "organisme":
        rows.sort(key=lambda b: b["body_name"].casefold(), reverse=listing.descending)
    else:
        rows.sort(
            key=lambda b: (_value(b, listing.sort), b["body_name"]), reverse=listing.descending
        )
    return rows


DEADLINE_KEYS = ("answered", "on_time", "late_waiting")


def deadlines(rows: list[dict]) -> tuple[list[dict], dict]:
    """« Délais respectés »: the bodies with something to count, and the totals."""
    shown = []
    for row in rows:
        counted = row.get("deadlines") or {}
        if counted.get("answered") or counted.get("late_waiting"):
            shown.append({"body_name": row["body_name"], **counted})
    totals: dict = {key: sum(r[key] for r in shown) for key in DEADLINE_KEYS}
    counted = totals["answered"] + totals["late_waiting"]
    totals["met_percent"] = round(100 * totals["on_time"] / counted) if counted else None
    return shown, totals


def _totals(rows: list[dict]) -> dict[str, int]:
    return {key: sum(_value(r, key) for r in rows) for key, _ in _columns()}


async def every_body(request: web.Request, counted: list[dict]) -> list[dict]:
    """Stats' lines, and a line of zeros for each body of the catalogue that received nothing
    over the period — every body is listed, as on the public page (a focal point: its own body
    only). The catalogue's current name wins; a body stats knows and the catalogue no longer
    lists keeps its line. Without the catalogue, stats' lines alone."""
    staff = auth.current_staff(request)
    assert staff is not None
    try:
        bodies = await catalogue.all_bodies(request)
    except ServiceUnavailable:
        return counted
    if staff.role == Role.FOCAL_POINT:
        bodies = [b for b in bodies if b["id"] == staff.body_id]
    rows = {r["body_id"]: r for r in counted}
    for body in bodies:
        row = rows.setdefault(
            body["id"],
            {
                "body_id": body["id"],
                "body_name": body["name"],
                "total": 0,
                "by_nature": {},
                "by_status": {},
                WITH_OPINION: 0,
            },
        )
        row["body_name"] = body["name"]
    return list(rows.values())


# Every body on one page, as on the public page (the catalogue holds some dozens).
ALL_ON_ONE_PAGE = 1000


async def _rows_or_unavailable(request: web.Request) -> tuple[Listing, list[dict] | None]:
    listing = listing_of(request, SORTS, "total", default_descending=True, per_page=ALL_ON_ONE_PAGE)
    bodies = await general(request)
    if bodies is None:
        return listing, None
    return listing, _selected(listing, await every_body(request, bodies))


async def _unavailable(request: web.Request) -> web.Response:
    return await shell.unavailable(request, "Les statistiques")


@routes.get(BASE, name="bo-statistiques")
@access.staff_required(*VIEWERS)
async def statistics_page(request: web.Request) -> web.Response:
    listing, rows = await _rows_or_unavailable(request)
    if rows is None:
        return await _unavailable(request)
    shown = rows[listing.offset : listing.offset + listing.per_page]
    met, met_totals = deadlines(rows)
    return await shell.render(
        request,
        "backoffice/statistics.html",
        {
            "title": "Statistique générale",
            "listing": listing,
            "rows": shown,
            "total": len(rows),
            "columns": _columns(),
            "totals": _totals(rows),
            "value": _value,
            "deadlines": met,
            "deadline_totals": met_totals,
        },
    )


def _table(rows: list[dict]) -> tuple[list[str], list[list[object]]]:
    columns = _columns()
    header = ["Organisme public", *(label for _, label in columns)]
    body = [[r["body_name"], *(_value(r, key) for key, _ in columns)] for r in rows]
    totals = _totals(rows)
    body.append(["TOTAUX", *(totals[key] for key, _ in columns)])
    return header, body


@routes.get(f"{BASE}/export.csv", name="bo-statistiques-csv")
@access.staff_required(*VIEWERS)
async def export_csv(request: web.Request) -> web.Response:
    _, rows = await _rows_or_unavailable(request)
    if rows is None:
        return await _unavailable(request)
    header, body = _table(rows)
    return csv_response("statistiques-milie.csv", header, body)


@routes.get(f"{BASE}/export.xlsx", name="bo-statistiques-xlsx")
@access.staff_required(*VIEWERS)
async def export_xlsx(request: web.Request) -> web.StreamResponse:
    _, rows = await _rows_or_unavailable(request)
    if rows is None:
        return await _unavailable(request)
    header, body = _table(rows)
    return await xlsx.response(request, "statistiques-milie.xlsx", header, body, "Statistiques")


@routes.get("/admin/consultations", name="bo-consultations")
@access.staff_required(Role.ANALYST, Role.ADMINISTRATOR)
async def consultations(request: web.Request) -> web.Response:
    """The guide's « Consultations »: the period's requests by nature, each a link to the list
    of them in every status (triage's list, read-only unless a request still waits)."""
    bodies = await general(request)
    period = shell.period_of(request)
    natures: list[dict[str, Any]] = []
    for nature in Nature:
        count = None if bodies is None else sum(b["by_nature"].get(nature.value, 0) for b in bodies)
        url = shell.with_period("/admin/traitements", period, statut="all", nature=nature.value)
        natures.append(
            {"label": PLURALS.get(nature, NATURE_LABELS[nature]), "count": count, "url": url}
        )
    return await shell.render(
        request,
        "backoffice/consultations.html",
        {"title": "Consultations", "natures": natures, "available": bodies is not None},
    )
