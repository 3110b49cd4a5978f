"""The focal point's « Tableau de bord » and « À traiter » (the guide's header « En attente »): one
public body's counters, read from the aggregates the events keep (``daily_counts`` per body ×
day × nature × theme × status, ``outcome_counts`` per body × day × nature × how it ended), never
from every request: a call reads one body's rows of the period through ``(body_id, day)``.

**The period** « PERIODE DU … au … » (``from``, ``to``, inclusive, each optional) applies to the
day the request was *submitted* (the day the citizen sent it; a resubmission keeps it): the
counters tell what became of the requests the body received in that period, in their present
status. « À traiter » has no period: it is what waits for the body now.

The counters (statuses are ``shared.lifecycle.Status``; « to treat » natures are those
``Nature.needs_treatment``: réclamation and demande d'information):

- ``total`` « Total requêtes »: requests past the analysts (validated: every present status
  whose queue status is « Validée » — validated, in_treatment, acknowledged, on_hold, treated,
  reopened, closed), any nature. Requests waiting for the analysts, sent back or rejected never
  reached the body and are not counted.
- ``validated[nature]`` « Réclamations / Suggestions / Observations / Motions validées » (and
  demandes d'information): the part of ``total`` of that nature, with ``percent`` of ``total``
  (rounded to the unit, as the guide shows 25 %, 33 %, 67 %).
- ``to_treat`` « Réclamations à traiter »: to-treat natures now validated, in_treatment,
  on_hold or reopened (not answered yet, or reopened by the citizen: « Retraitement »).
- ``treated`` « Réclamations traitées »: to-treat natures now treated or closed (answered; a
  reopened request counts as to treat again until answered again).
- ``opinions_expected`` « Avis attendus »: now treated (answered, the citizen's opinion awaited).
- ``opinions_given`` « Avis exprimés »: closed with the citizen's opinion, whatever it is
  (request.opinion_given, or the request.closed naming it); ``by_opinion`` splits it.
- ``dissatisfied`` « Avis d'insatisfaction »: closed with « Non satisfait » — the requests of
  « Insatisfaits », the ones the life cycle lets the body answer again (« Partiellement
  satisfait » is in ``by_opinion``, not here).
- ``without_opinion`` « Sans retour »: closed by the clock with no opinion (request.closed
  without one).
- ``held``, ``reopened``: now on hold (« Mettre en attente »), now reopened.
- ``waiting`` « À traiter » (no period): every request of the body now validated,
  in_treatment, on_hold or reopened, any submission day; ``waiting_by_status`` splits it.

Each counter moves with the event that changes the present status (``repository.move_status``)
or how the request ended (``repository.record_outcome``), once per message (the inbox) and once
per request for the outcome.

Staff only (signed identity): a focal point always gets its own body, whatever ``body_id`` it
asks; analysts and administrators name the body.
"""

from __future__ import annotations

from datetime import date

import asyncpg
from aiohttp import web

from services.stats.api import period
from services.stats.repository import NO_OPINION
from shared import lifecycle
from shared.identity import Identity, Role, identity_of, requires
from shared.messages import Nature, Opinion
from shared.service import connection
from shared.web import json_error

routes = web.RouteTableDef()

S = lifecycle.Status
# Past the analysts: what the body received.
RECEIVED = tuple(s for s in S if lifecycle.queue_status(s) == lifecycle.QueueStatus.VALIDATED)
WAITING = (S.VALIDATED, S.IN_TREATMENT, S.ON_HOLD, S.REOPENED)
ANSWERED = (S.TREATED, S.CLOSED)
TO_TREAT_NATURES = tuple(n for n in Nature if n.needs_treatment)

PERIOD_COUNTS = """
    SELECT nature, status, sum(count)::bigint AS total
    FROM daily_counts
    WHERE body_id = $1 AND ($2::date IS NULL OR day >= $2) AND ($3::date IS NULL OR day <= $3)
    GROUP BY nature, status"""

PERIOD_OUTCOMES = """
    SELECT outcome, sum(count)::bigint AS total
    FROM outcome_counts
    WHERE body_id = $1 AND ($2::date IS NULL OR day >= $2) AND ($3::date IS NULL OR day <= $3)
    GROUP BY outcome"""

WAITING_COUNTS = """
    SELECT status, sum(count)::bigint AS total
    FROM daily_counts WHERE body_id = $1 AND status = ANY($2::text[])
    GROUP BY status"""


def _percent(part: int, whole: int) -> int:
    return round(100 * part / whole) if whole else 0


async def waiting(conn: asyncpg.Connection, body_id: str) -> dict[str, int]:
    """« À traiter »: the body's requests now in each waiting status (every one present)."""
    rows = await conn.fetch(WAITING_COUNTS, body_id, [s.value for s in WAITING])
    found = {row["status"]: row["total"] for row in rows}
    return {s.value: found.get(s.value, 0) for s in WAITING}


async def counters(
    conn: asyncpg.Connection, body_id: str, start: date | None, end: date | None
) -> dict:
    """Every counter of the module's docstring for ``body_id`` over [start, end]."""
    rows = await conn.fetch(PERIOD_COUNTS, body_id, start, end)
    outcomes = {
        row["outcome"]: row["total"]
        for row in await conn.fetch(PERIOD_OUTCOMES, body_id, start, end)
    }
    name = await conn.fetchval("SELECT body_name FROM bodies WHERE body_id = $1", body_id)

    def count(natures=tuple(Nature), statuses=RECEIVED) -> int:
        wanted_n = {n.value for n in natures}
        wanted_s = {s.value for s in statuses}
        return sum(r["total"] for r in rows if r["nature"] in wanted_n and r["status"] in wanted_s)

    total = count()
    by_opinion = {o.value: outcomes.get(o.value, 0) for o in Opinion}
    now_waiting = await waiting(conn, body_id)
    return {
        "body_id": body_id,
        "body_name": name or body_id,
        "from": start.isoformat() if start else None,
        "to": end.isoformat() if end else None,
        "total": total,
        "validated": {
            n.value: {"count": (c := count((n,))), "percent": _percent(c, total)} for n in Nature
        },
        "to_treat": count(TO_TREAT_NATURES, WAITING),
        "treated": count(TO_TREAT_NATURES, ANSWERED),
        "opinions_expected": count(statuses=(S.TREATED,)),
        "opinions_given": sum(by_opinion.values()),
        "by_opinion": by_opinion,
        "dissatisfied": by_opinion[Opinion.NOT_SATISFIED.value],
        "without_opinion": outcomes.get(NO_OPINION, 0),
        "held": count(statuses=(S.ON_HOLD,)),
        "reopened": count(statuses=(S.REOPENED,)),
        "waiting": sum(now_waiting.values()),
        "waiting_by_status": now_waiting,
    }


def _body_asked(request: web.Request) -> tuple[Identity, str] | web.Response:
    """The body whose counts are asked: a focal point's own, whatever it asks; the one named by
    ``body_id`` for analysts and administrators."""
    identity = identity_of(request)
    assert identity is not None
    if identity.role == Role.FOCAL_POINT:
        if not identity.body_id:
            return json_error(403, "forbidden", "a focal point without a body sees no counts")
        return identity, identity.body_id
    body_id = request.query.get("body_id", "").strip()
    if not body_id or len(body_id) > 200:
        return json_error(400, "invalid_body", "body_id names the public body to count")
    return identity, body_id


@routes.get("/stats/body-dashboard")  # staff: signed identity
@requires(Role.ADMINISTRATOR, Role.ANALYST, Role.FOCAL_POINT)
async def body_dashboard(request: web.Request) -> web.Response:
    """``GET /stats/body-dashboard?body_id=&from=&to=``: the counters of one body (the module's
    docstring says what each one counts)."""
    asked = _body_asked(request)
    if isinstance(asked, web.Response):
        return asked
    _, body_id = asked
    asked = period(request)
    if isinstance(asked, web.Response):
        return asked
    start, end = asked
    async with connection(request) as conn:
        out = await counters(conn, body_id, start, end)
    return web.json_response(out)


@routes.get("/stats/body-waiting")  # staff: signed identity
@requires(Role.ADMINISTRATOR, Role.ANALYST, Role.FOCAL_POINT)
async def body_waiting(request: web.Request) -> web.Response:
    """``GET /stats/body-waiting?body_id=``: « À traiter » alone (the back office's badge, on
    every page): ``{"body_id", "waiting", "by_status"}``."""
    asked = _body_asked(request)
    if isinstance(asked, web.Response):
        return asked
    _, body_id = asked
    async with connection(request) as conn:
        by_status = await waiting(conn, body_id)
    return web.json_response(
        {"body_id": body_id, "waiting": sum(by_status.values()), "by_status": by_status}
    )
