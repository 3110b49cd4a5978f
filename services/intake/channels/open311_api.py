"""Open311 GeoReport v2, intake's side (internal: the gateway serves ``/open311/v2/``, checks
the client's ``api_key``, turns these answers into JSON or XML, and calls):

- ``GET /open311/services``: one service per active body × nature;
- ``GET /open311/services/{service_code}``: its definition (the theme and the place as
  single-value lists);
- ``POST /open311/requests`` ``{service_code, description, email, first_name,
  last_name, phone, lat, long, address_string, address_id, attributes, media_url}`` (strings, as
  the client sent them): the request is stored with the web form's rules, 201 with its code;
- ``GET /open311/requests/{code}`` and ``GET /open311/requests?service_request_id=…``: the
  status of any request whose code the client knows, whatever its channel;
- ``GET /open311/requests`` (``service_code``, ``status``, ``start_date``, ``end_date``): a
  search, over the requests the calling channel submitted only.

The channel (the Open311 client whose ``api_key`` the gateway checked) and the client's address
come from the signed call (``shared.signing``: ``channel_name``, ``client_address``), never from
the body or the query: a body or query that names them is refused (400).

A search lists codes, and a code is half of the key that opens the citizen's tracking page: so
no list of every code is served, only a channel's own. Nothing personal (contact, message,
location) is ever answered. Errors are the spec's: ``{"errors": [{"code",
"description"}]}`` with that HTTP status, which the gateway repeats.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

import asyncpg
import phonenumbers
from aiohttp import web
from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

from services.intake import limits, submissions, throttle
from services.intake import repository as repo
from services.intake.catalogue import repository as cat
from services.intake.channels import metrics as channel_metrics
from services.intake.channels import open311_rules as rules
from services.intake.channels.open311_answers import (
    Open311Requests,
    Open311ServiceDefinition,
    Open311Services,
    Open311Submitted,
)
from services.intake.domain import SubmissionIn, presence_errors
from services.intake.keys import CATALOGUE_CACHE
from services.intake.tracking.api import lookup_rules, retry_message
from services.intake.tracking.view import theme_text
from shared.answers import answer
from shared.codes import is_well_formed
from shared.messages import Channel, Nature
from shared.service import connection, transaction
from shared.signing import call_of
from shared.web import field_errors, french, merge_errors

routes = web.RouteTableDef()

CHANNEL = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
UNKNOWN_SERVICE = "ce service n'existe pas : consultez services.json."
MISSING_SERVICE = "ce champ est obligatoire : choisissez un service dans services.json."


def errors_response(status: int, *descriptions: str) -> web.Response:
    return web.json_response(
        {"errors": [{"code": status, "description": d} for d in descriptions]}, status=status
    )


# -- services ----------------------------------------------------------------------------------


@routes.get("/open311/services")
async def services(request: web.Request) -> web.Response:
    async with connection(request) as conn:
        bodies = await repo.bodies(conn)
    return web.json_response(
        answer(
            Open311Services,
            services=[rules.service(b["id"], b["name"], n) for b in bodies for n in Nature],
        )
    )


@routes.get("/open311/services/{service_code}")
async def service_definition(request: web.Request) -> web.Response:
    code = request.match_info["service_code"]
    parsed = rules.parse_service_code(code)
    async with connection(request) as conn:
        body = await repo.body(conn, parsed[0]) if parsed else None
        if body is None:
            return errors_response(404, f"service_code : {UNKNOWN_SERVICE}")
        themes = await cat.themes_for_body(conn, body["id"])
        places = await repo.places(conn)
    attributes = []
    if themes:
        attributes.append(
            _single_value_list(
                "theme_id",
                "Thème",
                "Le thème de la requête, parmi ceux proposés pour cet organisme.",
                [(t["id"], theme_text(t["label"], t["parent_label"])) for t in themes],
            )
        )
    attributes.append(
        _single_value_list(
            "place_id",
            "Lieu concerné (commune ou sous-préfecture)",
            "Aussi accepté dans address_id.",
            [(p["id"], f"{p['name']} ({p['region']})") for p in places],
        )
    )
    for order, attribute in enumerate(attributes, start=1):
        attribute["order"] = order
    return web.json_response(
        answer(Open311ServiceDefinition, service_code=code, attributes=attributes)
    )


def _single_value_list(
    code: str, description: str, explained: str, values: list[tuple[str, str | None]]
) -> dict:
    return {
        "variable": True,
        "code": code,
        "datatype": "singlevaluelist",
        "required": False,
        "datatype_description": explained,
        "description": description,
        "values": [{"key": key, "name": name} for key, name in values],
    }


# -- submitting --------------------------------------------------------------------------------

Text = Annotated[str, StringConstraints(max_length=20_000)]
Short = Annotated[str, StringConstraints(max_length=1000)]


class RequestIn(BaseModel):
    """What the gateway read from the client's form; every value a string, maybe empty."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    service_code: Short = ""
    description: Text = ""
    email: Short = ""
    first_name: Short = ""
    last_name: Short = ""
    phone: Short = ""
    lat: Short = ""
    long: Short = ""
    address_string: Short = ""
    address_id: Short = ""
    attributes: dict[Short, Short] = {}
    media_url: Short = ""


def _country_of(phone: str) -> str:
    """The country of an international number (+33…), else Côte d'Ivoire: Open311 has no
    country field, and the number is checked for the country."""
    if phone.startswith(("+", "00")):
        try:
            number = phonenumbers.parse("+" + phone.removeprefix("00").lstrip("+"), None)
        except phonenumbers.NumberParseException:
            return "CI"
        return phonenumbers.region_code_for_number(number) or "CI"
    return "CI"


def _location(form: RequestIn) -> tuple[float | None, float | None, list[str]]:
    if not form.lat and not form.long:
        return None, None, []
    try:
        lat, long = float(form.lat), float(form.long)
    except ValueError:
        return None, None, ["lat/long : deux nombres décimaux attendus (degrés WGS84)."]
    if not (-90 <= lat <= 90 and -180 <= long <= 180):
        return None, None, ["lat/long : coordonnées hors limites."]
    return lat, long, []


def _described(errors: list[dict[str, str]], service_given: bool = True) -> list[str]:
    """``field : message`` in the client's field names, one per field. The body and the nature
    are one field for the client, service_code: absent, or naming no service of ours."""
    out: dict[str, str] = {}
    for err in errors:
        field = rules.client_field(err["field"])
        message = err["message"]
        if field == "service_code":
            message = UNKNOWN_SERVICE if service_given else MISSING_SERVICE
        out.setdefault(field, f"{field} : {message}")
    return list(out.values())


@routes.post("/open311/requests")
async def submit(request: web.Request) -> web.Response:
    channel = _channel(request)
    if channel is None:
        return errors_response(400, "channel : nom de canal attendu.")
    try:
        form = RequestIn.model_validate(await request.json())
    except (ValueError, ValidationError) as exc:
        errors = field_errors(exc) if isinstance(exc, ValidationError) else []
        return errors_response(400, *(_described(french(errors)) or ["Requête illisible."]))
    parsed = rules.parse_service_code(form.service_code)
    lat, long, location_errors = _location(form)
    raw = {
        "nature": parsed[1].value if parsed else "",
        "body_id": parsed[0] if parsed else "",
        "theme_id": form.attributes.get("theme_id") or None,
        "place_id": form.attributes.get("place_id") or form.address_id or None,
        "message": form.description,
        "contact": {
            "last_name": form.last_name,
            "first_names": form.first_name,
            "country": _country_of(form.phone),
            "phone": form.phone,
            "email": form.email,
        },
        "channel": Channel.OPEN311.value,
    }
    try:
        sub = SubmissionIn.model_validate(raw)
    except ValidationError as exc:
        errors = merge_errors(french(field_errors(exc)), presence_errors(raw))
        return _refused(location_errors + _described(errors, bool(form.service_code)))
    if location_errors:
        return _refused(location_errors)

    guard = await limits.guard_of(request)

    async def work(conn: asyncpg.Connection) -> submissions.Accepted:
        accepted = await submissions.submit(
            conn, sub, catalogue=request.app[CATALOGUE_CACHE], guard=guard
        )
        await conn.execute(
            """INSERT INTO open311_requests (request_id, channel, lat, long, address_string,
                                             submitted_at)
               VALUES ($1, $2, $3, $4, $5, $6)""",
            accepted.request_id,
            channel,
            lat,
            long,
            form.address_string or None,
            accepted.submitted_at,
        )
        return accepted

    try:
        accepted = await transaction(request, work)
    except submissions.Refused as exc:
        return _refused(_described(exc.errors))
    except limits.Throttled as exc:
        response = web.json_response(
            {
                "errors": [{"code": 429, "description": limits.retry_text(exc.retry_after)}],
                "retry_after": exc.retry_after,
            },
            status=429,
        )
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    channel_metrics.SUBMISSIONS.labels(Channel.OPEN311.value, "accepted").inc()
    return web.json_response(
        answer(
            Open311Submitted,
            service_request_id=accepted.code,
            service_notice=rules.notice(sub.nature, accepted.code, bool(form.media_url)),
        ),
        status=201,
    )


def _refused(descriptions: list[str]) -> web.Response:
    channel_metrics.SUBMISSIONS.labels(Channel.OPEN311.value, "refused").inc()
    return errors_response(400, *descriptions)


# -- following ---------------------------------------------------------------------------------

_COLUMNS = """
    SELECT r.code, r.nature, r.body_id, b.name AS body_name, r.status, r.submitted_at,
           r.updated_at"""
# Any request, by its code: knowing the code is what lets one follow it.
_BY_CODES = (
    _COLUMNS
    + """
    FROM requests r JOIN bodies b ON b.id = r.body_id
    WHERE r.code = ANY($1::text[]) ORDER BY r.submitted_at DESC"""
)
# A search: the channel's own requests only.
_OF_CHANNEL = (
    _COLUMNS
    + """
    FROM open311_requests o
    JOIN requests r ON r.id = o.request_id
    JOIN bodies b ON b.id = r.body_id
    WHERE o.channel = $1"""
)


def _request_json(row: asyncpg.Record) -> dict:
    nature = Nature(row["nature"])
    return {
        "service_request_id": row["code"].strip(),
        "status": "closed" if rules.is_closed(row["status"]) else "open",
        "status_notes": rules.status_notes(row["status"]),
        "service_name": f"{nature.label} — {row['body_name']}",
        "service_code": rules.service_code(row["body_id"], nature.value),
        "agency_responsible": row["body_name"],
        "requested_datetime": rules.w3c(row["submitted_at"]),
        "updated_datetime": rules.w3c(max(row["updated_at"], row["submitted_at"])),
    }


def _channel(request: web.Request) -> str | None:
    """The Open311 client's channel, as the gateway signed it (None: a reader without a key)."""
    channel = call_of(request).channel_name or ""
    return channel if CHANNEL.match(channel) else None


def _named_in_query(request: web.Request) -> web.Response | None:
    """The 400 for a query that names its own channel or client address."""
    named = [n for n in ("channel", "client_address") if n in request.query]
    if named:
        return errors_response(400, *(f"{n} : paramètre non permis." for n in named))
    return None


async def _by_codes(request: web.Request, codes: list[str]) -> list[asyncpg.Record] | int:
    """The requests with these codes, newest first, or the seconds to wait when throttled.

    With ``channel`` (the client gave its api_key): that channel's requests only. Without: any
    request, but each code counts as a tracking look-up of the client's address — otherwise
    this public answer would tell, unthrottled, which codes exist, and a known code is half of
    the tracking page's key."""
    codes = [c for c in codes if is_well_formed(c)]
    channel = _channel(request)
    async with connection(request) as conn:
        if channel:
            return await conn.fetch(
                _OF_CHANNEL + " AND r.code = ANY($2::text[]) ORDER BY r.submitted_at DESC",
                channel,
                codes,
            )
        by_client = lookup_rules(request)[2]
        client = throttle.client_key(call_of(request).client_address)
        for _ in codes:
            wait = await throttle.hit(conn, [(by_client, client)])
            if wait is not None:
                return wait
        return await conn.fetch(_BY_CODES, codes)


def _throttled(seconds: int) -> web.Response:
    response = errors_response(429, f"service_request_id : {retry_message(seconds)}")
    response.headers["Retry-After"] = str(seconds)
    return response


@routes.get("/open311/requests/{code}")
async def one_request(request: web.Request) -> web.Response:
    if (refused := _named_in_query(request)) is not None:
        return refused
    rows = await _by_codes(request, [request.match_info["code"]])
    if isinstance(rows, int):
        return _throttled(rows)
    if not rows:
        return errors_response(404, "service_request_id : aucune requête ne porte ce numéro.")
    return web.json_response(answer(Open311Requests, requests=[_request_json(rows[0])]))


@routes.get("/open311/requests")
async def search(request: web.Request) -> web.Response:
    query = request.query
    if (refused := _named_in_query(request)) is not None:
        return refused
    channel = _channel(request)
    try:
        codes = rules.split_list(query.get("service_request_id"))
    except rules.BadQuery as exc:
        return errors_response(400, str(exc))
    if codes:
        # The spec: with ids, the other parameters are ignored.
        rows = await _by_codes(request, codes)
        if isinstance(rows, int):
            return _throttled(rows)
        return web.json_response(answer(Open311Requests, requests=[_request_json(r) for r in rows]))
    if channel is None:
        return errors_response(400, "channel : nom de canal attendu.")
    try:
        services = rules.split_list(query.get("service_code"))
        if any(rules.parse_service_code(s) is None for s in services):
            raise rules.BadQuery(f"service_code : {UNKNOWN_SERVICE}")
        closed = rules.closed_filter(query.get("status"))
        span = rules.window(query.get("start_date"), query.get("end_date"), datetime.now(UTC))
    except rules.BadQuery as exc:
        return errors_response(400, str(exc))
    sql = (
        _OF_CHANNEL
        + """ AND r.submitted_at BETWEEN $2 AND $3
              AND (cardinality($4::text[]) = 0 OR r.body_id || '.' || r.nature = ANY($4))
              AND ($5::boolean IS NULL OR (r.status = ANY($6::text[])) = $5)
              ORDER BY r.submitted_at DESC LIMIT $7"""
    )
    params = (span.start, span.end, services, closed, list(rules.CLOSED_STATUSES))
    async with connection(request) as conn:
        rows = await conn.fetch(sql, channel, *params, rules.MAX_RESULTS)
    return web.json_response(answer(Open311Requests, requests=[_request_json(r) for r in rows]))
