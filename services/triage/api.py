"""HTTP views of triage (internal: the gateway calls them with the signed staff identity).

Analysts and administrators only (``requires``): 401 without a valid identity, 403 otherwise.

- ``GET /queue``: the queue, oldest first, searched (see ``search``), paged:
  ``{"total", "limit", "offset", "items": [...]}``; 400 names every faulty parameter.
- ``GET /queue/export.csv``: the same rows, every page, as CSV (streamed).
- ``GET /queue/{code}``: one request, any status, with its dated history and what may be done.
- ``POST /queue/{code}/validate|reformulate|reject|clarify`` ``{"message", "version"?}`` and
  ``POST /queue/{code}/reindex`` ``{"body_id", "theme_id"?, "message"?, "version"?}``:
  200 with the new state; 404; 409 ``already_decided`` (« Cette requête a déjà été traitée
  par … »), ``modified`` (changed since ``version``) or ``not_allowed``; 422 with the faulty
  fields; 503 when intake's catalogue does not answer (re-index).
- ``GET /audit``: the audit log, newest first, filtered (administrators; ``shared.audit.listing``).
- ``GET /queue/{code}`` writes « Consultation des données personnelles » (the contact is in it),
  unless ``?contact=0`` (the contact left out: is the request there?).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Annotated

import asyncpg
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.triage import catalogue, decisions, domain, export, repository
from services.triage import search as searching
from services.triage.domain import Kind
from services.triage.settings import SETTINGS
from shared import audit, codes, csv_export, deadline_copy, lifecycle
from shared.audit import address_of
from shared.identity import Role, identity_of, requires
from shared.messages import NATURE_LABELS, Nature
from shared.service import POOL, connection
from shared.signing import call_of
from shared.web import FieldErrors, field_error, json_error, read_model
from shared.working_days import Calendar

routes = web.RouteTableDef()
CATALOGUE = web.AppKey("catalogue", catalogue.Catalogue)
STAFF = (Role.ANALYST, Role.ADMINISTRATOR)
MESSAGE_MAX = 5000

Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MESSAGE_MAX)]


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: Text = ""
    version: int | None = Field(None, ge=1)


class ReindexIn(DecisionIn):
    body_id: Annotated[str, StringConstraints(strip_whitespace=True, max_length=80)] = ""
    theme_id: Annotated[str, StringConstraints(strip_whitespace=True, max_length=80)] | None = None


# What each decision asks of its message (the French goes back to the analyst's form).
MESSAGE_REQUIRED = {
    Kind.REFORMULATION_REQUESTED: "Écrivez à l'usager ce qu'il doit reformuler.",
    Kind.REJECTED: "Écrivez le motif du rejet : il est envoyé à l'usager.",
    Kind.CLARIFICATION_SENT: "Écrivez le message d'éclaircissement à l'usager.",
}


def _status_label(status: str) -> str:
    return domain.STATUS_LABELS.get(domain.Status(status), status)


def _item(row: asyncpg.Record, now: datetime, calendar: Calendar = domain.WORKING_DAYS) -> dict:
    deadline = row["admissibility_deadline"]
    waiting = row["status"] == domain.Status.WAITING
    return {
        "request_id": str(row["request_id"]),
        "code": row["code"],
        "nature": row["nature"],
        "nature_label": NATURE_LABELS.get(Nature(row["nature"]), row["nature"]),
        "body_id": row["body_id"],
        "body_name": row["body_name"],
        "theme_id": row["theme_id"],
        "theme_label": row["theme_label"],
        "place_id": row["place_id"],
        "place_label": row["place_label"],
        "channel": row["channel"],
        "channel_label": domain.CHANNEL_LABELS.get(row["channel"], row["channel"]),
        "message": row["message"],
        "contact": json.loads(row["contact"]),
        "attachments": json.loads(row["attachments"]),
        "submitted_at": row["submitted_at"].isoformat(),
        "received_at": row["received_at"].isoformat(),
        "queued_at": row["queued_at"].isoformat(),
        "status": row["status"],
        "status_label": _status_label(row["status"]),
        "version": row["version"],
        "decided_at": row["decided_at"].isoformat() if row["decided_at"] else None,
        "decided_by": row["decided_by"],
        "admissibility_deadline": deadline.isoformat(),
        "days_left": domain.days_left(deadline, now, calendar),
        # Late only while it still waits: a decided request met or missed it for good.
        "overdue": waiting and domain.is_overdue(deadline, now),
        # At the body (treatment's events): its status and the citizen's opinion, if any.
        "body_status": row["body_status"],
        "opinion": row["opinion"],
        "opinion_label": lifecycle.opinion_label(row["opinion"]),
        "opinion_comment": row["opinion_comment"],
        # When the citizen's personal data were purged (the message and contact are empty).
        "purged_at": row["purged_at"].isoformat() if row["purged_at"] else None,
    }


def _search(request: web.Request, max_limit: int = searching.MAX_LIMIT) -> searching.Search:
    return searching.parse(request.query, max_limit=max_limit)


def _invalid_query(exc: searching.Invalid) -> web.Response:
    return json_error(
        400, "invalid_query", "; ".join(e["message"] for e in exc.errors), errors=exc.errors
    )


@routes.get("/queue")
@requires(*STAFF)
async def queue(request: web.Request) -> web.Response:
    try:
        search = _search(request)
    except searching.Invalid as exc:
        return _invalid_query(exc)
    async with connection(request) as conn:
        total, rows = await repository.find(conn, search)
        _, calendar = await deadline_copy.load(conn)
    now = datetime.now(UTC)
    return web.json_response(
        {
            "total": total,
            "limit": search.limit,
            "offset": search.offset,
            "items": [_item(row, now, calendar) for row in rows],
        }
    )


@routes.get("/queue/export.csv")  # before /queue/{code}, which would take it
@requires(*STAFF)
async def export_csv(request: web.Request) -> web.StreamResponse:
    try:
        search = _search(request, max_limit=searching.MAX_LIMIT)
    except searching.Invalid as exc:
        return _invalid_query(exc)
    settings = request.app[SETTINGS]
    who = audit.Who(identity_of(request), address_of(request))
    response = csv_export.answer("requetes-a-examiner.csv")
    now = datetime.now(UTC)
    async with connection(request) as conn, conn.transaction(readonly=True):
        _, calendar = await deadline_copy.load(conn)
        exported = await csv_export.write_rows(
            request,
            response,
            export.HEADER,
            repository.stream(conn, search, settings.export_limit),
            lambda row: export.row_cells(row, now, calendar),
        )
    # Contacts leave the system in this file: the log says who took it, how many rows, and whose
    # personal data (one line per request, as when its page is opened).
    await audit.personal_data_read(
        request, exported, f"{audit.PERSONAL_DATA_READ_LABEL} (export CSV)"
    )
    await audit.write_alone_by(
        request.app[POOL], who, None, "export", "done", audit.exported(len(exported))
    )
    await response.write_eof()
    return response


async def _row(request: web.Request) -> tuple[str, asyncpg.Record | None]:
    code = codes.normalize(request.match_info["code"])
    if not codes.is_well_formed(code):
        return code, None
    async with connection(request) as conn:
        return code, await repository.by_code(conn, code)


def _not_found(code: str) -> web.Response:
    if not codes.is_well_formed(code):
        # Caught before any look-up; still a 404: no request can have this code.
        return json_error(404, "not_found", "a code is 10 digits with a right check digit")
    return json_error(404, "not_found", f"no request with code {code} in the queue")


@routes.get("/queue/{code}")
@requires(*STAFF)
async def item(request: web.Request) -> web.Response:
    """One request of the queue by its code (any status) with its history, or 404."""
    code, row = await _row(request)
    if row is None:
        return _not_found(code)
    async with connection(request) as conn:
        lines = await repository.history_of(conn, row["request_id"])
        _, calendar = await deadline_copy.load(conn)
    body = _item(row, datetime.now(UTC), calendar)
    if request.query.get("contact") == "0":
        del body["contact"]  # only whether the request is there (a search by its code)
    else:
        await audit.personal_data_read(request, [code])
    body["history"] = [
        {
            "at": line["occurred_at"].isoformat(),
            "kind": line["kind"],
            "label": domain.KIND_LABELS.get(Kind(line["kind"]), line["kind"]),
            "actor_login": line["actor_login"],
            "actor_role": line["actor_role"],
            "message": line["message"],
            "details": json.loads(line["details"]),
        }
        for line in lines
    ]
    body["may_decide"] = domain.may_decide(row["status"])
    # Nobody to write to once the citizen's data are purged (decisions.py refuses it too).
    body["may_clarify"] = row["purged_at"] is None and domain.may_clarify(
        row["status"], row["body_status"], row["opinion"]
    )
    return web.json_response(body)


def _missing(field: str, message: str) -> FieldErrors:
    return FieldErrors([field_error(field, message, "missing")])


async def _decided(
    request: web.Request, who: audit.Who, code: str, action: str, deciding: Awaitable[dict]
) -> web.Response:
    """What a decision (``deciding``, awaited here) answers: the request as it left it, the
    404 of a code the queue does not hold, or its refusal's 409 with the audit's line."""
    try:
        done = await deciding
    except decisions.NotFound:
        return _not_found(code)
    except decisions.Refused as exc:
        await audit.write_alone_by(request.app[POOL], who, code, action, "conflict", exc.message)
        return json_error(409, exc.error, exc.message, **exc.extra)
    return web.json_response(done)


def _decision(kind: Kind):
    @requires(*STAFF)
    async def handler(request: web.Request) -> web.Response:
        code = codes.normalize(request.match_info["code"])
        if not codes.is_well_formed(code):
            return _not_found(code)
        given = await read_model(request, DecisionIn)
        if kind in MESSAGE_REQUIRED and not given.message:
            raise _missing("message", MESSAGE_REQUIRED[kind])
        who = audit.Who(identity_of(request), address_of(request))
        deciding = decisions.decide(
            request.app[POOL], code, kind, who, message=given.message or None, version=given.version
        )
        return await _decided(request, who, code, kind.value, deciding)

    handler.__name__ = f"decide_{kind.value}"
    return handler


for _path, _kind in (
    ("validate", Kind.VALIDATED),
    ("reformulate", Kind.REFORMULATION_REQUESTED),
    ("reject", Kind.REJECTED),
    ("clarify", Kind.CLARIFICATION_SENT),
):
    routes.post(f"/queue/{{code}}/{_path}")(_decision(_kind))


@routes.post("/queue/{code}/reindex")
@requires(*STAFF)
async def reindex(request: web.Request) -> web.Response:
    code = codes.normalize(request.match_info["code"])
    if not codes.is_well_formed(code):
        return _not_found(code)
    given = await read_model(request, ReindexIn)
    if not given.body_id:
        raise _missing("body_id", "Choisissez l'organisme public.")
    try:
        index = await request.app[CATALOGUE].index(
            given.body_id, given.theme_id or None, call_of(request)
        )  # catalogue.NotInCatalogue: the 422 naming the field
    except catalogue.Unavailable:
        return json_error(
            503,
            "catalogue_unavailable",
            "Le catalogue des organismes ne répond pas : réessayez dans un instant.",
        )
    who = audit.Who(identity_of(request), address_of(request))
    reindexing = decisions.reindex(
        request.app[POOL], code, index, who, message=given.message or None, version=given.version
    )
    try:
        return await _decided(request, who, code, Kind.REINDEXED.value, reindexing)
    except decisions.Unchanged:
        raise FieldErrors(
            [
                field_error(
                    "body_id",
                    "La requête est déjà indexée sous cet organisme et ce thème.",
                    "unchanged",
                )
            ]
        ) from None


# The audit log, for administrators: filters and paging in shared.audit.listing.
routes.get("/audit")(requires(Role.ADMINISTRATOR)(audit.listing))
