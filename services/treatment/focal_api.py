"""The focal point's HTTP API (internal: the gateway calls it with the signed staff identity).

Reading: focal points (their own body only), analysts and administrators (every body, read
only). Acting: focal points only, on their own body's requests; another body's request is the
same 404 as one that does not exist. 401 without a signed identity, 403 for another role.

- ``GET /requests?view=&q=&code=&body_id=&validated_from=&validated_to=&submitted_from=
  &submitted_to=&late=&sort=&order=&limit=&offset=``: one page of a list
  (``LISTS``: en_cours, retraitement, en_retard, insatisfaits, consultations, sans_retour,
  avis_attendus, satisfaits, traitees, avis_exprimes, recues, reclamations,
  demandes_information, suggestions, observations, motions; each card of the focal point's
  dashboard leads to the one built from its ``shared.body_counts`` rule), oldest
  validation first by default, ``{"total", "limit", "offset", "items"}``; each item carries the last
  answer, the citizen's last opinion with its comment and the last reopening. ``q``: a code, or
  words of the message or the contact. « En cours » is in_treatment, on_hold and reopened.
  Each item carries ``answer_due``, ``days_left`` (working days) and ``late`` while the answer
  is awaited; ``late=true``: only those past their day; ``sort=answer_due``: by « Échéance ».
- ``GET /requests/export.csv?`` the same parameters: every row of the list, as CSV (streamed).
- ``GET /requests/{code}``: one request as a list's row gives it (its last answer, opinion,
  reopening and further answer), with its history, answers and what may be done; the
  contact in it, « Consultation des données personnelles » goes to the audit log (as for every
  row of an export).
- ``POST /requests/{code}/take`` may carry ``acknowledgement: {subject, text}``, the email the
  agent edited for the citizen (422 ``acknowledgement`` when the citizen gave no address).
- ``POST /requests/{code}/reassign`` names the agent by ``assignee_id`` and ``assignee_login``,
  both required (treatment knows no accounts: the gateway, which does, gives both).
- ``POST /requests/{code}/take|hold|resume|reassign|answer|answer-again|tag`` (JSON):
  200 with the new state ``{code, action, status, version, at}``; 404; 409 ``modified`` (the
  form's ``version`` is old: « … modifiée entre-temps par X … »), ``not_allowed``,
  ``already_assigned``; 422 with the faulty fields.
- ``POST /requests/{code}/documents?filename=`` raw bytes: 201 the document kept for an answer
  (PDF, JPEG or PNG, 5 Mo at most, inspected as a citizen's attachment is:
  ``shared.attachments.inspect``), named then in ``document_ids``; 422 on ``document`` with the
  refusal's code and French reason.
- ``GET /documents/{id}``: a document of an answer, as a download.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

import asyncpg
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.treatment import actions, clock, deadlines, reminders, repository
from services.treatment.calendar import load_calendar
from services.treatment.settings import SETTINGS
from shared import attachments, audit, body_counts, codes, csv_export, lifecycle
from shared.audit import address_of
from shared.identity import Identity, Role, check, identity_of, requires
from shared.lifecycle import Event, Status
from shared.messages import NATURE_LABELS, Nature, Opinion
from shared.numbers import whole
from shared.purge import purged_on
from shared.service import POOL, connection
from shared.signing import streamed
from shared.web import FieldErrors, field_error, json_error, read_model
from shared.working_days import Calendar

routes = web.RouteTableDef()
WORKING_DAYS = Calendar()  # weekends and public holidays; the declared days come from the table
READERS = (Role.FOCAL_POINT, Role.ANALYST, Role.ADMINISTRATOR)
MAX_LIMIT = 100

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


def _deadline(row: asyncpg.Record, calendar: Calendar, today: date) -> dict[str, Any]:
    """The answer's deadline while the answer is awaited: the day, the working days left
    (negative: late by so many) and whether it is late (« En retard »)."""
    due = row["answer_due"]
    if due is None or row["status"] not in deadlines.OPEN:
        return {"answer_due": None, "days_left": None, "late": False}
    return {
        "answer_due": due.isoformat(),
        "days_left": deadlines.days_left(calendar, today, due),
        "late": deadlines.is_late(today, due),
    }


def _item(
    row: asyncpg.Record, calendar: Calendar = WORKING_DAYS, no_opinion_days: int | None = None
) -> dict[str, Any]:
    status = Status(row["status"])
    until = clock.opinion_until(row, no_opinion_days) if no_opinion_days else None
    return {
        **_deadline(row, calendar, datetime.now(UTC).date()),
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
        # Answered, the citizen's opinion awaited until then (a day, or a moment: the clock's
        # rule), then closed « sans retour ».
        "opinion_until": until.isoformat() if until else None,
        "version": row["version"],
        # When the citizen's personal data were purged (the message and contact are empty).
        "purged_at": row["purged_at"].isoformat() if row["purged_at"] else None,
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
        # Nobody to write to once the citizen's data are purged (actions.py refuses it too).
        "answer_again": allows(Event.CITIZEN_ANSWERED) and row["purged_at"] is None,
        "tag": acts,
    }


# --- the lists: « En cours », « Retraitement », « Insatisfaits », « Consultations » -----------


@dataclass(frozen=True)
class ListView:
    """What one list holds (``repository.ListFilter`` without the caller's criteria)."""

    statuses: tuple[Status, ...] | None = None
    opinions: tuple[str, ...] | None = None
    without_opinion: bool = False
    natures: tuple[Nature, ...] | None = None
    late: bool = False

    @classmethod
    def counting(cls, card: body_counts.Counted) -> ListView:
        """The list of the requests a dashboard card counts (``shared.body_counts``)."""
        outcomes = card.outcomes
        if outcomes is not None and None in outcomes and len(outcomes) > 1:
            raise ValueError("a list is either « sans retour » or of opinions, not both")
        return cls(
            statuses=card.statuses,
            opinions=tuple(o.value for o in outcomes)
            if outcomes and None not in outcomes
            else None,
            without_opinion=outcomes == (None,),
            natures=card.natures,
        )

    def filter(self, **criteria: Any) -> repository.ListFilter:
        """This list's rows narrowed by the caller's ``criteria`` (body, words, period…)."""
        return repository.ListFilter(
            statuses=tuple(s.value for s in self.statuses) if self.statuses else None,
            opinions=self.opinions,
            without_opinion=self.without_opinion,
            natures=tuple(n.value for n in self.natures) if self.natures else None,
            late=self.late,
            **criteria,
        )


CARDS = body_counts.CARDS
LISTS: dict[str, ListView] = {
    # « Réclamations à traiter » (its statuses are those of the treatments_en_cours index, 0050).
    "en_cours": ListView.counting(CARDS["to_treat"]),
    "retraitement": ListView((Status.REOPENED,)),
    # Past the deadline the clock escalated (reminders.py), on hold included.
    "en_retard": ListView(reminders.LATE_STATUSES, late=True),
    # « Avis d'insatisfaction »: the opinions that let the body answer again.
    "insatisfaits": ListView.counting(CARDS["dissatisfied"]),
    # What the body reads: suggestions, observations, motions acknowledged.
    "consultations": ListView((Status.ACKNOWLEDGED,)),
    # « Consultations »: « Sans retour », « Satisfaits », then each nature, whatever its status;
    # and the dashboard's other cards, each the list of what its figure counts.
    "sans_retour": ListView.counting(CARDS["without_opinion"]),
    "avis_attendus": ListView.counting(CARDS["opinions_expected"]),
    "satisfaits": ListView((Status.CLOSED,), (Opinion.SATISFIED.value,)),
    "traitees": ListView.counting(CARDS["treated"]),
    "avis_exprimes": ListView.counting(CARDS["opinions_given"]),
    "recues": ListView.counting(CARDS["total"]),
    "reclamations": ListView.counting(body_counts.of_nature(Nature.RECLAMATION)),
    "demandes_information": ListView.counting(body_counts.of_nature(Nature.DEMANDE_INFORMATION)),
    "suggestions": ListView.counting(body_counts.of_nature(Nature.SUGGESTION)),
    "observations": ListView.counting(body_counts.of_nature(Nature.OBSERVATION)),
    "motions": ListView.counting(body_counts.of_nature(Nature.MOTION)),
}
VIEWS = LISTS  # the name the first version of this API used
LIST_ORDERS = ("asc", "desc")
EXPORT_LIMIT = 250_000
EXPORT_HEADER = (
    "Code",
    "Nature",
    "Thème",
    "Organisme",
    "Nom et prénoms",
    "Email",
    "Téléphone",
    "Message posté",
    "Validée le",
    "Retour Analyste",
    "Statut",
    "Échéance de la réponse",
    "Pris en compte par",
    "Mise en attente le",
    "Message traitement",
    "Traitée le",
    # Answered, until when the citizen's opinion is awaited (a day, or a moment: the clock's
    # rule, as the lists show it); empty when none is awaited.
    "Avis attendu jusqu'au",
    "Avis usager",
    "Commentaire de l'usager",
    "Avis donné le",
    # The body's answer again after that opinion (« Insatisfaits »), empty when none.
    "Nouvelle réponse",
    "Nouvelle réponse le",
    "Réouverte le",
    "Message de relance",
)


def _list_filter(
    request: web.Request, who: Identity, errors: list
) -> repository.ListFilter | web.Response | None:
    """The list the address asks for, for this caller: a focal point gets its own body's rows
    only, whatever ``body_id`` says. None when a parameter is faulty (added to ``errors``);
    403 for a focal point without a body."""
    query = request.query
    view = query.get("view", "en_cours")
    if view not in LISTS:
        errors.append(field_error("view", "Liste inconnue.", "unknown_view"))
    sort = query.get("sort", "validated_at")
    if sort not in repository.LIST_SORTS:
        errors.append(field_error("sort", "Tri inconnu.", "unknown_sort"))
    order = query.get("order", "asc")
    if order not in LIST_ORDERS:
        errors.append(field_error("order", "Ordre inconnu : asc ou desc.", "unknown_order"))
    late = query.get("late", "")
    if late not in ("", "true", "false"):
        errors.append(field_error("late", "En retard : true ou false.", "invalid_late"))
    days = {}
    for name in ("validated_from", "validated_to", "submitted_from", "submitted_to"):
        try:
            days[name] = date.fromisoformat(query[name]) if query.get(name) else None
        except ValueError:
            errors.append(field_error(name, "Une date AAAA-MM-JJ.", "invalid_date"))
    if errors:
        return None
    if who.role == Role.FOCAL_POINT:
        if not who.body_id:
            return json_error(403, "forbidden", "this focal point has no public body")
        body_id = who.body_id
    else:
        body_id = query.get("body_id", "").strip()[:100] or None
    code = codes.normalize(query["code"]) if query.get("code") else None
    words = query.get("q", "").strip()[:200] or None
    if words and codes.is_well_formed(codes.normalize(words)):
        code, words = codes.normalize(words), None  # a code typed in the search: that request
    return LISTS[view].filter(
        body_id=body_id,
        code=code,
        words=words,
        # Days in Abidjan's time (UTC, all year): from the first's start to the last's end.
        validated_from=_start_of(days["validated_from"]),
        validated_before=_start_of(days["validated_to"], 1),
        submitted_from=_start_of(days["submitted_from"]),
        submitted_before=_start_of(days["submitted_to"], 1),
        sort=sort,
        descending=order == "desc",
        # « En retard »: the answer awaited past its day.
        late_on=datetime.now(UTC).date() if late == "true" else None,
        awaiting=tuple(s.value for s in deadlines.OPEN),
    )


def _start_of(day: date | None, later: int = 0) -> datetime | None:
    if day is None:
        return None
    return datetime.combine(day + timedelta(days=later), time(), tzinfo=UTC)


def _invalid_list(errors: list) -> web.Response:
    return json_error(400, "invalid_query", "; ".join(e["message"] for e in errors), errors=errors)


def _list_item(
    row: asyncpg.Record, calendar: Calendar = WORKING_DAYS, no_opinion_days: int | None = None
) -> dict[str, Any]:
    """A list's row: the request, its last answer, the citizen's last opinion and reopening, the
    body's further answer after that opinion."""
    item = _item(row, calendar, no_opinion_days)
    item.update(
        {
            "answer_message": row["answer_message"],
            "answer_at": _iso(row["answer_at"]),
            "opinion_comment": row["opinion_comment"],
            "opinion_at": _iso(row["opinion_at"]),
            "reopening_message": row["reopening_message"],
            "reopened_at": _iso(row["reopened_at"]),
            "further_answer_message": row["further_answer_message"],
            "further_answer_at": _iso(row["further_answer_at"]),
        }
    )
    return item


def _no_opinion_days(request: web.Request) -> int:
    return request.app[SETTINGS].no_opinion_days


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


@routes.get("/requests")
@requires(*READERS)
async def listing(request: web.Request) -> web.Response:
    """``?view=&q=&code=&body_id=&sort=&order=&limit=&offset=``: one page of a list."""
    who = check(request)
    errors: list = []
    limit = _whole(request.query.get("limit"), 20, 1, MAX_LIMIT, "limit", errors)
    offset = _whole(request.query.get("offset"), 0, 0, 10_000_000, "offset", errors)
    chosen = _list_filter(request, who, errors)
    if chosen is None:
        return _invalid_list(errors)
    if isinstance(chosen, web.Response):
        return chosen
    async with connection(request) as conn:
        total, rows = await repository.list_page(conn, chosen, limit=limit, offset=offset)
        calendar = await load_calendar(conn)
    return web.json_response(
        {
            "total": total,
            "limit": limit,
            "offset": offset,
            "items": [_list_item(r, calendar, _no_opinion_days(request)) for r in rows],
        }
    )


def _contact_cells(contact: dict[str, Any]) -> list[str]:
    name = " ".join(p for p in (contact.get("first_names"), contact.get("last_name")) if p)
    return [name, contact.get("email") or "", contact.get("phone") or ""]


def _export_cells(row: asyncpg.Record, no_opinion_days: int) -> list[object]:
    status = Status(row["status"])
    return [
        row["code"],
        NATURE_LABELS.get(Nature(row["nature"]), row["nature"]),
        row["theme_label"] or "",
        row["body_name"],
        *_contact_cells(json.loads(row["contact"])),
        purged_on(row["purged_at"]) if row.get("purged_at") else row["message"],
        row["validated_at"],
        row["analyst_message"] or "",
        lifecycle.CITIZEN_LABELS[status],
        # The day the lists show in « Échéance », while the answer is awaited.
        row["answer_due"] if status in deadlines.OPEN else None,
        row["assignee_login"] or "",
        row["on_hold_since"],
        row["answer_message"] or "",
        row["answer_at"],
        clock.opinion_until(row, no_opinion_days),
        lifecycle.opinion_label(row["opinion"]) or "",
        row["opinion_comment"] or "",
        row["opinion_at"],
        row["further_answer_message"] or "",
        row["further_answer_at"],
        row["reopened_at"],
        row["reopening_message"] or "",
    ]


@routes.get("/requests/export.csv")  # before /requests/{code}, which would take it
@requires(*READERS)
async def export_csv(request: web.Request) -> web.StreamResponse:
    """Every row of the list the address asks for (as ``GET /requests``, without pages), as CSV
    streamed from a cursor; the audit log says who took it and how many rows."""
    who = check(request)
    errors: list = []
    chosen = _list_filter(request, who, errors)
    if chosen is None:
        return _invalid_list(errors)
    if isinstance(chosen, web.Response):
        return chosen
    response = csv_export.answer("requetes-organisme.csv")
    async with connection(request) as conn, conn.transaction(readonly=True):
        exported = await csv_export.write_rows(
            request,
            response,
            EXPORT_HEADER,
            repository.list_stream(conn, chosen, EXPORT_LIMIT),
            functools.partial(_export_cells, no_opinion_days=_no_opinion_days(request)),
        )
    # The list by its name in the back office, the file as the agent asked for it (the gateway
    # builds the .xlsx from this CSV).
    label = lifecycle.list_label(request.query.get("view", "en_cours"))
    kind = "Excel (.xlsx)" if request.query.get("format") == "xlsx" else "CSV"
    # Contacts leave the system in this file: the log says who took it, how many rows, and whose
    # personal data (one line per request, as when its page is opened).
    await audit.personal_data_read(
        request, exported, f"{audit.PERSONAL_DATA_READ_LABEL} (export {kind}, liste « {label} »)"
    )
    await audit.write_alone_by(
        request.app[POOL],
        audit.Who(who, address_of(request)),
        None,
        "export",
        "done",
        audit.exported(len(exported), kind, label),
    )
    await response.write_eof()
    return response


def _whole(raw: str | None, default: int, low: int, high: int, name: str, errors: list) -> int:
    if raw in (None, ""):
        return default
    value = whole(raw, low, high)
    if value is None:
        errors.append(field_error(name, f"Un nombre entier de {low} à {high}.", "out_of_range"))
        return default
    return value


@routes.get("/requests/{code}")
@requires(*READERS)
async def one(request: web.Request) -> web.Response:
    who = check(request)
    code = _code(request)
    if code is None:
        return _not_found()
    async with connection(request) as conn:
        row = await repository.listed_by_code(conn, code)
        if row is None or not who.can_see_body(row["body_id"]):
            return _not_found()
        lines = await repository.history_of(conn, row["request_id"])
        answers = await repository.answers_of(conn, row["request_id"])
        calendar = await load_calendar(conn)
    # What a list's row says (the last answer, opinion, further answer…), then the whole story.
    body = _list_item(row, calendar, _no_opinion_days(request))
    await audit.personal_data_read(request, [code])  # the contact is in it
    body["history"] = [
        {
            "at": line["occurred_at"].isoformat(),
            "kind": line["kind"],
            "label": actions.history_label(line["kind"], details),
            "actor_login": line["actor_login"],
            "actor_role": line["actor_role"],
            "message": line["message"],
            "details": details,
        }
        for line in lines
        for details in (json.loads(line["details"]),)
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


Act = Callable[[asyncpg.Pool, str, actions.Who, Any], Awaitable[dict]]


def _action(name: str, model: type[BaseModel], act: Act):
    @requires(Role.FOCAL_POINT)
    async def handler(request: web.Request) -> web.Response:
        code = _code(request)
        if code is None:
            return _not_found()
        given = await read_model(request, model)
        who = audit.Who(identity_of(request), address_of(request))
        try:
            done = await act(request.app[POOL], code, who, given)
        except actions.NotFound:
            return _not_found()
        except actions.Refused as exc:
            await audit.write_alone_by(request.app[POOL], who, code, name, "conflict", exc.message)
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


def _answering(answer: Callable[..., Awaitable[dict]]) -> Act:
    """``actions.answer`` or ``actions.answer_again``, given the answer's words and documents."""

    def act(pool, code, who, given: AnswerIn):
        return answer(
            pool,
            code,
            who,
            message=given.message,
            document_ids=given.document_ids,
            version=given.version,
        )

    return act


def _tag(pool, code, who, given: TagIn):
    return actions.tag(pool, code, who, message=given.message)


for _name, _model, _act in (
    ("take", TakeIn, _take),
    ("hold", HoldIn, _hold),
    ("resume", ActionIn, _resume),
    ("reassign", ReassignIn, _reassign),
    ("answer", AnswerIn, _answering(actions.answer)),
    ("answer-again", AnswerIn, _answering(actions.answer_again)),
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
    who = audit.Who(identity_of(request), address_of(request))
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
    # The content type was found in the bytes at upload.
    return web.Response(
        body=doc["data"], headers=attachments.download_headers(doc["filename"], doc["content_type"])
    )
