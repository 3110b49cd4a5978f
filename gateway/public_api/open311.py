"""Open311 GeoReport v2 under ``/open311/v2/``: the public bodies × natures as services, so that
existing Open311 clients can submit and follow requests. JSON and XML (the spec requires XML).

- ``GET services.{json,xml}``, ``GET services/{service_code}.{json,xml}``: public.
- ``POST requests.{json,xml}``: form fields per the spec, with the channel's ``api_key``
  (MILIE_OPEN311_KEYS maps each key to a channel name).
- ``GET requests/{id}.{json,xml}`` and ``GET requests.{json,xml}?service_request_id=…``: no
  ``api_key`` needed (the spec asks it for POST only): the status of any request whose code the
  client knows, each code counted as a tracking look-up of the client's address (so that this
  answer is no unthrottled way to learn which codes exist). With a key: the channel's own
  requests, not counted. Never personal data nor the message.
- ``GET requests.{json,xml}`` without ``service_request_id`` (a search by date, service,
  status): the requests of the channel whose ``api_key`` is given. A search lists codes, and a
  code is half of the key of the citizen's tracking page, so codes are not listed to anyone who
  asks: without a key, the search is refused with the spec's error (400).

Errors are the spec's: ``[{"code": 403, "description": "…"}]`` (``<errors><error>`` in XML) with
that HTTP status. Intake does the work (``services/intake/channels/open311_api.py``); this module
checks the key, reads the form and writes the format.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Awaitable
from functools import partial
from typing import Any

from aiohttp import web

from gateway.clients.intake import INTAKE
from gateway.clients.transport import ServiceUnavailable
from gateway.web.errors import UNAVAILABLE_RETRY_AFTER
from gateway.web.keys import GATEWAY_SETTINGS

routes = web.RouteTableDef()
PREFIX = "/open311/v2"
FORMAT = "{fmt:json|xml}"

# The spec's form fields we pass on (jurisdiction_id, device_id, account_id are not used).
FIELDS = (
    "service_code",
    "description",
    "lat",
    "long",
    "address_string",
    "address_id",
    "email",
    "first_name",
    "last_name",
    "phone",
    "media_url",
)
ATTRIBUTE = re.compile(r"^attribute\[([A-Za-z0-9_.-]{1,100})\](?:\[\])?$")
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
SEARCH_PARAMETERS = ("service_request_id", "service_code", "status", "start_date", "end_date")

# Name of the elements a list holds, in the spec's XML.
XML_ITEMS = {
    "services": "service",
    "attributes": "attribute",
    "values": "value",
    "service_requests": "request",
    "errors": "error",
}
# Characters XML 1.0 cannot carry at all, even escaped.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


# -- formats -----------------------------------------------------------------------------------


def _xml_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))


def _append(parent: ET.Element, name: str, value: Any) -> None:
    element = ET.SubElement(parent, name)
    if isinstance(value, list):
        for item in value:
            _append(element, XML_ITEMS[name], item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _append(element, key, item)
    else:
        element.text = _xml_text(value)


def to_xml(root: str, data: list | dict) -> str:
    """``data`` as the spec's XML: a ``root`` element holding one element per item (or the
    object's fields); ElementTree escapes the text, and characters XML cannot hold are
    dropped."""
    holder = ET.Element("holder")
    _append(holder, root, data)
    body = ET.tostring(holder[0], encoding="unicode")
    return '<?xml version="1.0" encoding="utf-8"?>\n' + body


def answer(
    fmt: str, root: str, data: list | dict, status: int = 200, *, cache: str = "no-store"
) -> web.Response:
    if fmt == "xml":
        response = web.Response(
            text=to_xml(root, data), status=status, content_type="application/xml"
        )
    else:
        response = web.json_response(
            data, status=status, dumps=partial(json.dumps, ensure_ascii=False)
        )
    response.headers["Cache-Control"] = cache
    return response


def errors(fmt: str, status: int, *descriptions: str) -> web.Response:
    return answer(fmt, "errors", [{"code": status, "description": d} for d in descriptions], status)


def _format(request: web.Request) -> str:
    return request.match_info.get("fmt", "json")


def _format_asked(request: web.Request) -> str:
    """The format an address asks, whether or not it is a route's (``requests.xml``)."""
    return "xml" if request.path.endswith(".xml") else "json"


def refused(request: web.Request, status: int, _error: str, message: str) -> web.Response:
    """A refusal worded before any route (``gateway.web.reading``), in Open311's errors."""
    return errors(_format_asked(request), status, message)


# -- calling intake ----------------------------------------------------------------------------

UNAVAILABLE = "Service momentanément indisponible : réessayez plus tard."


def _unavailable(fmt: str) -> web.Response:
    unavailable = errors(fmt, 503, UNAVAILABLE)
    unavailable.headers["Retry-After"] = UNAVAILABLE_RETRY_AFTER
    return unavailable


async def _intake(
    request: web.Request, asked: Awaitable[tuple[int, Any]]
) -> tuple[int, Any] | web.Response:
    """Intake's answer to ``asked`` (a call of the intake client), or the error to send."""
    fmt = _format(request)
    try:
        status, body = await asked
    except ServiceUnavailable:
        return _unavailable(fmt)
    if status == 503:  # intake up, its database not
        return _unavailable(fmt)
    if status >= 400:
        described = body.get("errors") if isinstance(body, dict) else None
        if 400 <= status < 500 and isinstance(described, list):
            refused = answer(fmt, "errors", described, status)
            if status == 429 and isinstance(body.get("retry_after"), int):
                refused.headers["Retry-After"] = str(body["retry_after"])
            return refused
        return errors(fmt, 500, "Erreur interne : réessayez plus tard.")
    return status, body


def _channel(request: web.Request, key: str) -> str | None:
    """The channel whose key this is. Digests are compared, so the time taken says nothing
    about a key's length or its first characters."""
    sent = hashlib.sha256(key.encode()).digest()
    found = None
    for known, channel in request.app[GATEWAY_SETTINGS].open311_keys.items():
        if hmac.compare_digest(hashlib.sha256(known.encode()).digest(), sent):
            found = channel
    return found if key else None


NO_LIST = (
    "service_request_id absent : sans api_key, indiquez les numéros des requêtes à suivre "
    "(les numéros ne sont listés qu'au canal qui les a soumises)."
)


def _bad_key(fmt: str) -> web.Response:
    return errors(fmt, 403, "api_key absente ou invalide : demandez une clé à l'équipe Miliê.")


# -- routes ------------------------------------------------------------------------------------


@routes.get(f"{PREFIX}/services.{FORMAT}")
async def services(request: web.Request) -> web.Response:
    result = await _intake(request, request.app[INTAKE].open311_services())
    if isinstance(result, web.Response):
        return result
    _, body = result
    return _public(answer(_format(request), "services", body["services"], cache="max-age=300"))


@routes.get(PREFIX + "/services/{service_code}." + FORMAT)
async def service_definition(request: web.Request) -> web.Response:
    code = request.match_info["service_code"]
    result = await _intake(request, request.app[INTAKE].open311_service(code))
    if isinstance(result, web.Response):
        return result
    _, body = result
    # A definition is one object: <service_definition> holds its fields.
    return _public(answer(_format(request), "service_definition", body, cache="max-age=300"))


def _public(response: web.Response) -> web.Response:
    # The catalogue is public: any web page may read it.
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@routes.post(f"{PREFIX}/requests.{FORMAT}")
async def submit(request: web.Request) -> web.Response:
    fmt = _format(request)
    if request.content_type not in FORM_TYPES:
        return errors(fmt, 400, "Envoyez les champs en application/x-www-form-urlencoded.")
    try:  # read, in time and within 2 Mo, by gateway.web.reading; parsed here
        form = await request.post()
    except (ValueError, LookupError):  # bytes that are not UTF-8, a charset nobody knows
        return errors(fmt, 400, "Formulaire illisible.")

    def text(name: str) -> str:
        value = form.get(name)
        return value if isinstance(value, str) else ""  # a file where text is expected: none

    channel = _channel(request, text("api_key"))
    if channel is None:
        return _bad_key(fmt)
    payload: dict[str, Any] = {name: text(name) for name in FIELDS}
    payload["attributes"] = {
        match.group(1): value
        for name, value in form.items()
        if isinstance(value, str) and (match := ATTRIBUTE.match(name))
    }
    result = await _intake(
        request, request.app[INTAKE].open311_submit(payload, channel_name=channel)
    )
    if isinstance(result, web.Response):
        return result
    _, body = result
    return answer(fmt, "service_requests", [body], 201)


def _reader(request: web.Request) -> dict[str, str | None] | web.Response:
    """Who reads: the key's channel (its own requests, unthrottled), or anyone (any request by
    its code, each code counted against the client address's tracking look-ups, which intake
    reads in the signed call). A key that is given must be right."""
    key = request.query.get("api_key", "")
    if not key:
        return {"channel_name": None}
    channel = _channel(request, key)
    if channel is None:
        return _bad_key(_format(request))
    return {"channel_name": channel}


@routes.get(f"{PREFIX}/requests.{FORMAT}")
async def search(request: web.Request) -> web.Response:
    fmt = _format(request)
    params = {name: request.query[name] for name in SEARCH_PARAMETERS if name in request.query}
    if not params.get("service_request_id", "").strip() and not request.query.get("api_key"):
        return errors(fmt, 400, NO_LIST)
    reader = _reader(request)
    if isinstance(reader, web.Response):
        return reader
    result = await _intake(request, request.app[INTAKE].open311_requests(params, **reader))
    if isinstance(result, web.Response):
        return result
    _, body = result
    return answer(fmt, "service_requests", body["requests"])


@routes.get(PREFIX + "/requests/{service_request_id}." + FORMAT)
async def one_request(request: web.Request) -> web.Response:
    # No key needed, as the spec has it: knowing the code is what lets one read its status.
    reader = _reader(request)
    if isinstance(reader, web.Response):
        return reader
    code = request.match_info["service_request_id"]
    result = await _intake(request, request.app[INTAKE].open311_request(code, **reader))
    if isinstance(result, web.Response):
        return result
    _, body = result
    return answer(_format(request), "service_requests", body["requests"])


def _pattern(path: str) -> re.Pattern[str]:
    """A route's path as a regular expression: ``{fmt:json|xml}`` keeps its choice, any other
    ``{name}`` is one segment."""
    parts = re.split(r"(\{[^}]*\})", path)
    return re.compile(
        "^"
        + "".join(
            ("(?:" + part[1:-1].partition(":")[2] + ")" if ":" in part else "[^/]+")
            if part.startswith("{")
            else re.escape(part)
            for part in parts
        )
        + "$"
    )


# Every route above, as (method, path pattern): what a 405's Allow header names.
_KNOWN = [
    (route.method, _pattern(route.path)) for route in routes if isinstance(route, web.RouteDef)
]


# Any character, line breaks too: « .* » alone stops at a line break (%0A in the address).
@routes.route("*", PREFIX + r"/{tail:[\s\S]*}")
async def unknown(request: web.Request) -> web.Response:
    """Anything else under ``/open311/v2/``: the spec's errors too (405 with ``Allow`` for a
    known address asked with another method, else 404), never aiohttp's plain text."""
    fmt = _format_asked(request)
    allowed = sorted({method for method, path in _KNOWN if path.match(request.path)})
    if allowed:
        response = errors(fmt, 405, f"Méthodes permises ici : {', '.join(allowed)}.")
        response.headers["Allow"] = ", ".join(allowed)
        return response
    return errors(fmt, 404, "Point d'accès inconnu : voir services.json, requests.json.")
