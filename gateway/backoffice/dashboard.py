"""The back office's first pages: the dashboard (« Tableau de bord ») and « Document d'aide »."""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web

from gateway.backoffice.access import staff_required
from gateway.backoffice.shell import period_of, render
from gateway.clients.stats import STATS
from gateway.clients.transport import ServiceUnavailable
from gateway.clients.triage import TRIAGE, QueueQuery
from gateway.staff import auth
from gateway.web.keys import GATEWAY_SETTINGS
from shared.identity import Role
from shared.lifecycle import ANALYST_FILTERS, QueueStatus
from shared.messages import NATURE_LABELS, Nature

routes = web.RouteTableDef()


@routes.get("/admin", name="bo-root")
async def root(request: web.Request) -> web.Response:
    raise web.HTTPMovedPermanently("/admin/")


@routes.get("/admin/", name="bo-dashboard")
@staff_required()
async def dashboard(request: web.Request) -> web.Response:
    staff = auth.current_staff(request)
    assert staff is not None
    period = period_of(request)
    summary = None
    # Stats' summary counts every body: a focal point must not see it (their own comes later).
    if staff.role in (Role.ANALYST, Role.ADMINISTRATOR):
        try:
            status, body = await request.app[STATS].summary(
                period.start, period.end, identity=staff.identity
            )
            if status == 200:
                summary = body
        except ServiceUnavailable:
            summary = None
    natures = [(n.value, NATURE_LABELS[n]) for n in Nature]
    focal = await focal_counters(request, staff, period) if staff.role == Role.FOCAL_POINT else None
    analyst = None
    if staff.role in (Role.ANALYST, Role.ADMINISTRATOR):
        analyst = {
            "received": analyst_cards(summary, period) if summary else None,
            "queue_cards": await queue_cards(request, staff),
        }
    return await render(
        request,
        "backoffice/dashboard.html",
        {
            "title": "Tableau de bord",
            "summary": summary,
            "natures": natures,
            **(analyst or {}),
            **(focal or {}),
        },
    )


# --- the analysts' « Tableau de bord »: every number a link to its list (issue 12) -------------
QUEUE = "/admin/traitements"


def _queue_url(period, **params: str) -> str:
    """The analysts' queue, every status, submitted over the dashboard's period (always written
    in the address, so that the list counts what the card counts)."""
    query = {"statut": "all", "du": period.start.isoformat(), "au": period.end.isoformat()}
    query.update({k: v for k, v in params.items() if v})
    return f"{QUEUE}?{urlencode(query)}"


def analyst_cards(summary: dict, period) -> list[dict]:
    """Stats' summary (requests submitted over the period, every body), each figure with the
    queue's list of the same requests."""
    cards = [_card("Total requêtes", summary["total"], _queue_url(period))]
    for nature in Nature:
        count = summary["by_nature"].get(nature.value, 0)
        cards.append(_card(NATURE_LABELS[nature], count, _queue_url(period, nature=nature.value)))
    return cards


async def queue_cards(request: web.Request, staff) -> list[dict] | None:
    """What waits for the analysts today, whatever the period: « En attente d'examen » and
    « En retard » (past the admissibility deadline), each leading to the queue so filtered.
    None when triage does not answer."""
    cards = []
    for label, query, url in (
        (ANALYST_FILTERS[QueueStatus.WAITING], QueueQuery(), QUEUE),
        ("En retard", QueueQuery(overdue=True), f"{QUEUE}?retard=1"),
    ):
        try:
            status, body = await request.app[TRIAGE].queue(query, identity=staff.identity, limit=1)
        except ServiceUnavailable:
            return None
        if status != 200:
            return None
        cards.append(_card(label, body["total"], url))
    return cards


# --- the focal point's « Tableau de bord » (back-office guide, « 1- Tableau de bord ») ------------
# The lists each number leads to. Built by the treatment pages (issue 11): named by URL here, so
# that this page does not depend on their route names.
EN_COURS = "/admin/traitements/en-cours"
RETRAITEMENT = "/admin/traitements/retraitement"
INSATISFAITS = "/admin/traitements/insatisfaits"
CONSULTATIONS = "/admin/pf/consultations"


def _card(label: str, figure: int, url: str, percent: int | None = None) -> dict:
    return {"label": label, "figure": figure, "url": url, "percent": percent}


def _body_list(url: str, period, **params: str) -> str:
    """A body's list over the dashboard's period, always written in the address (the default
    period too: the list would count every day without it), on the submission day as the
    counters are (``shared.body_counts``)."""
    query = {"du": period.start.isoformat(), "au": period.end.isoformat(), **params}
    return f"{url}?{urlencode(query)}"


def focal_cards(counters: dict, period) -> dict[str, list[dict]]:
    """The guide's counters in its order (stats' body-dashboard fields, see
    services/stats/body_dashboard.py), each with the list of exactly the requests it counts
    (treatment builds each from the same ``shared.body_counts`` rule), over the same period."""

    def consultation(liste: str) -> str:
        return _body_list(CONSULTATIONS, period, liste=liste)

    validated = counters["validated"]

    # No request in the period: no share of anything (« Total requêtes 0 — 100 % » said a
    # whole where there was none); the figures say 0 alone.
    shares = counters["total"] > 0

    def nature(value: Nature, label: str, liste: str) -> dict:
        counted = validated.get(value.value, {"count": 0, "percent": 0})
        percent = counted["percent"] if shares else None
        return _card(label, counted["count"], consultation(liste), percent)

    return {
        "received": [
            _card(
                "Total requêtes", counters["total"], consultation("toutes"), 100 if shares else None
            ),
            nature(Nature.MOTION, "Motions validées", "motions"),
            nature(Nature.RECLAMATION, "Réclamations validées", "reclamations"),
            nature(Nature.SUGGESTION, "Suggestions validées", "suggestions"),
            nature(Nature.OBSERVATION, "Observations validées", "observations"),
            # The guide's four cards knew no demande d'information: without this one the
            # cards fell short of « Total requêtes » and their percentages of 100 %.
            nature(
                Nature.DEMANDE_INFORMATION,
                "Demandes d'information validées",
                "demandes-information",
            ),
        ],
        "treatment": [
            _card("Réclamations à traiter", counters["to_treat"], _body_list(EN_COURS, period)),
            _card("Réclamations traitées", counters["treated"], consultation("traitees")),
            _card("Avis attendus", counters["opinions_expected"], consultation("avis-attendus")),
            _card("Avis exprimés", counters["opinions_given"], consultation("avis-exprimes")),
            _card(
                "Avis d'insatisfaction",
                counters["dissatisfied"],
                _body_list(INSATISFAITS, period),
            ),
            _card("Sans retour", counters["without_opinion"], consultation("sans-retour")),
        ],
    }


async def focal_counters(request: web.Request, staff, period) -> dict | None:
    """The focal point's body's counters over the period (stats answers for its own body only,
    whatever is asked); None when stats does not answer."""
    try:
        status, body = await request.app[STATS].body_dashboard(
            period.start, period.end, identity=staff.identity
        )
    except ServiceUnavailable:
        return None
    if status != 200 or not isinstance(body, dict):
        return None
    return {
        "focal": body,
        "cards": focal_cards(body, period),
        # The header's « À traiter »: the figure of « À traiter aujourd'hui » below, read in the
        # same snapshot, not asked of stats a second time (the two could differ for a moment).
        "waiting": body.get("waiting") if isinstance(body.get("waiting"), int) else None,
        # « À traiter aujourd'hui » counts every submission day: so do the lists it leads to.
        "waiting_links": {"en_cours": EN_COURS, "retraitement": RETRAITEMENT},
    }


@routes.get("/admin/aide", name="bo-aide")
@staff_required()
async def help_page(request: web.Request) -> web.Response:
    settings = request.app[GATEWAY_SETTINGS]
    return await render(
        request,
        "backoffice/help.html",
        {
            "title": "Document d'aide",
            "idle_minutes": round(settings.staff_idle_timeout_seconds / 60),
            "absolute_hours": round(settings.staff_absolute_timeout_seconds / 3600),
        },
    )
