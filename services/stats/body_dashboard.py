"""The focal point's « Tableau de bord » and « À traiter » (the guide's header « En attente »): one
public body's counters, read from the aggregates the events keep (``daily_counts`` per body ×
day × nature × theme × status, ``outcome_counts`` per body × day × nature × how it ended), never
from every request: a call reads one body's rows of the period through ``(body_id, day)``.

**The period** « PERIODE DU … au … » (``from``, ``to``, inclusive, each optional) applies to the
day the request was *submitted* (the day the citizen sent it; a resubmission keeps it): the
counters tell what became of the requests the body received in that period, in their present
status. « À traiter » has no period: it is what waits for the body now.

The counters, each as ``shared.body_counts.CARDS`` says (one home: treatment's lists the cards
lead to are built from it too):

- ``total`` « Total requêtes »: requests past the analysts (every present status whose queue
  status is « Validée »), any nature. Requests waiting for the analysts, sent back or rejected
  never reached the body and are not counted.
- ``validated[nature]`` « Réclamations / Suggestions / Observations / Motions validées » (and
  demandes d'information): the part of ``total`` of that nature, with ``percent`` of ``total``
  (rounded to the unit, as the guide shows 25 %, 33 %, 67 %).
- ``to_treat`` « Réclamations à traiter »: now in_treatment, on_hold or reopened (not answered
  yet, or reopened by the citizen: « Retraitement »); only réclamations and demandes
  d'information reach these statuses.
- ``treated`` « Réclamations traitées »: now treated or closed (answered; a reopened request
  counts as to treat again until answered again); réclamations and demandes d'information.
- ``opinions_expected`` « Avis attendus »: now treated (answered, the citizen's opinion awaited).
- ``opinions_given`` « Avis exprimés »: closed with the citizen's opinion, whatever it is
  (request.opinion_given, or the request.closed naming it); ``by_opinion`` splits it.
- ``dissatisfied`` « Avis d'insatisfaction »: closed with « Non satisfait » — the requests of
  « Insatisfaits », the ones the life cycle lets the body answer again (« Partiellement
  satisfait » is in ``by_opinion``, not here).
- ``without_opinion`` « Sans retour »: closed by the clock with no opinion (request.closed
  without one).

A card with ``outcomes`` is read from ``outcome_counts`` (how the request ended, counted once per
request): an outcome is recorded when the request closes, and a closed request stays closed.
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
from shared import body_counts, lifecycle
from shared.identity import Identity, Role, identity_of, requires
from shared.messages import Nature, Opinion
from shared.service import connection
from shared.web import json_error

routes = web.RouteTableDef()

S = lifecycle.Status
# « À traiter » (no period): ``validated`` too, as a key of ``waiting_by_status``.
WAITING = (S.VALIDATED, *body_counts.AWAITING_ANSWER)

PERIOD_COUNTS = """
    SELECT nature, status, sum(count)::bigint AS total
    FROM daily_counts
    WHERE body_id = $1 AND ($2::date IS NULL OR day >= $2) AND ($3::date IS NULL OR day <= $3)
    GROUP BY nature, status"""

PERIOD_OUTCOMES = """
    SELECT nature, outcome, sum(count)::bigint AS total
    FROM outcome_counts
    WHERE body_id = $1 AND ($2::date IS NULL OR day >= $2) AND ($3::date IS NULL OR day <= $3)
    GROUP BY nature, outcome"""

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
    """Every counter of the module's docstring for ``body_id`` over [start, end], read at one
    moment: the consumer commits between statements as its batches come, and a request closed
    between the statuses and the outcomes was counted in « Avis attendus » and « Sans retour »
    on one page (tests/stats/test_body_dashboard_moment.py)."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        rows = await conn.fetch(PERIOD_COUNTS, body_id, start, end)
        outcomes = await conn.fetch(PERIOD_OUTCOMES, body_id, start, end)
        name = await conn.fetchval("SELECT body_name FROM bodies WHERE body_id = $1", body_id)
        now_waiting = await waiting(conn, body_id)

    def count(card: body_counts.Counted) -> int:
        natures = {n.value for n in card.natures or Nature}
        if card.outcomes is not None:
            ended = {o.value if o else NO_OPINION for o in card.outcomes}
            return sum(
                r["total"] for r in outcomes if r["nature"] in natures and r["outcome"] in ended
            )
        statuses = {s.value for s in card.statuses}
        return sum(r["total"] for r in rows if r["nature"] in natures and r["status"] in statuses)

    total = count(body_counts.CARDS["total"])
    by_opinion = {o.value: count(body_counts.Counted((S.CLOSED,), outcomes=(o,))) for o in Opinion}
    return {
        "body_id": body_id,
        "body_name": name or body_id,
        "from": start.isoformat() if start else None,
        "to": end.isoformat() if end else None,
        **{field: count(card) for field, card in body_counts.CARDS.items()},
        "validated": {
            n.value: {
                "count": (c := count(body_counts.of_nature(n))),
                "percent": _percent(c, total),
            }
            for n in Nature
        },
        "by_opinion": by_opinion,
        "held": count(body_counts.Counted((S.ON_HOLD,))),
        "reopened": count(body_counts.Counted((S.REOPENED,))),
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
