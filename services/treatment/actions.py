"""The body's actions on a request, and the citizen's answer to the body's.

Each action is one transaction: the row is locked (``FOR UPDATE``), the version the agent's form
was read at checked, the move judged by the life cycle's table (``shared.lifecycle``), then the
row, the history line, the event (outbox) and the audit line are written together. Two agents
acting at once: the second waits for the lock, finds the version moved on, and is told by whom
(:class:`Conflict`) — nothing is done twice and nothing is written for the loser.

A focal point acts only on its own body's requests; another body's request is :class:`NotFound`
to them (its existence is not theirs to know). Tagging (« Baliser ») is an internal note: a
history line, no event, no new version. The citizen's opinion and reopening arrive from intake
(:func:`apply_opinion`, :func:`apply_reopening`) and run in the caller's transaction (the
consumer's, with its inbox row).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg

from services.treatment import deadlines, policy, repository
from services.treatment.calendar import load_calendar
from shared import attachments, audit, citizen_replies, french, lifecycle, outbox
from shared.audit import Who
from shared.db import run_in_transaction
from shared.identity import is_api_key
from shared.lifecycle import BODY_BY_PHONE_LABELS, BODY_EVENT_LABELS, Event, Status
from shared.messages import (
    Acknowledgement,
    Channel,
    Contract,
    DocumentRef,
    Opinion,
    RequestAssignedV1,
    RequestCitizenAnsweredV1,
    RequestOpinionGivenV1,
    RequestPutOnHoldV1,
    RequestReassignedV1,
    RequestReopenedV1,
    RequestResumedV1,
    RequestTreatedV1,
)
from shared.purge import no_more_messages
from shared.web import FieldErrors, field_error

MESSAGE_MAX = 5000
MAX_DOCUMENTS = attachments.MAX_FILES
TAGGED = "tagged"  # a history kind that is no event of the life cycle


def history_label(kind: str, details: dict[str, Any]) -> str:
    """A history line's title as the body reads it (its page, the ministry API, the feed)."""
    if kind == TAGGED:
        return "Balise (note interne)"
    if kind == Event.CITIZEN_REPLY_REFUSED.kind:
        return citizen_replies.body_label(details.get("reply", ""))
    event = Event.of_kind(kind)
    if details.get("channel") == Channel.PHONE and event in BODY_BY_PHONE_LABELS:
        return BODY_BY_PHONE_LABELS[event]
    return BODY_EVENT_LABELS.get(event, kind)


def how_replied(event: Contract) -> dict[str, str]:
    """What a citizen's reply's history line keeps of how it came: the channel of a v2 reply,
    and the call centre's operator who took one by phone (:data:`BODY_BY_PHONE_LABELS` then
    titles the line); nothing for a v1 reply, which did not say (read as the citizen's own, as
    it always was)."""
    channel = getattr(event, "channel", None)
    if channel is None:
        return {}
    how = {"channel": Channel(channel).value}
    operator = getattr(event, "operator", None)
    if operator is not None:
        how["operator_id"] = operator.staff_id
        if operator.login:
            how["operator_login"] = operator.login
    return how


class NotFound(Exception):
    """No such request, or one of another body (404)."""


class Refused(Exception):
    """The action cannot be done on the request as it stands (409)."""

    def __init__(self, error: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.error, self.message, self.extra = error, message, extra


class Conflict(Refused):
    """The agent's form is older than the request: someone acted in between (named)."""


class AnsweredSince(Refused):
    """A citizen's reply recorded before the body's last answer (two tabs: a « Relancer »
    applied and answered first): it judged an answer that is no longer the request's."""

    def __init__(self, answered_at: datetime) -> None:
        super().__init__("answered_since", "réponse de l'usager antérieure à la dernière réponse")
        self.answered_at = answered_at


# -- pure rules --------------------------------------------------------------------------------


def required(field: str, text: str | None, said: str) -> str:
    """``text`` stripped, or the 422 naming ``field`` with ``said``."""
    text = (text or "").strip()
    if not text:
        raise FieldErrors([field_error(field, said, "missing")])
    if len(text) > MESSAGE_MAX:
        raise FieldErrors(
            [field_error(field, f"{MESSAGE_MAX} caractères au plus.", "string_too_long")]
        )
    return text


def checked_document(filename: str, data: bytes) -> tuple[str, attachments.Inspected]:
    """(safe name, what to keep) of a document joined to an answer, judged as a citizen's
    attachment is (``shared.attachments.inspect``: its type found in its bytes, a PDF opened and
    refused with JavaScript, a launch action or an embedded file, an image decoded and
    re-encoded); 422 on ``document`` with the French reason otherwise.

    CPU-bound: call it in a thread."""
    try:
        inspected = attachments.inspect(filename, data)
    except attachments.Refused as refused:
        raise FieldErrors([field_error("document", refused.message, refused.code)]) from None
    return attachments.safe_filename(filename, inspected.content_type), inspected


def judge(row: Any, event: Event, *, opinion: str | None = None) -> Status:
    """The status ``event`` leaves the row in, or :class:`Refused` in French."""
    try:
        return lifecycle.next_status(row["status"], event, opinion=opinion or row["opinion"])
    except lifecycle.Refused:
        label = lifecycle.CITIZEN_LABELS.get(Status(row["status"]), row["status"]).lower()
        what = BODY_EVENT_LABELS.get(event, event.kind).lower()
        raise Refused(
            "not_allowed",
            f"Action impossible sur cette requête ({what}) : elle est au statut « {label} ».",
            current_status=row["status"],
        ) from None


# -- the transaction of an action --------------------------------------------------------------


_UNNAMED = {None: "l'usager", "system": "la plateforme"}


async def _stale(conn: asyncpg.Connection, row: asyncpg.Record) -> Conflict:
    line = await repository.last_action(conn, row["request_id"])
    if line is None:  # every row starts with its validation's line; kept for safety
        said = "Cette requête a été modifiée entre-temps : relisez-la avant d'agir."
        return Conflict("modified", said, version=row["version"], by=None)
    # The citizen's lines have no actor; an analyst's (re-index) no login here; the clock's
    # (« sans retour ») the role "system".
    by = line["actor_login"] or _UNNAMED.get(line["actor_role"], "un analyste")
    what = BODY_EVENT_LABELS.get(Event.of_kind(line["kind"]), line["kind"]).lower()
    said = (
        f"Cette requête a été modifiée entre-temps par {by} le "
        f"{french.moment(line['occurred_at'])} ({what}) : relisez-la avant d'agir."
    )
    return Conflict("modified", said, version=row["version"], by=by)


async def locked(
    conn: asyncpg.Connection, code: str, who: Who, version: int | None
) -> asyncpg.Record:
    """The request's row, locked, seen by ``who``, at ``version`` when one is given."""
    row = await repository.lock_by_code(conn, code)
    if row is None or not who.identity.can_see_body(row["body_id"]):
        raise NotFound(code)
    if version is not None and version != row["version"]:
        raise await _stale(conn, row)
    return row


async def _record(
    conn: asyncpg.Connection,
    row: asyncpg.Record,
    who: Who | None,
    kind: str,
    at: datetime,
    *,
    event: Contract | None,
    message: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """The event (outbox), the history line and the audit line of an action."""
    message_id = await outbox.add(conn, event) if event is not None else None
    # Without an agent, the citizen acted (an opinion, a reopening, through intake).
    signed = who.signature() if who else {}
    await repository.add_history(
        conn,
        request_id=row["request_id"],
        occurred_at=at,
        kind=kind,
        message=message,
        details=details,
        message_id=message_id,
        **signed,
    )
    label = "Balisée" if kind == TAGGED else history_label(kind, details or {})
    await audit.write(
        conn,
        action=kind,
        outcome="done",
        address=who.address if who else "",
        request_code=row["code"],
        detail=label,
        **(signed or {"actor_role": "citizen"}),
    )


def _done(row: asyncpg.Record, kind: str, status: str, version: int, at: datetime) -> dict:
    return {
        "code": row["code"],
        "action": kind,
        "status": status,
        "version": version,
        "at": at.isoformat(),
    }


Work = Callable[[asyncpg.Connection, asyncpg.Record, datetime], Awaitable[dict[str, Any]]]


async def _act(pool: asyncpg.Pool, code: str, who: Who, version: int | None, work: Work) -> dict:
    async def unit(conn: asyncpg.Connection) -> dict[str, Any]:
        row = await locked(conn, code, who, version)
        return await work(conn, row, datetime.now(UTC))

    return await run_in_transaction(pool, unit)


def _common(row: asyncpg.Record, who: Who) -> dict[str, Any]:
    return {
        "request_id": row["request_id"],
        "code": row["code"],
        "body_id": row["body_id"],
        "actor": who.actor,
    }


# -- the focal point's actions -----------------------------------------------------------------


SUBJECT_MAX = 200


def acknowledgement_of(row: Any, subject: str | None, text: str | None) -> Acknowledgement:
    """The acknowledgement email the agent edited, checked: a subject and a text, and a
    citizen who gave an email address (otherwise the guide does not offer it)."""
    contact = json.loads(row["contact"]) if isinstance(row["contact"], str) else row["contact"]
    if not (contact or {}).get("email"):
        raise FieldErrors(
            [
                field_error(
                    "acknowledgement",
                    "L'usager n'a pas donné d'adresse électronique : aucun accusé de réception "
                    "ne peut lui être envoyé.",
                    "no_email",
                )
            ]
        )
    errors = []
    subject = (subject or "").strip()
    if not subject:
        errors.append(
            field_error("acknowledgement_subject", "Écrivez l'objet du courriel.", "missing")
        )
    elif len(subject) > SUBJECT_MAX:
        errors.append(
            field_error(
                "acknowledgement_subject", f"{SUBJECT_MAX} caractères au plus.", "string_too_long"
            )
        )
    try:
        text = required("acknowledgement_text", text, "Écrivez le texte du courriel.")
    except FieldErrors as exc:
        errors.extend(exc.errors)
    if errors:
        raise FieldErrors(errors)
    return Acknowledgement(subject=subject, text=text)


async def take_in_charge(
    pool: asyncpg.Pool,
    code: str,
    who: Who,
    *,
    version: int | None,
    acknowledgement: tuple[str, str] | None = None,
) -> dict:
    """« Prendre en compte »: the agent holds the request. Refused when another holds it
    already (they are named: reassign it instead). ``acknowledgement``: (subject, text) of the
    email the agent asked to send the citizen, carried by request.assigned for notify."""

    async def work(conn, row, at):
        status = judge(row, Event.ASSIGNED)
        if row["assignee_id"] is not None:
            holder = row["assignee_login"] or row["assignee_id"]
            raise Refused(
                "already_assigned",
                f"Cette requête est déjà prise en compte par {holder}.",
                assignee=holder,
            )
        mail = acknowledgement_of(row, *acknowledgement) if acknowledgement else None
        new = await _take(conn, row, who, at, mail)
        return _done(row, Event.ASSIGNED.kind, status, new, at)

    return await _act(pool, code, who, version, work)


async def _take(
    conn: asyncpg.Connection,
    row: asyncpg.Record,
    who: Who,
    at: datetime,
    mail: Acknowledgement | None = None,
) -> int:
    """``who`` holds the request from ``at``: the row, request.assigned, the history line
    (« Prise en compte ») and the audit line; the row's new version."""
    event = RequestAssignedV1(
        **_common(row, who),
        assignee_id=who.identity.staff_id,
        assigned_at=at,
        acknowledgement=mail,
    )
    new = await repository.update(
        conn,
        row["request_id"],
        {"assignee_id": who.identity.staff_id, "assignee_login": who.name},
    )
    details = {"acknowledgement": mail.model_dump()} if mail else None
    await _record(conn, row, who, Event.ASSIGNED.kind, at, event=event, details=details)
    return new


async def reassign(
    pool: asyncpg.Pool,
    code: str,
    who: Who,
    *,
    assignee_id: str,
    assignee_login: str | None,
    version: int | None,
) -> dict:
    """Hand the request to another agent of the same body. Treatment knows no accounts: the
    gateway, which does, says the agent is a focal point of this body, and names them by id and
    login. Without the login, 422: the id kept in its place would be shown wherever the holder's
    login is (« pris en compte par », the ministry API)."""
    assignee_id = required("assignee_id", assignee_id, "Choisissez l'agent.")
    assignee_login = required("assignee_login", assignee_login, "Indiquez le login de l'agent.")

    async def work(conn, row, at):
        status = judge(row, Event.REASSIGNED)
        if assignee_id == row["assignee_id"]:
            raise FieldErrors(
                [field_error("assignee_id", "Cet agent a déjà la requête.", "unchanged")]
            )
        event = RequestReassignedV1(
            **_common(row, who),
            assignee_id=assignee_id,
            previous_assignee_id=row["assignee_id"],
            reassigned_at=at,
            # A ministry's system has no account: the agent's email names its key (its label).
            actor_name=who.name if is_api_key(who.identity.staff_id) else None,
        )
        new = await repository.update(
            conn,
            row["request_id"],
            {"assignee_id": assignee_id, "assignee_login": assignee_login},
        )
        details = {"assignee_id": assignee_id, "previous_assignee_id": row["assignee_id"]}
        await _record(conn, row, who, Event.REASSIGNED.kind, at, event=event, details=details)
        return _done(row, Event.REASSIGNED.kind, status, new, at)

    return await _act(pool, code, who, version, work)


async def put_on_hold(
    pool: asyncpg.Pool, code: str, who: Who, *, reason: str, version: int | None
) -> dict:
    """Mise en attente, with the reason (its deadline is paused from now)."""
    reason = required("reason", reason, "Écrivez le motif de la mise en attente.")

    async def work(conn, row, at):
        status = judge(row, Event.PUT_ON_HOLD)
        event = RequestPutOnHoldV1(**_common(row, who), reason=reason, held_at=at)
        new = await repository.update(
            conn, row["request_id"], {"status": status.value, "on_hold_since": at}
        )
        await _record(conn, row, who, Event.PUT_ON_HOLD.kind, at, event=event, message=reason)
        return _done(row, Event.PUT_ON_HOLD.kind, status, new, at)

    return await _act(pool, code, who, version, work)


async def resume(pool: asyncpg.Pool, code: str, who: Who, *, version: int | None) -> dict:
    async def work(conn, row, at):
        status = judge(row, Event.RESUMED)
        event = RequestResumedV1(**_common(row, who), resumed_at=at)
        new = await repository.update(
            conn, row["request_id"], {"status": status.value, "on_hold_since": None}
        )
        # The clock stopped while on hold: the working days it took are given back.
        calendar = await load_calendar(conn)
        held = deadlines.held(calendar, row["on_hold_since"], at)
        await policy.set_answer_due(
            conn, row, held_days=row["held_days"] + held, at=at, calendar=calendar
        )
        details = {"on_hold_since": row["on_hold_since"].isoformat(), "held_days": held}
        await _record(conn, row, who, Event.RESUMED.kind, at, event=event, details=details)
        return _done(row, Event.RESUMED.kind, status, new, at)

    return await _act(pool, code, who, version, work)


async def add_document(
    pool: asyncpg.Pool, code: str, who: Who, *, filename: str, data: bytes
) -> dict:
    """Keep a document for the answer the agent is writing; the answer names it by its id."""
    # Opening a PDF or decoding an image is CPU work: off the event loop, before the transaction
    # (no row is locked while it runs).
    name, inspected = await asyncio.to_thread(checked_document, filename, data)
    content_type, data = inspected.content_type, inspected.data

    async def work(conn: asyncpg.Connection) -> dict[str, Any]:
        row = await repository.by_code(conn, code)
        if row is None or not who.identity.can_see_body(row["body_id"]):
            raise NotFound(code)
        document_id = await repository.add_document(
            conn,
            request_id=row["request_id"],
            filename=name,
            content_type=content_type,
            data=data,
            uploaded_by=who.identity.staff_id,
        )
        return {
            "document_id": str(document_id),
            "filename": name,
            "content_type": content_type,
            "size": len(data),
        }

    return await run_in_transaction(pool, work)


async def _documents(
    conn: asyncpg.Connection, row: asyncpg.Record, document_ids: list[UUID]
) -> list[DocumentRef]:
    if len(set(document_ids)) > MAX_DOCUMENTS:
        raise FieldErrors(
            [field_error("document_ids", f"{MAX_DOCUMENTS} documents au plus.", "too_many")]
        )
    found = await repository.pending_documents(conn, row["request_id"], list(set(document_ids)))
    if len(found) != len(set(document_ids)):
        raise FieldErrors(
            [
                field_error(
                    "document_ids",
                    "Un document n'est plus disponible : joignez-le à nouveau.",
                    "unknown_document",
                )
            ]
        )
    return [
        DocumentRef(
            document_id=d["id"],
            filename=d["filename"],
            content_type=d["content_type"],
            size=d["size"],
        )
        for d in found
    ]


async def _answer(
    pool: asyncpg.Pool,
    code: str,
    who: Who,
    event_kind: Event,
    *,
    message: str,
    document_ids: list[UUID],
    version: int | None,
) -> dict:
    message = required("message", message, "Écrivez la réponse à l'usager.")

    async def work(conn, row, at):
        status = judge(row, event_kind)
        purged_at = await conn.fetchval(
            "SELECT purged_at FROM treatments WHERE request_id = $1", row["request_id"]
        )
        if purged_at is not None:
            raise Refused("purged", no_more_messages(purged_at), current_status=row["status"])
        documents = await _documents(conn, row, document_ids)
        if event_kind == Event.TREATED and row["assignee_id"] is None:
            # Miliê's focal point « traite » a request by answering it (the back-office guide
            # has no step before): whoever answers a request nobody took has taken it. Without
            # this the page said « Pris en compte par : Personne » of an answered request.
            judge(row, Event.ASSIGNED)
            await _take(conn, row, who, at)
        if event_kind == Event.TREATED:
            event: Contract = RequestTreatedV1(
                **_common(row, who), message=message, documents=documents, treated_at=at
            )
            # The citizen's opinion window runs from this answer (« Délais »).
            changes: dict[str, Any] = {
                "status": status.value,
                "treated_at": at,
                "opinion_due": await policy.opinion_due(conn, row, at),
            }
        else:
            event = RequestCitizenAnsweredV1(
                **_common(row, who), message=message, documents=documents, answered_at=at
            )
            changes = {}
        await repository.add_answer(
            conn,
            request_id=row["request_id"],
            kind=event_kind.kind,
            message=message,
            actor_id=who.identity.staff_id,
            actor_login=who.name,
            answered_at=at,
            document_ids=[d.document_id for d in documents],
        )
        new = await repository.update(conn, row["request_id"], changes)
        details = {"documents": [d.model_dump(mode="json") for d in documents]}
        await _record(
            conn, row, who, event_kind.kind, at, event=event, message=message, details=details
        )
        return _done(row, event_kind.kind, status, new, at)

    return await _act(pool, code, who, version, work)


async def answer(
    pool: asyncpg.Pool,
    code: str,
    who: Who,
    *,
    message: str,
    document_ids: Sequence[UUID] = (),
    version: int | None,
) -> dict:
    """The body's answer (« Traité »), with the documents uploaded for it. A request nobody
    had taken in charge is taken by the one answering, in the same transaction (request.assigned
    then request.treated, a history line each)."""
    return await _answer(
        pool,
        code,
        who,
        Event.TREATED,
        message=message,
        document_ids=list(document_ids),
        version=version,
    )


async def answer_again(
    pool: asyncpg.Pool,
    code: str,
    who: Who,
    *,
    message: str,
    document_ids: Sequence[UUID] = (),
    version: int | None,
) -> dict:
    """A further answer to a citizen unsatisfied with the first (« Insatisfaits »): the life
    cycle's table says which closed requests may have one."""
    return await _answer(
        pool,
        code,
        who,
        Event.CITIZEN_ANSWERED,
        message=message,
        document_ids=list(document_ids),
        version=version,
    )


async def tag(pool: asyncpg.Pool, code: str, who: Who, *, message: str) -> dict:
    """« Baliser »: an internal note in the history; nothing sent, no new version (a colleague's
    open form stays good)."""
    message = required("message", message, "Écrivez la note.")

    async def work(conn: asyncpg.Connection) -> dict[str, Any]:
        row = await locked(conn, code, who, None)
        at = datetime.now(UTC)
        await _record(conn, row, who, TAGGED, at, event=None, message=message)
        return _done(row, TAGGED, row["status"], row["version"], at)

    return await run_in_transaction(pool, work)


# -- the citizen's, forwarded by intake --------------------------------------------------------


async def _citizen_row(conn: asyncpg.Connection, request_id: UUID) -> asyncpg.Record:
    row = await repository.lock_by_id(conn, request_id)
    if row is None:
        raise NotFound(str(request_id))
    return row


async def _refuse_if_answered_since(
    conn: asyncpg.Connection, row: asyncpg.Record, at: datetime
) -> None:
    """A reply recorded ``at`` judges the answer the citizen read then, not one the body gave
    after a later reopening. Compared with that reopening's time, not the answer's: both were
    recorded on intake's clock (treatment's may differ by a little)."""
    if row["status"] != Status.TREATED:
        return  # judge() says what the status allows
    reopened_at = await conn.fetchval(
        "SELECT max(reopened_at) FROM reopenings WHERE request_id = $1", row["request_id"]
    )
    if reopened_at is not None and at < reopened_at:
        raise AnsweredSince(row["treated_at"])


async def apply_opinion(
    conn: asyncpg.Connection,
    request_id: UUID,
    opinion: Opinion,
    comment: str | None,
    at: datetime,
    *,
    how: dict[str, str] | None = None,
    reply_id: UUID | None = None,
) -> dict:
    """The citizen's opinion closes the treated request. Refused (:class:`Refused`) on a
    request not treated yet or already closed. Runs in the caller's transaction. ``how``: how
    the reply came (:func:`how_replied`), kept in the history line's details. ``reply_id``: the
    reply's id at intake, given back in request.opinion_given (intake's history links its line
    to the reply by it)."""
    row = await _citizen_row(conn, request_id)
    await _refuse_if_answered_since(conn, row, at)
    status = judge(row, Event.OPINION_GIVEN, opinion=opinion.value)
    comment = (comment or "").strip()[:MESSAGE_MAX] or None
    event = RequestOpinionGivenV1(
        request_id=row["request_id"],
        code=row["code"],
        body_id=row["body_id"],
        opinion=opinion,
        comment=comment,
        given_at=at,
        reply_id=reply_id,
    )
    await repository.add_opinion(conn, row["request_id"], opinion.value, comment, at)
    new = await repository.update(
        conn,
        row["request_id"],
        {"status": status.value, "opinion": opinion.value, "closed_at": at},
    )
    details = {"opinion": opinion.value, **(how or {})}
    await _record(
        conn, row, None, Event.OPINION_GIVEN.kind, at, event=event, message=comment, details=details
    )
    return _done(row, Event.OPINION_GIVEN.kind, status, new, at)


async def apply_reopening(
    conn: asyncpg.Connection,
    request_id: UUID,
    message: str,
    at: datetime,
    *,
    how: dict[str, str] | None = None,
    reply_id: UUID | None = None,
) -> dict:
    """The citizen sends the treated request back (« Retraitement ») with a message. Refused
    on a request not treated yet or closed. Runs in the caller's transaction. ``how`` and
    ``reply_id``: as for :func:`apply_opinion` (request.reopened)."""
    message = required("message", message, "Écrivez pourquoi vous relancez la requête.")
    row = await _citizen_row(conn, request_id)
    await _refuse_if_answered_since(conn, row, at)
    status = judge(row, Event.REOPENED)
    event = RequestReopenedV1(
        request_id=row["request_id"],
        code=row["code"],
        body_id=row["body_id"],
        message=message,
        reopened_at=at,
        reply_id=reply_id,
    )
    await repository.add_reopening(conn, row["request_id"], message, at)
    new = await repository.update(conn, row["request_id"], {"status": status.value})
    await _record(
        conn, row, None, Event.REOPENED.kind, at, event=event, message=message, details=how
    )
    return _done(row, Event.REOPENED.kind, status, new, at)
