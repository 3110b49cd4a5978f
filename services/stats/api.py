"""HTTP views of stats: counts per body, totals over a period."""

from __future__ import annotations

import re
from datetime import date

from aiohttp import web

from services.stats import deadlines, repository
from services.stats.answers import ANSWERS, BodyStatistics
from shared import answers, body_counts
from shared.answers import answer
from shared.messages import Nature, Opinion
from shared.service import connection
from shared.web import json_error

routes = web.RouteTableDef()
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class BadQuery(ValueError):
    pass


def _zero_by_nature() -> dict[str, int]:
    return {nature.value: 0 for nature in Nature}


def _parse_day(request: web.Request, name: str) -> date | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    try:
        if not _ISO_DATE.match(raw):
            raise ValueError
        return date.fromisoformat(raw)
    except ValueError:
        raise BadQuery(f"{name} must be a date written YYYY-MM-DD, got {raw!r}") from None


def period(request: web.Request) -> tuple[date | None, date | None] | web.Response:
    """The query's ``from`` and ``to`` (either may be absent), or the 400 saying what is wrong."""
    try:
        start = _parse_day(request, "from")
        end = _parse_day(request, "to")
        if start and end and start > end:
            raise BadQuery("from must not be after to")
    except BadQuery as exc:
        return json_error(400, "invalid_period", str(exc))
    return start, end


# « Traitées » on the public page: answered by the body, the citizen's opinion awaited or given
# (a request reopened by the citizen counts again once answered again): the focal point's
# « Réclamations traitées » (shared.body_counts).
ANSWERED = [s.value for s in body_counts.ANSWERED]


def _satisfaction(by_opinion: dict[str, int]) -> dict:
    """The public satisfaction of one body: ``satisfied_percent`` = « Satisfait » / every opinion
    given (« Partiellement satisfait » and « Non satisfait » count among the opinions, not among
    the satisfied; ``partly_satisfied_percent`` tells the partly satisfied apart); None without
    any opinion. Counts only: no request, no citizen."""
    counts = {o.value: by_opinion.get(o.value, 0) for o in Opinion}
    given = sum(counts.values())

    def share(opinion: Opinion) -> int | None:
        return round(100 * counts[opinion.value] / given) if given else None

    return {
        "opinions": given,
        "by_opinion": counts,
        "satisfied_percent": share(Opinion.SATISFIED),
        "partly_satisfied_percent": share(Opinion.PARTLY_SATISFIED),
    }


@routes.get("/stats/bodies")
async def bodies(request: web.Request) -> web.Response:
    """``{"bodies": [{body_id, body_name, total, by_nature, treated, opinions, by_opinion,
    satisfied_percent, partly_satisfied_percent, deadlines}]}``, busiest body first (public:
    counts only). ``deadlines``: « délais respectés » (deadlines.by_body, every day).
    ``treated``: requests now answered (treated or closed); the rest: :func:`_satisfaction`."""
    async with connection(request) as conn:
        rows = await repository.counts_by_body_nature_and_status(conn)
        opinions = await repository.opinions_by_body(conn)
        met = await deadlines.by_body(conn, None, None)
    out: dict[str, dict] = {}
    for row in rows:
        entry = out.setdefault(
            row["body_id"],
            {
                "body_id": row["body_id"],
                "body_name": row["body_name"],
                "total": 0,
                "by_nature": _zero_by_nature(),
                "treated": 0,
                **_satisfaction(opinions.get(row["body_id"], {})),
                "deadlines": met.get(row["body_id"]) or deadlines.zero(),
            },
        )
        if row["status"] in ANSWERED:
            entry["treated"] += row["total"]
        entry["by_nature"][row["nature"]] = entry["by_nature"].get(row["nature"], 0) + row["total"]
        entry["total"] += row["total"]
    listing = sorted(out.values(), key=lambda b: (-b["total"], b["body_name"]))
    return web.json_response(answer(BodyStatistics, bodies=listing))


@routes.get("/api-schemas")
async def api_schemas(request: web.Request) -> web.Response:
    """The JSON Schemas of what ``/api/v1`` answers from here (``answers``), for the gateway's
    OpenAPI document."""
    schemas = answers.schemas(ANSWERS, "serialization")
    return web.json_response(schemas, headers={"Cache-Control": "max-age=300"})


@routes.get("/stats/summary")
async def summary(request: web.Request) -> web.Response:
    """Totals by nature and by status of the requests submitted between ``from`` and ``to``."""
    asked = period(request)
    if isinstance(asked, web.Response):
        return asked
    start, end = asked
    async with connection(request) as conn:
        by_nature_rows, by_status_rows = await repository.period_totals(conn, start, end)
    by_nature = _zero_by_nature()
    for row in by_nature_rows:
        by_nature[row["nature"]] = row["total"]
    by_status = {row["status"]: row["total"] for row in by_status_rows if row["total"]}
    return web.json_response(
        {
            "from": start.isoformat() if start else None,
            "to": end.isoformat() if end else None,
            "total": sum(by_nature.values()),
            "by_nature": by_nature,
            "by_status": by_status,
        }
    )


@routes.get("/stats/opinions")
async def opinions(request: web.Request) -> web.Response:
    """The citizens' opinions given between ``from`` and ``to``, per body (most answered first)
    and per day: ``{"from", "to", "bodies": [{body_id, body_name, total, by_opinion,
    by_day: {day: by_opinion}}]}``, every opinion present with 0 when none."""
    asked = period(request)
    if isinstance(asked, web.Response):
        return asked
    start, end = asked
    async with connection(request) as conn:
        rows = await repository.opinions_by_body_and_day(conn, start, end)
    out: dict[str, dict] = {}
    for row in rows:
        entry = out.setdefault(
            row["body_id"],
            {
                "body_id": row["body_id"],
                "body_name": row["body_name"],
                "total": 0,
                "by_opinion": _zero_by_opinion(),
                "by_day": {},
            },
        )
        day = entry["by_day"].setdefault(row["day"].isoformat(), _zero_by_opinion())
        day[row["opinion"]] = day.get(row["opinion"], 0) + row["total"]
        entry["by_opinion"][row["opinion"]] = (
            entry["by_opinion"].get(row["opinion"], 0) + row["total"]
        )
        entry["total"] += row["total"]
    return web.json_response(
        {
            "from": start.isoformat() if start else None,
            "to": end.isoformat() if end else None,
            "bodies": sorted(out.values(), key=lambda b: (-b["total"], b["body_name"])),
        }
    )


def _zero_by_opinion() -> dict[str, int]:
    return {opinion.value: 0 for opinion in Opinion}
