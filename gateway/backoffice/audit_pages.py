"""« Journal d'audit », for administrators: the gateway's own log (sign-ins, accounts, the
catalogue) beside every decision and action of the services — triage's (analysts' decisions,
exports) and treatment's (focal points' actions) — and every reading of a citizen's personal
data, merged by time and paged; filtered by person, action, request code, period and words. Its
CSV and spreadsheet exports hold the same lines.

Each service keeps its own log (``shared.audit``) and lists it on ``GET /audit``. Page *n* of
*p* lines is the first *n × p* lines of each source, merged by time, cut to the page: exact
whatever the sources hold, at the cost of reading further for a far page (at most
:data:`MERGE_MAX` lines a source; past it, the page asks to narrow the filters). A service that
does not answer leaves its lines out, and the page says so.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from aiohttp import web

from gateway.backoffice import shell
from gateway.backoffice.access import staff_identity, staff_required
from gateway.clients.transport import ServiceUnavailable
from gateway.clients.treatment import TREATMENT
from gateway.clients.triage import TRIAGE
from gateway.staff import audit
from gateway.web import xlsx
from gateway.web.listing import EXPORT_LIMIT, Listing, csv_response, listing_of
from shared import audit as service_audit
from shared import french, lifecycle
from shared.identity import Role
from shared.lifecycle import Event
from shared.service import POOL

routes = web.RouteTableDef()

MERGE_MAX = 10_000
GATEWAY = "Comptes et connexions"
SERVICES = {"triage": "Analystes (triage)", "treatment": "Organismes (traitement)"}
# The services' actions in the back office's words: triage's decisions, treatment's actions
# (a request's events, by their kind), exports and readings of personal data.
SERVICE_ACTIONS: dict[str, str] = {
    **{e.kind: label for e, label in lifecycle.BODY_EVENT_LABELS.items()},
    **{e.kind: label for e, label in lifecycle.ANALYST_EVENT_LABELS.items()},
    "tagged": "Balise (note interne)",
    "export": "Exportation d'une liste",
    service_audit.PERSONAL_DATA_READ: service_audit.PERSONAL_DATA_READ_LABEL,
    # Treatment's lines of the administrators' settings (services/treatment/policy.py and
    # reminders_api.py), under the gateway's labels where the gateway keeps a line too.
    **{a: audit.ACTIONS[a] for a in ("deadline_set", "day_off_declared", "day_off_removed")},
    "reminder_settings": "Rappels : modification",
}
SERVICE_ACTIONS[Event.VALIDATED.kind] = lifecycle.ANALYST_EVENT_LABELS[Event.VALIDATED]
ACTION_GROUPS = [
    ("Connexions, comptes et catalogue", list(audit.ACTIONS.items())),
    (
        "Décisions et actions sur les requêtes",
        # An action both logs keep (a reading of personal data, a deadline) is offered once.
        sorted(
            ((k, v) for k, v in SERVICE_ACTIONS.items() if k not in audit.ACTIONS),
            key=lambda kv: kv[1],
        ),
    ),
]
_CODE = re.compile(r"^\d{10}$")


@dataclass(frozen=True)
class Line:
    """One line of the journal, whichever log it comes from."""

    at: datetime
    actor_login: str
    action_label: str
    code: str
    target: str
    service: str
    address: str
    detail: str


@dataclass(frozen=True)
class Filters:
    person: str
    action: str
    code: str
    start: date | None
    end: date | None

    def service_params(self, listing: Listing, limit: int) -> dict[str, str]:
        params = {
            "person": self.person,
            "action": self.action,
            "code": self.code,
            "q": listing.words,
            "from": self.start.isoformat() if self.start else "",
            "to": self.end.isoformat() if self.end else "",
            "order": "desc" if listing.descending else "asc",
            "limit": str(limit),
        }
        return {k: v for k, v in params.items() if v}


def _filters(request: web.Request) -> tuple[Filters, dict[str, str]]:
    """The filters asked for, and what was typed (shown back in the form)."""
    typed = {
        "personne": request.query.get("personne", "").strip()[:100],
        "action": request.query.get("action", ""),
        "code": re.sub(r"\s", "", request.query.get("code", ""))[:20],
    }
    action = typed["action"] if typed["action"] in {**audit.ACTIONS, **SERVICE_ACTIONS} else ""
    code = typed["code"] if _CODE.match(typed["code"]) else ""
    period = shell.period_of(request)
    return Filters(typed["personne"], action, code, period.start, period.end), typed


def _from_gateway(e: audit.Entry) -> Line:
    code = ""
    if e.target and (found := re.fullmatch(r"requête (\d{10})", e.target)):
        code = found.group(1)
    return Line(
        e.at,
        e.actor_login,
        e.action_label,
        code,
        "" if code else (e.target or ""),
        GATEWAY,
        e.address,
        e.detail,
    )


def _from_service(service: str, item: dict[str, Any]) -> Line:
    action, outcome = item["action"], item["outcome"]
    if outcome == "refused":  # a call refused by the service: its method and path are the target
        label, target = audit.ACTIONS["access_refused"], action
    else:
        label, target = SERVICE_ACTIONS.get(action, action), ""
        if outcome == "conflict":
            label += " (refusée : déjà faite ou modifiée entre-temps)"
    who = item["actor_login"] or item["actor_id"]
    if not who:
        who = "usager" if item.get("actor_role") == "citizen" else "système"
    return Line(
        datetime.fromisoformat(item["at"]),
        who,
        label,
        item["request_code"] or "",
        target,
        SERVICES[service],
        item["address"],
        item["detail"],
    )


async def _service_lines(
    request: web.Request, service: str, params: dict[str, str]
) -> tuple[int, list[Line]] | None:
    client = request.app[TRIAGE] if service == "triage" else request.app[TREATMENT]
    try:
        status, body = await client.audit(params, identity=staff_identity(request))
    except ServiceUnavailable:
        return None
    if status != 200:
        return None
    return body["total"], [_from_service(service, item) for item in body["items"]]


async def _gateway_lines(
    request: web.Request, f: Filters, listing: Listing, limit: int
) -> tuple[int, list[Line]]:
    async with request.app[POOL].acquire(timeout=10) as conn:
        total, rows = await audit.search(
            conn,
            words=listing.words,
            action=f.action,
            start=f.start,
            end=f.end,
            sort="date",
            descending=listing.descending,
            limit=limit,
            offset=0,
            person=f.person,
            code=f.code,
        )
    return total, [_from_gateway(e) for e in rows]


async def _merged(
    request: web.Request, limit: int | None = None
) -> tuple[Listing, Filters, dict[str, str], int, list[Line], list[str]]:
    """(listing, filters, typed, total, the page's lines, the services that did not answer)."""
    listing = listing_of(request, ("date",), "date", default_descending=True)
    f, typed = _filters(request)
    want = limit or min(listing.offset + listing.per_page, MERGE_MAX)
    services = [] if f.action and f.action not in SERVICE_ACTIONS else list(SERVICES)
    params = f.service_params(listing, want)
    answers = await asyncio.gather(*(_service_lines(request, s, params) for s in services))
    missing = [SERVICES[s] for s, a in zip(services, answers, strict=True) if a is None]
    found = [a for a in answers if a is not None]
    if not f.action or f.action in audit.ACTIONS:
        found.append(await _gateway_lines(request, f, listing, want))
    total = sum(t for t, _ in found)
    lines = sorted(
        (line for _, some in found for line in some),
        key=lambda line: line.at,
        reverse=listing.descending,
    )
    if limit:
        return listing, f, typed, total, lines[:limit], missing
    return listing, f, typed, total, lines[listing.offset : want], missing


@routes.get("/admin/journal", name="bo-journal")
@staff_required(Role.ADMINISTRATOR)
async def audit_list(request: web.Request) -> web.Response:
    listing, f, typed, total, rows, missing = await _merged(request)
    return await shell.render(
        request,
        "backoffice/audit.html",
        {
            "title": "Journal d'audit",
            "listing": listing,
            "typed": typed,
            "action_filter": f.action,
            "action_groups": ACTION_GROUPS,
            "rows": rows,
            "total": total,
            "missing": missing,
            "too_far": listing.offset >= MERGE_MAX,
        },
    )


HEADER = ["Date (UTC)", "Login", "Action", "Compte visé", "Adresse", "Détail", "Requête", "Origine"]


def _cells(rows: list[Line]) -> list[list[object]]:
    return [
        [e.at, e.actor_login, e.action_label, e.target, e.address, e.detail, e.code, e.service]
        for e in rows
    ]


@routes.get("/admin/journal/export.csv", name="bo-journal-export")
@staff_required(Role.ADMINISTRATOR)
async def audit_export(request: web.Request) -> web.Response:
    *_, rows, _ = await _merged(request, limit=EXPORT_LIMIT)
    cells = ([french.stamp(at, seconds=True), *rest] for at, *rest in _cells(rows))
    return csv_response("journal-audit-milie.csv", HEADER, cells)


@routes.get("/admin/journal/export.xlsx", name="bo-journal-xlsx")
@staff_required(Role.ADMINISTRATOR)
async def audit_xlsx(request: web.Request) -> web.StreamResponse:
    *_, rows, _ = await _merged(request, limit=EXPORT_LIMIT)
    return await xlsx.response(
        request,
        "journal-audit-milie.xlsx",
        HEADER,
        _cells(rows),
        "Journal",
        date_formats={0: xlsx.MOMENT_SECONDS},
    )
