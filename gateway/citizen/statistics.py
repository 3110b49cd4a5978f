"""« Statistiques »: per public body, the counts the stats service keeps, by nature, the requests
treated, the share of satisfied citizens and « Délais respectés » (the share of answers given on
time).

Every active body of the catalogue is listed, with zeros where nothing came yet; a body that
stats knows and the catalogue no longer lists (deactivated) keeps its line.
"""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from gateway.clients import catalogue
from gateway.clients.stats import STATS
from gateway.clients.transport import ServiceUnavailable
from gateway.web.errors import unavailable
from shared.messages import Nature, Opinion

routes = web.RouteTableDef()
# The columns, in the order of the back office's « Statistique générale ».
COLUMNS = [
    (Nature.MOTION, "Motions de félicitations"),
    (Nature.OBSERVATION, "Observations"),
    (Nature.SUGGESTION, "Suggestions"),
    (Nature.RECLAMATION, "Réclamations"),
    (Nature.DEMANDE_INFORMATION, "Demandes d'information"),
]


def _answers(counted: dict) -> dict:
    """The body's answers and its citizens' satisfaction, from stats' /stats/bodies: requests
    treated (answered), opinions given, and the share of « Satisfait » among them (« Partiellement
    satisfait » counts among the opinions given, not among the satisfied). Counts only."""
    by_opinion = counted.get("by_opinion") or {}
    deadlines = counted.get("deadlines") or {}
    return {
        "on_time": deadlines.get("on_time", 0),
        "deadlines_counted": deadlines.get("answered", 0) + deadlines.get("late_waiting", 0),
        "deadlines_percent": deadlines.get("met_percent"),
        "treated": counted.get("treated", 0),
        "opinions": counted.get("opinions", 0),
        "satisfied_count": by_opinion.get(Opinion.SATISFIED.value, 0),
        "satisfied_percent": counted.get("satisfied_percent"),
    }


@routes.get("/statistiques")
async def statistics(request: web.Request) -> web.Response:
    try:
        status, counted = await request.app[STATS].bodies()
        if status != 200:
            raise ServiceUnavailable("stats")
        bodies = await catalogue.all_bodies(request)
    except ServiceUnavailable:
        return unavailable(request)
    rows = {
        b["body_id"]: {
            "name": b["body_name"],
            "total": b["total"],
            "by_nature": b["by_nature"],
            **_answers(b),
        }
        for b in counted["bodies"]
    }
    for body in bodies:
        row = rows.setdefault(
            body["id"], {"name": body["name"], "total": 0, "by_nature": {}, **_answers({})}
        )
        row["name"] = body["name"]  # the catalogue's current name
    listing = sorted(rows.values(), key=lambda r: (-r["total"], r["name"]))
    opinions = sum(r["opinions"] for r in listing)
    satisfied = sum(r["satisfied_count"] for r in listing)
    on_time = sum(r["on_time"] for r in listing)
    counted_deadlines = sum(r["deadlines_counted"] for r in listing)
    totals = {
        "total": sum(r["total"] for r in listing),
        "by_nature": {
            n.value: sum(r["by_nature"].get(n.value, 0) for r in listing) for n, _ in COLUMNS
        },
        "treated": sum(r["treated"] for r in listing),
        "opinions": opinions,
        "satisfied_percent": round(100 * satisfied / opinions) if opinions else None,
        "deadlines_percent": (
            round(100 * on_time / counted_deadlines) if counted_deadlines else None
        ),
    }
    return aiohttp_jinja2.render_template(
        "statistiques.html",
        request,
        {"rows": listing, "totals": totals, "columns": [(n.value, label) for n, label in COLUMNS]},
    )
