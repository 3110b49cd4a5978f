"""The focal point's HTTP API (internal: the gateway calls it with the signed staff identity).

Reading: focal points (their own body only), analysts and administrators (every body, read
only). Acting: focal points only, on their own body's requests; another body's request is the
same 404 as one that does not exist. 401 without a signed identity, 403 for another role.

- ``GET /requests?view=en_cours|retraitement|insatisfaits|consultations&code=&body_id=&…``:
  a body's requests, oldest validation first, paged ``{"total", "limit", "offset", "items"}``;
  « En cours » is in_treatment, on_hold and reopened.
- ``GET /requests/{code}``: one request with its history, answers and what may be done.
- ``POST /requests/{code}/take`` may carry ``acknowledgement: {subject, text}``, the email the
  agent edited for the citizen (422 ``acknowledgement`` when the citizen gave no address).
- ``POST /requests/{code}/take|hold|resume|reassign|answer|answer-again|tag`` (JSON):
  200 with the new state ``{code, action, status, version, at}``; 404; 409 ``modified`` (the
  form's ``version`` is old: « … modifiée entre-temps par X … »), ``not_allowed``,
  ``already_assigned``; 422 with the faulty fields.
- ``POST /requests/{code}/documents?filename=`` raw bytes: 201 the document kept for an answer
  (PDF, JPEG or PNG, 5 Mo at most, judged by content), named then in ``document_ids``.
- ``GET /documents/{id}``: a document of an answer, as a download.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import asyncpg
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.treatment import actions, repository
from shared import attachments, codes, lifecycle
from shared.audit import address_of
from shared.identity import Identity, Role, check, identity_of, requires
from shared.lifecycle import BODY_EVENT_LABELS, Event, Status
from shared.messages import NATURE_LABELS, Nature, Opinion
from shared.service import POOL, connection
from shared.signing import streamed
from shared.web import FieldErrors, field_error, json_error, read_model

routes = web.RouteTableDef()
READERS = (Role.FOCAL_POINT, Role.ANALYST, Role.ADMINISTRATOR)
MAX_LIMIT = 100

# The focal point's lists: the statuses they hold and, for « Insatisfaits », the opinions of
# the closed requests the table lets the body answer again.
VIEWS: dict[str, tuple[tuple[Status, ...], tuple[str, ...] | None]] = {
    "en_cours": ((Status.IN_TREATMENT, Status.ON_HOLD, Status.REOPENED), None),
    "retraitement": ((Status.REOPENED,), None),
    "insatisfaits": (
        (Status.CLOSED,),
        tuple(
            o.value
            for o in Opinion
            if lifecycle.allows(Status.CLOSED, Event.CITIZEN_ANSWERED, opinion=o)
        ),
    ),
    "consultations": ((Status.ACKNOWLEDGED,), None),
}

Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=actions.MESSAGE_MAX)]
Version = Annotated[int | None, Field(None, ge=1)]


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: Version = None


class AcknowledgementIn(BaseModel):
    """The acknowledgement email the agent edited on « Prendre en compte »."""

    model_config = ConfigDict(extra="forbid")
    subject: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)] = ""
    text: Annotated[str, StringConstraints(max_length=actions.MESSAGE_MAX * 2)] = ""


class TakeIn(ActionIn):
    acknowledgement: AcknowledgementIn | None = None


class HoldIn(ActionIn):
    reason: Text = ""


class ReassignIn(ActionIn):
    assignee_id: Annotated[str, StringConstraints(strip_whitespace=True, max_length=80)] = ""
    assignee_login: Annotated[str, StringConstraints(max_length=120)] | None = None


class AnswerIn(ActionIn):
    message: Text = ""
    document_ids: Annotated[list[uuid.UUID], Field(max_length=actions.MAX_DOCUMENTS)] = []


class TagIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message: Text = ""


def _not_found() -> web.Response:
    return json_error(404, "not_found", "Aucune requête de votre organisme ne porte ce code.")


def _code(request: web.Request) -> str | None:
    code = codes.normalize(request.match_info["code"])
    return code if codes.is_well_formed(code) else None


def _item(row: asyncpg.Record) -> dict[str, Any]:
    status = Status(row["status"])
    return {
        "request_id": str(row["request_id"]),
        "code": row["code"],
        "nature": row["nature"],
        "nature_label": NATURE_LABELS.get(Nature(row["nature"]), row["nature"]),
        "body_id": row["body_id"],
        "body_name": row["body_name"],
        "theme_id": row["theme_id"],
        "theme_label": row["theme_label"],
        "place_label": row["place_label"],
        "message": row["message"],
        "attachments": json.loads(row["attachments"]),
        "contact": json.loads(row["contact"]),
        "analyst_message": row["analyst_message"],
        "submitted_at": row["submitted_at"].isoformat(),
        "validated_at": row["validated_at"].isoformat(),
        "status": status.value,
        "status_label": lifecycle.CITIZEN_LABELS[status],
        "assignee_id": row["assignee_id"],
        "assignee_login": row["assignee_login"],
        "on_hold_since": row["on_hold_since"].isoformat() if row["on_hold_since"] else None,
        "treated_at": row["treated_at"].isoformat() if row["treated_at"] else None,
        "opinion": row["opinion"],
        "opinion_label": lifecycle.opinion_label(row["opinion"]),
        "version": row["version"],
    }


def _may(row: asyncpg.Record, who: Identity) -> dict[str, bool]:
    """What the caller may do now: nothing unless a focal point of the body."""
    acts = who.role == Role.FOCAL_POINT and who.can_see_body(row["body_id"])

    def allows(event: Event) -> bool:
        return acts and lifecycle.allows(row["status"], event, opinion=row["opinion"])

    return {
        "take": allows(Event.ASSIGNED) and row["assignee_id"] is None,
        "hold": allows(Event.PUT_ON_HOLD),
        "resume": allows(Event.RESUMED),
        "reassign": allows(Event.REASSIGNED),
        "answer": allows(Event.TREATED),
        "answer_again": allows(Event.CITIZEN_ANSWERED),
        "tag": acts,
    }


@routes.get("/requests")
@requires(*READERS)
async def listing(request: web.Request) -> web.Response:
    who = check(request)
    query = request.query
    errors = []
    view = query.get("view", "en_cours")
    if view not in VIEWS:
        errors.append(field_error("view", "Liste inconnue.", "unknown_view"))
    limit = _whole(query.get("limit"), 20, 1, MAX_LIMIT, "limit", errors)
    offset = _whole(query.get("offset"), 0, 0, 10_000_000, "offset", errors)
    code = codes.normalize(query["code"]) if query.get("code") else None
    if errors:
        return json_error(
            400, "invalid_query", "; ".join(e["message"] for e in errors), errors=errors
        )
    body_id = who.body_id if who.role == Role.FOCAL_POINT else (query.get("body_id") or None)
    if who.role == Role.FOCAL_POINT and body_id is None:
        return json_error(403, "forbidden", "this focal point has no public body")
    async with connection(request) as conn:
        statuses, opinions = VIEWS[view]
        total, rows = await repository.page(
            conn,
            statuses=statuses,
            opinions=opinions,
            body_id=body_id,
            code=code,
            limit=limit,
            offset=offset,
        )
    return web.json_response(
        {"total": total, "limit": limit, "offset": offset, "items": [_item(r) for r in rows]}
    )


def _whole(raw: str | None, default: int, low: int, high: int, name: str, errors: list) -> int:
    if raw in (None, ""):
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        errors.append(field_error(name, f"Un nombre entier de {low} à {high}.", "out_of_range"))
        return default
    return int(raw)


@routes.get("/requests/{code}")
@requires(*READERS)
async def one(request: web.Request) -> web.Response:
    who = check(request)
    code = _code(request)
    if code is None:
        return _not_found()
    async with connection(request) as conn:
        row = await repository.by_code(conn, code)
        if row is None or not who.can_see_body(row["body_id"]):
            return _not_found()
        lines = await repository.history_of(conn, row["request_id"])
        answers = await repository.answers_of(conn, row["request_id"])
    body = _item(row)
    body["history"] = [
        {
            "at": line["occurred_at"].isoformat(),
            "kind": line["kind"],
            "label": _kind_label(line["kind"]),
            "actor_login": line["actor_login"],
            "actor_role": line["actor_role"],
            "message": line["message"],
            "details": json.loads(line["details"]),
        }
        for line in lines
    ]
    body["answers"] = [
        {
            "answer_id": str(a["id"]),
            "kind": a["kind"],
            "message": a["message"],
            "actor_login": a["actor_login"],
            "at": a["answered_at"].isoformat(),
            "documents": json.loads(a["documents"]),
        }
        for a in answers
    ]
    body["may"] = _may(row, who)
    return web.json_response(body)


def _kind_label(kind: str) -> str:
    if kind == actions.TAGGED:
        return "Balise (note interne)"
    return BODY_EVENT_LABELS.get(Event.of_kind(kind), kind)


Act = Callable[[asyncpg.Pool, str, actions.Who, Any], Awaitable[dict]]


def _action(name: str, model: type[BaseModel], act: Act):
    @requires(Role.FOCAL_POINT)
    async def handler(request: web.Request) -> web.Response:
        code = _code(request)
        if code is None:
            return _not_found()
        given = await read_model(request, model)
        who = actions.Who(identity_of(request), address_of(request))
        try:
            done = await act(request.app[POOL], code, who, given)
        except actions.NotFound:
            return _not_found()
        except actions.Refused as exc:
            await actions.record_refusal(
                request.app[POOL], who, code, name, "conflict", exc.message
            )
            return json_error(409, exc.error, exc.message, **exc.extra)
        return web.json_response(done)

    handler.__name__ = f"act_{name.replace('-', '_')}"
    return handler


def _take(pool, code, who, given: TakeIn):
    mail = given.acknowledgement
    return actions.take_in_charge(
        pool,
        code,
        who,
        version=given.version,
        acknowledgement=(mail.subject, mail.text) if mail is not None else None,
    )


def _hold(pool, code, who, given: HoldIn):
    return actions.put_on_hold(pool, code, who, reason=given.reason, version=given.version)


def _resume(pool, code, who, given: ActionIn):
    return actions.resume(pool, code, who, version=given.version)


def _reassign(pool, code, who, given: ReassignIn):
    return actions.reassign(
        pool,
        code,
        who,
        assignee_id=given.assignee_id,
        assignee_login=given.assignee_login,
        version=given.version,
    )


def _answer(pool, code, who, given: AnswerIn):
    return actions.answer(
        pool,
        code,
        who,
        message=given.message,
        document_ids=given.document_ids,
        version=given.version,
    )


def _answer_again(pool, code, who, given: AnswerIn):
    return actions.answer_again(
        pool,
        code,
        who,
        message=given.message,
        document_ids=given.document_ids,
        version=given.version,
    )


def _tag(pool, code, who, given: TagIn):
    return actions.tag(pool, code, who, message=given.message)


for _name, _model, _act in (
    ("take", TakeIn, _take),
    ("hold", HoldIn, _hold),
    ("resume", ActionIn, _resume),
    ("reassign", ReassignIn, _reassign),
    ("answer", AnswerIn, _answer),
    ("answer-again", AnswerIn, _answer_again),
    ("tag", TagIn, _tag),
):
    routes.post(f"/requests/{{code}}/{_name}")(_action(_name, _model, _act))


@routes.post("/requests/{code}/documents")
@streamed
@requires(Role.FOCAL_POINT)
async def upload(request: web.Request) -> web.Response:
    code = _code(request)
    if code is None:
        return _not_found()
    name = request.query.get("filename", "")[:1000]
    if (request.content_length or 0) > attachments.MAX_BYTES:  # refused on its word, unread
        problem = attachments.problem(attachments.TOO_LARGE, name)
        raise FieldErrors([field_error("document", problem, attachments.TOO_LARGE)])
    chunks, size = [], 0
    while size <= attachments.MAX_BYTES:  # never more than one byte past the limit
        chunk = await request.content.read(min(256 * 1024, attachments.MAX_BYTES + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    who = actions.Who(identity_of(request), address_of(request))
    try:
        kept = await actions.add_document(
            request.app[POOL], code, who, filename=name, data=b"".join(chunks)
        )
    except actions.NotFound:
        return _not_found()
    return web.json_response(kept, status=201)


@routes.get("/documents/{document_id}")
@requires(*READERS)
async def download(request: web.Request) -> web.StreamResponse:
    who = check(request)
    try:
        document_id = uuid.UUID(request.match_info["document_id"])
    except ValueError:
        return json_error(404, "not_found", "Document introuvable.")
    async with connection(request) as conn:
        doc = await repository.document(conn, document_id)
    if doc is None or not who.can_see_body(doc["body_id"]):
        return json_error(404, "not_found", "Document introuvable.")
    return web.Response(
        body=doc["data"],
        headers={
            "Content-Type": doc["content_type"],  # found in the bytes at upload
            "Content-Disposition": attachments.content_disposition(
                doc["filename"], doc["content_type"]
            ),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, no-store",
        },
    )
