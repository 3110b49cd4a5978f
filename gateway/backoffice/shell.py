"""The back office's shell (after the guide, ../shared/seeds/000_*): layout, menu, period filter,
the count of what waits (« À traiter », « En attente d'examen »), the dashboard and the « Document
d'aide » page.

Every back-office page renders through :func:`render`, which adds what the layout needs::

    return await shell.render(request, "backoffice/queue.html", {"title": "Traitements", ...})

A page template extends ``backoffice/layout.html`` and fills ``{% block content %}``. The menu
lists route *names*: register a page under one (``name="bo-traitements"``) and its entry becomes
a link; an entry without a route yet shows as « bientôt disponible ».
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web

from gateway.clients.intake import INTAKE
from gateway.clients.stats import STATS
from gateway.clients.transport import ServiceUnavailable
from gateway.clients.triage import TRIAGE
from gateway.staff import auth, sessions
from gateway.staff.accounts import ROLE_LABELS
from gateway.web import csrf
from shared import french
from shared.identity import Role
from shared.lifecycle import AWAITING_TRIAGE, BODY_LISTS

log = logging.getLogger(__name__)

ALL_ROLES = tuple(Role)
BODY_NAMES = web.AppKey("body_names", dict)  # {"names": {id: name}, "at": monotonic time}
BODY_NAMES_TTL = 300.0


@dataclass(frozen=True)
class MenuEntry:
    label: str
    route: str | None  # a route name; None for a heading with children
    roles: tuple[Role, ...] = ALL_ROLES
    children: tuple[MenuEntry, ...] = field(default_factory=tuple)


_BODY_LISTS = (
    MenuEntry(BODY_LISTS["en_cours"], "bo-pf-en-cours"),
    MenuEntry(BODY_LISTS["retraitement"], "bo-pf-retraitement"),
    MenuEntry(BODY_LISTS["insatisfaits"], "bo-pf-insatisfaits"),
    MenuEntry(BODY_LISTS["en_retard"], "bo-pf-en-retard"),
)

# The guide's menu. The part of the platform that builds a page adds its route name here.
MENU: list[MenuEntry] = [
    MenuEntry(
        "Accueil",
        None,
        children=(MenuEntry("Tableau de bord", "bo-dashboard"),),
    ),
    MenuEntry("Traitements", "bo-traitements", (Role.ANALYST, Role.ADMINISTRATOR)),
    # The focal point's « Traitements » (backoffice.treatment.lists).
    MenuEntry("Traitements", None, (Role.FOCAL_POINT,), children=_BODY_LISTS),
    MenuEntry("Consultations", "bo-consultations", (Role.ANALYST, Role.ADMINISTRATOR)),
    # A focal point's « Consultations »: « Sans retour », « Satisfaits », each nature.
    MenuEntry("Consultations", "bo-pf-consultations", (Role.FOCAL_POINT,)),
    # The bodies' same lists, read-only, for analysts and administrators.
    MenuEntry(
        "Suivi des organismes",
        None,
        (Role.ANALYST, Role.ADMINISTRATOR),
        children=(*_BODY_LISTS, MenuEntry("Avis et natures des requêtes", "bo-pf-consultations")),
    ),
    MenuEntry(
        "Statistiques", "bo-statistiques", (Role.ANALYST, Role.ADMINISTRATOR, Role.FOCAL_POINT)
    ),
    MenuEntry("Saisie d'une requête", "bo-appel", (Role.OPERATOR,)),
    # A caller without internet phones back: where their request stands, their opinion.
    MenuEntry("Suivi d'un appel", "bo-appel-suivi", (Role.OPERATOR,)),
    MenuEntry(
        "Administration",
        None,
        (Role.ADMINISTRATOR,),
        children=(
            MenuEntry("Comptes", "bo-comptes", (Role.ADMINISTRATOR,)),
            MenuEntry("Journal d'audit", "bo-journal", (Role.ADMINISTRATOR,)),
            MenuEntry("Catalogue", "bo-catalogue", (Role.ADMINISTRATOR,)),
            MenuEntry("Motifs", "bo-motifs", (Role.ADMINISTRATOR,)),
            MenuEntry("Délais", "bo-delais", (Role.ADMINISTRATOR,)),
            MenuEntry("Clés d'API", "bo-cles-api", (Role.ADMINISTRATOR,)),
            MenuEntry("Limites et SMS", "bo-limites", (Role.ADMINISTRATOR,)),
            MenuEntry("Rappels", "bo-rappels", (Role.ADMINISTRATOR,)),
        ),
    ),
    # How a focal point is told of new requests by email (issue 13).
    MenuEntry("Mes alertes", "bo-mes-alertes", (Role.FOCAL_POINT,)),
    MenuEntry("Document d'aide", "bo-aide"),
]


# --- the period filter: « PERIODE DU … au … », GET parameters du/au, kept across pages ---------

_FRENCH_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


@dataclass(frozen=True)
class Period:
    start: date
    end: date
    explicit: bool  # given in the address (then links carry it on)
    errors: dict[str, str]
    raw: dict[str, str]

    @property
    def query(self) -> dict[str, str]:
        return {"du": self.start.isoformat(), "au": self.end.isoformat()} if self.explicit else {}

    @property
    def label(self) -> str:
        """The heading, as the seeds' back office writes it: « PERIODE DU 01/01/2026 au … »."""
        return f"PERIODE DU {french.day(self.start)} au {french.day(self.end)}"

    @property
    def in_sentence(self) -> str:
        """The period inside a sentence: « période du 01/01/2026 au 07/12/2026 » (the heading's
        capitals lowered gave « periode », without its accent)."""
        return f"période du {french.day(self.start)} au {french.day(self.end)}"


def parse_day(text: str) -> date | None:
    """A date typed as AAAA-MM-JJ (date fields) or JJ/MM/AAAA (text fields); None if neither."""
    text = text.strip()
    try:
        if m := _FRENCH_DATE.match(text):
            return date(int(m[3]), int(m[2]), int(m[1]))
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return date.fromisoformat(text)
    except ValueError:
        return None
    return None


def period_of(request: web.Request, today: date | None = None) -> Period:
    """The period asked for, else from 1 January to today; bad dates get a French message."""
    today = today or datetime.now(UTC).date()
    default = (date(today.year, 1, 1), today)
    raw = {k: request.query.get(k, "")[:20] for k in ("du", "au")}
    errors: dict[str, str] = {}
    values: dict[str, date] = {}
    for name, fallback in zip(("du", "au"), default, strict=True):
        if not raw[name].strip():
            values[name] = fallback
            continue
        day = parse_day(raw[name])
        if day is None or day.year < 2000 or day.year > 2100:
            errors[name] = "Date invalide : écrivez-la JJ/MM/AAAA (par exemple 07/02/2019)."
            values[name] = fallback
        else:
            values[name] = day
    if not errors and values["du"] > values["au"]:
        errors["au"] = "La fin de la période doit suivre son début."
        values["du"], values["au"] = default
    explicit = not errors and any(v.strip() for v in raw.values())
    return Period(values["du"], values["au"], explicit, errors, raw)


def with_period(url: str, period: Period, **params: Any) -> str:
    """``url`` with the period (when chosen) and ``params`` in its query string."""
    query = {**period.query, **{k: v for k, v in params.items() if v not in (None, "")}}
    return f"{url}?{urlencode(query)}" if query else url


# --- what the layout shows ---------------------------------------------------------------------


def _url_of(request: web.Request, route: str | None) -> str | None:
    if route is None:
        return None
    resource = request.app.router.named_resources().get(route)
    return str(resource.url_for()) if resource is not None else None


def menu_for(request: web.Request, staff: sessions.Staff, period: Period) -> list[dict]:
    def entry(item: MenuEntry) -> dict | None:
        if staff.role not in item.roles:
            return None
        url = _url_of(request, item.route)
        children = [c for c in map(entry, item.children) if c]
        if item.route is None and not children:
            return None
        return {
            "label": item.label,
            "url": with_period(url, period) if url else None,
            "current": url is not None and request.path == url,
            "pending": item.route is not None and url is None,
            "children": children,
        }

    return [e for e in map(entry, MENU) if e]


async def body_names(request: web.Request) -> dict[str, str]:
    """Intake's public bodies, id → name, kept a few minutes; {} if intake does not answer."""
    cache = request.app[BODY_NAMES]
    if cache.get("names") and time.monotonic() - cache.get("at", 0) < BODY_NAMES_TTL:
        return cache["names"]
    try:
        status, body = await request.app[INTAKE].bodies()
    except ServiceUnavailable:
        return cache.get("names", {})
    if status != 200:
        return cache.get("names", {})
    cache["names"] = {b["id"]: b["name"] for b in body.get("bodies", [])}
    cache["at"] = time.monotonic()
    return cache["names"]


async def body_problem(request: web.Request, body_id: str) -> str | None:
    """Why ``body_id``, chosen in a form's list of bodies, cannot be kept (None: it can): it
    must be in intake's catalogue, and the catalogue must answer to say so. A focal point's
    body and a body's own deadline are checked here."""
    names = await body_names(request)
    if not names:
        return "Le catalogue des organismes ne répond pas : réessayez dans un instant."
    if body_id not in names:
        return "Cet organisme n'est pas dans le catalogue : choisissez-le dans la liste."
    return None


# The header's count, named for what it counts: a focal point's « À traiter » (the guide's
# « Requêtes à traiter », the list it leads to), the analysts' « En attente d'examen ». A bare
# « En attente » also named the focal point's « Mettre en attente » and the analysts' queue.
FOCAL_WAITING_LABEL = "À traiter"

# Where a focal point's « À traiter » leads: « Traitements › En cours » (treatment's pages).
# The header's count has no period (what waits now, whatever the day it came), and neither
# has the list it leads to (layout.html): with the period, the list held fewer than the badge.
FOCAL_WAITING_URL = "/admin/traitements/en-cours"


async def focal_waiting_count(request: web.Request, staff: sessions.Staff) -> int | None:
    """What waits for the focal point's body now (in treatment, on hold, reopened: stats'
    body-waiting count, services/stats/body_dashboard.py); None when it cannot be known."""
    try:
        status, body = await request.app[STATS].body_waiting(identity=staff.identity)
    except ServiceUnavailable:
        return None
    if status != 200 or not isinstance(body, dict) or not isinstance(body.get("waiting"), int):
        return None
    return body["waiting"]


async def waiting_count(request: web.Request, staff: sessions.Staff) -> int | None:
    """Requests waiting for the analysts (triage's queue), or for a focal point's body; None
    when it cannot be known."""
    if staff.role == Role.FOCAL_POINT and staff.body_id:
        return await focal_waiting_count(request, staff)
    if staff.role not in (Role.ANALYST, Role.ADMINISTRATOR):
        return None
    try:
        status, body = await request.app[TRIAGE].queue(None, identity=staff.identity, limit=1)
    except ServiceUnavailable:
        return None
    if status != 200 or not isinstance(body, dict) or not isinstance(body.get("total"), int):
        return None
    return body["total"]


async def shell_context(request: web.Request, waiting: int | None = None) -> dict[str, Any]:
    """The shell's part of a page; ``waiting``: the header's count when the page read it already
    (the focal point's dashboard, in the same snapshot as its figures), asked otherwise."""
    staff = auth.current_staff(request)
    assert staff is not None, "back-office pages are behind staff_required"
    period = period_of(request)
    names = await body_names(request) if staff.role == Role.FOCAL_POINT else {}
    return {
        "staff": staff,
        "role_label": _role_label(staff.role),
        "body_name": names.get(staff.body_id or "", staff.body_id),
        "menu": menu_for(request, staff, period),
        "period": period,
        "period_hidden": {k: v for k, v in request.query.items() if k not in ("du", "au", "page")},
        "waiting": waiting if waiting is not None else await waiting_count(request, staff),
        "waiting_label": (
            FOCAL_WAITING_LABEL if staff.role == Role.FOCAL_POINT else AWAITING_TRIAGE
        ),
        "waiting_url": (
            FOCAL_WAITING_URL
            if staff.role == Role.FOCAL_POINT
            else _url_of(request, "bo-traitements")
        ),
        "csrf_token": csrf.token_for(request),
        "with_period": lambda url, **p: with_period(url, period, **p),
    }


def _role_label(role: Role) -> str:
    return ROLE_LABELS[role]


async def render(
    request: web.Request, template: str, context: dict[str, Any], status: int = 200
) -> web.Response:
    """A back-office page: ``context`` plus the shell's (staff, menu, period, count, token); a
    ``waiting`` in ``context`` is the header's count, not asked again."""
    full = await shell_context(request, context.get("waiting"))
    full.update(context)
    return aiohttp_jinja2.render_template(template, request, full, status=status)


async def unavailable(
    request: web.Request, what: str, back: tuple[str, str] | None = None
) -> web.Response:
    """The back office's « Service indisponible » page (503): ``what`` does not answer;
    ``back``: the link back (address, words), the analysts' queue when not given."""
    return await render(
        request,
        "backoffice/triage_unavailable.html",
        {"title": "Service indisponible", "what": what, "back": back},
        status=503,
    )
