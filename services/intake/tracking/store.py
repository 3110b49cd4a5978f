"""The citizen's tracking view in intake's tables: the look-up by code + email or code + mobile
number (:class:`Who`), the rewrite after a reformulation request, and the writes the event
handlers share.

A wrong code and a wrong email or number cost the same work: one query by code, then one
constant-time comparison (against a stand-in when the code is unknown), and the same answer.
"""

from __future__ import annotations

import hmac
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import asyncpg

from services.intake import attachments, purge
from services.intake.domain import MESSAGE_MAX, email_key
from services.intake.drafts import store as drafts
from services.intake.tracking import view as tracking_view
from shared import attachments as files
from shared import deadline_copy, lifecycle, outbox
from shared.lifecycle import Event, Status
from shared.messages import (
    CallCentreOperator,
    Channel,
    CitizenDocumentsAddedV1,
    CitizenOpinionRecordedV2,
    CitizenReopeningRecordedV2,
    Opinion,
    RequestResubmittedV1,
)
from shared.web import field_error

# Compared against when the code is unknown, so both failures cost the same work.
_NO_EMAIL = "\x00" * 32

_TRACKING_ROW = """
    SELECT r.id, r.code, r.nature, r.status, r.submitted_at, r.message,
           b.name AS body_name, t.label AS theme_label, pt.label AS theme_parent,
           c.email_key, c.phone AS contact_phone, r.email_hash, r.phone_hash, r.purged_at,
           rt.body_name AS tracked_body_name, rt.theme_label AS tracked_theme_label,
           rt.analyst_message, rt.rejection_reason, rt.analyst_answer, rt.ministry_message,
           rt.treated_at, rt.citizen_opinion, rt.ministry_documents, rt.answer_due,
           r.body_id, cr.kind AS reply_kind, cr.opinion AS reply_opinion,
           cr.recorded_at AS reply_recorded_at, cr.channel AS reply_channel,
           cr.staff_id AS reply_staff_id
    FROM requests r
    JOIN bodies b ON b.id = r.body_id
    LEFT JOIN themes t ON t.id = r.theme_id
    LEFT JOIN themes pt ON pt.id = t.parent_id
    LEFT JOIN contacts c ON c.request_id = r.id
    LEFT JOIN request_tracking rt ON rt.request_id = r.id
    -- The citizen's reply (opinion or reopening) to the current answer, if any.
    LEFT JOIN citizen_replies cr ON cr.request_id = r.id AND cr.answer_at = rt.treated_at
    WHERE r.code = $1"""

_HISTORY = """
    SELECT occurred_at, event_type, status, message, detail, documents, reply_id
    FROM request_history WHERE request_id = $1 ORDER BY occurred_at, id"""


def aware(moment: datetime) -> datetime:
    """``moment`` with a time zone; a naive one is read as UTC (Côte d'Ivoire's time)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Who:
    """The citizen asking: by the email address they gave, or by their mobile number."""

    kind: str  # "email" or "phone"
    value: str  # the normalized address, or the number in E.164

    @classmethod
    def by_email(cls, email: str) -> Who:
        return cls("email", email)

    @classmethod
    def by_phone(cls, e164: str) -> Who:
        return cls("phone", e164)

    @property
    def key(self) -> str:
        """The form compared with the contact's: the lower-cased address, or E.164 (as stored)."""
        return email_key(self.value) if self.kind == "email" else self.value


def _matches(row: asyncpg.Record | None, who: Who, purge_key: bytes | None = None) -> bool:
    """Whether ``who`` is the request's citizen. A purged request kept only an HMAC of the
    email and one of the mobile number (services/intake/purge.py), compared when ``purge_key``
    is given (the look-up); the citizen's actions (rewrite, reply) are closed to a purged
    request anyway."""
    if row is not None and row["purged_at"] is not None and purge_key is not None:
        if who.kind == "email":
            kept, given = row["email_hash"], purge.email_hash(purge_key, who.value)
        else:
            kept, given = row["phone_hash"], purge.phone_hash(purge_key, who.key)
        return hmac.compare_digest((kept or _NO_EMAIL).encode(), given.encode())
    kept = None
    if row is not None:
        kept = row["email_key"] if who.kind == "email" else row["contact_phone"]
    expected = kept or _NO_EMAIL
    return hmac.compare_digest(expected.encode(), who.key.encode()) and row is not None


async def _view(
    conn: asyncpg.Connection, row: asyncpg.Record, *, for_operator: bool = False
) -> dict[str, Any]:
    """The tracking view; ``for_operator``: as the call centre's operator reads it, about the
    caller (``tracking_view.build``), naming who took each reply (:func:`_name_operators`)."""
    policy, calendar = await deadline_copy.load(conn)
    history = await conn.fetch(_HISTORY, row["id"])
    files = await attachments.of_request(conn, row["id"])
    view = tracking_view.build(row, history, policy, calendar, files, for_operator=for_operator)
    if for_operator:
        await _name_operators(conn, row, history, view)
    return view


async def find(
    conn: asyncpg.Connection,
    code: str,
    who: Who,
    *,
    purge_key: bytes | None = None,
    for_operator: bool = False,
) -> dict[str, Any] | None:
    """The tracking view of the request, or None when the code and the email or number do not
    match; ``purge_key``: the key of the purged requests' email HMAC (services/intake/purge.py);
    ``for_operator``: for a call on a call-centre operator's behalf, the view names who took
    each reply by phone (:func:`_name_operators`) — never for the citizen's own call."""
    row = await conn.fetchrow(_TRACKING_ROW, code)
    if not _matches(row, who, purge_key):
        return None
    return await _view(conn, row, for_operator=for_operator)


# The history's event of each reply, once treatment applied it.
_REPLY_EVENTS = {"opinion": Event.OPINION_GIVEN.value, "reopening": Event.REOPENED.value}


async def _name_operators(
    conn: asyncpg.Connection,
    row: asyncpg.Record,
    history: list[asyncpg.Record],
    view: dict[str, Any],
) -> None:
    """``view`` as the call centre's operator reads it (« Suivi d'un appel »): the history line
    of each reply taken by phone gets ``operator_id``, the staff id of the operator who took it,
    and so does the reply still waiting for treatment (``pending_reply``; None when the citizen
    gave it themself); the gateway names him. Only for a call on an operator's behalf: the
    citizen's page and the citizens' API never name him (nor does the 202 of a reply, whose
    answer is the API's documented one).

    A line is the reply's by the ``reply_id`` treatment gave back with its event. A line from
    before the id travelled has none: it is matched as it always was, by the reply's kind and
    moment (treatment applied a reply with the moment intake recorded), among the replies no
    line names by id."""
    if view["pending_reply"] is not None:
        by_phone = row["reply_channel"] == Channel.PHONE
        view["pending_reply"]["operator_id"] = row["reply_staff_id"] if by_phone else None
    replies = await conn.fetch(
        """SELECT id, kind, recorded_at, staff_id FROM citizen_replies
           WHERE request_id = $1 AND channel = $2 AND staff_id IS NOT NULL""",
        row["id"],
        Channel.PHONE.value,
    )
    by_id = {r["id"]: r["staff_id"] for r in replies}
    linked = {h["reply_id"] for h in history if h["reply_id"] is not None}
    by_moment = {
        (_REPLY_EVENTS[r["kind"]], aware(r["recorded_at"])): r["staff_id"]
        for r in replies
        if r["id"] not in linked
    }
    # build() made one line of each history row, in order.
    for kept, line in zip(history, view["history"], strict=True):
        if kept["reply_id"] is not None:
            staff_id = by_id.get(kept["reply_id"])
        else:
            staff_id = by_moment.get((kept["event_type"], aware(kept["occurred_at"])))
        if staff_id:
            line["operator_id"] = staff_id


# -- rewriting after a reformulation request -------------------------------------------------


@dataclass(frozen=True)
class RewriteOutcome:
    """``kind``: ``rewritten``, ``not_found`` (code/email do not match), ``not_allowed`` (the
    request does not wait for a reformulation) or ``invalid`` (the new message is refused)."""

    kind: str
    view: dict[str, Any] | None = None
    errors: list[dict[str, str]] = field(default_factory=list)


DOCUMENTS_LOST = (
    "Les documents joints n'ont pas été gardés : votre saisie a expiré. Joignez-les à nouveau."
)


def check_message(message: str) -> list[dict[str, str]]:
    text = message.strip()
    if not text:
        return [field_error("message", "Saisissez votre message.", "missing")]
    if len(text) > MESSAGE_MAX:
        return [
            field_error(
                "message",
                f"Votre message dépasse {MESSAGE_MAX} caractères : raccourcissez-le.",
                "string_too_long",
            )
        ]
    return []


async def rewrite(
    conn: asyncpg.Connection,
    code: str,
    who: Who,
    message: str,
    draft: tuple[uuid.UUID, str] | None = None,
) -> RewriteOutcome:
    """Store the citizen's new message (call inside a transaction): the request returns to the
    analysts (status submitted), a history line is written and ``request.resubmitted`` goes to
    the outbox, all or nothing.

    ``draft`` (its id, its owner): the documents added with the rewrite, kept there by the
    submission form's checks (``drafts.store.add_file``); they become the request's attachments
    in this transaction, and ``citizen.documents_added`` tells triage."""
    row = await _locked_tracking_row(conn, code)
    if not _matches(row, who):
        return RewriteOutcome("not_found")
    if not lifecycle.may_rewrite(row["status"]):
        return RewriteOutcome("not_allowed", await _view(conn, row))
    errors = check_message(message)
    if draft is not None:
        held = await drafts.locked(conn, *draft)
        if held is None or held["code"]:  # expired (purged with its files), or submitted
            errors.append(field_error("attachments", DOCUMENTS_LOST, files.LOST))
    if errors:
        return RewriteOutcome("invalid", await _view(conn, row), errors)
    text = message.strip()
    back = lifecycle.next_status(row["status"], Event.RESUBMITTED)  # to the analysts
    now = datetime.now(UTC)
    message_id = uuid.uuid4()
    await conn.execute(
        "UPDATE requests SET message = $2, status = $3, updated_at = $4 WHERE id = $1",
        row["id"],
        text,
        back.value,
        now,
    )
    await upsert_tracking(conn, row["id"], status_at=now)
    added = []
    if draft is not None:
        added = await attachments.adopt_draft_files(conn, draft[0], row["id"])
        await conn.execute("DELETE FROM drafts WHERE id = $1", draft[0])
    await add_line(
        conn,
        row["id"],
        occurred_at=now,
        event_type=Event.RESUBMITTED,
        status=back,
        message=tracking_view.resubmitted_sentence([a.filename for a in added]),
        event_key=str(message_id),
    )
    await outbox.add(
        conn,
        RequestResubmittedV1(
            request_id=row["id"], code=row["code"].strip(), message=text, resubmitted_at=now
        ),
        message_id=message_id,
    )
    if added:
        await outbox.add(
            conn,
            CitizenDocumentsAddedV1(
                request_id=row["id"], code=row["code"].strip(), attachments=added, added_at=now
            ),
        )
    fresh = await conn.fetchrow(_TRACKING_ROW, row["code"])
    return RewriteOutcome("rewritten", await _view(conn, fresh))


# -- the citizen's reply to the answer: an opinion or a reopening ----------------------------


@dataclass(frozen=True)
class ReplyOutcome:
    """``kind``: ``recorded``, ``not_found`` (code/email do not match), ``refused`` (the request's
    state does not allow it: ``error`` says why, ``message`` in French) or ``invalid``
    (``errors`` by field). ``view`` is the tracking view after (or without) the reply."""

    kind: str
    view: dict[str, Any] | None = None
    error: str = ""
    message: str = ""
    errors: list[dict[str, str]] = field(default_factory=list)


COMMENT_MAX = 5000


# A reply's refusals and field errors, each in the citizen's words (« vous ») and, for a reply a
# call centre's operator takes by phone (« Suivi d'un appel »), in his words about the caller.
_REPLY_WORDS = {
    "opinion_missing": (
        "Choisissez votre avis : Satisfait, Partiellement satisfait ou Non satisfait.",
        "Choisissez l'avis de l'appelant : Satisfait, Partiellement satisfait ou Non satisfait.",
    ),
    "opinion_enum": (
        "Cet avis n'existe pas : choisissez Satisfait, Partiellement satisfait ou Non satisfait.",
        "Cet avis n'existe pas : choisissez Satisfait, Partiellement satisfait ou Non satisfait.",
    ),
    "comment_too_long": (
        f"Votre commentaire dépasse {COMMENT_MAX} caractères : raccourcissez-le.",
        f"Le commentaire de l'appelant dépasse {COMMENT_MAX} caractères : raccourcissez-le.",
    ),
    "message_missing": (
        "Dites pourquoi vous relancez la requête (votre message).",
        "Dites pourquoi l'appelant relance la requête (son message).",
    ),
    "message_too_long": (
        f"Votre message dépasse {MESSAGE_MAX} caractères : raccourcissez-le.",
        f"Le message de l'appelant dépasse {MESSAGE_MAX} caractères : raccourcissez-le.",
    ),
    "already_given": (
        "Vous avez déjà donné votre avis sur la réponse du ministère.",
        "L'appelant a déjà donné son avis sur la réponse du ministère.",
    ),
    "already_reopened": (
        "Vous avez déjà relancé la requête : elle attend une nouvelle réponse du ministère.",
        "L'appelant a déjà relancé la requête : elle attend une nouvelle réponse du ministère.",
    ),
    "closed": (
        "Cette requête est clôturée : elle n'attend plus votre avis.",
        "Cette requête est clôturée : elle n'attend plus l'avis de l'appelant.",
    ),
    "reopened": (
        "Vous avez relancé la requête : elle attend une nouvelle réponse du ministère.",
        "L'appelant a relancé la requête : elle attend une nouvelle réponse du ministère.",
    ),
    "not_answered": (
        "Le ministère n'a pas encore répondu à cette requête : vous pourrez donner votre avis "
        "ou la relancer après sa réponse.",
        "Le ministère n'a pas encore répondu à cette requête : l'appelant pourra donner son "
        "avis ou la relancer après sa réponse.",
    ),
}


def check_opinion(
    opinion: str, comment: str | None, for_operator: bool = False
) -> list[dict[str, str]]:
    """The opinion's field errors; ``for_operator``: in the call centre's words."""
    words = {key: said[for_operator] for key, said in _REPLY_WORDS.items()}
    errors = []
    if not opinion:
        errors.append(field_error("opinion", words["opinion_missing"], "missing"))
    elif opinion not in {o.value for o in Opinion}:
        errors.append(field_error("opinion", words["opinion_enum"], "enum"))
    if comment is not None and len(comment.strip()) > COMMENT_MAX:
        errors.append(field_error("comment", words["comment_too_long"], "string_too_long"))
    return errors


def check_reopening(message: str, for_operator: bool = False) -> list[dict[str, str]]:
    """The reopening's field errors; ``for_operator``: as :func:`check_opinion`."""
    text = message.strip()
    if not text:
        return [field_error("message", _REPLY_WORDS["message_missing"][for_operator], "missing")]
    if len(text) > MESSAGE_MAX:
        said = _REPLY_WORDS["message_too_long"][for_operator]
        return [field_error("message", said, "string_too_long")]
    return []


def _refusal(
    row: asyncpg.Record, event: Event, for_operator: bool = False
) -> tuple[str, str] | None:
    """Why the citizen may not reply now (machine word, French sentence), or None;
    ``for_operator``: the sentence about the caller."""

    def refused(error: str, words: str | None = None) -> tuple[str, str]:
        return error, _REPLY_WORDS[words or error][for_operator]

    status = row["status"]
    if row["reply_kind"] == "opinion" or (
        status == Status.CLOSED and row["citizen_opinion"] is not None
    ):
        return refused("already_given")
    if row["reply_kind"] == "reopening":
        return refused("already_reopened")
    if tracking_view.may_reply(status, event) and row["treated_at"] is not None:
        return None
    if lifecycle.is_closed(status):
        return refused("closed")
    if status == Status.REOPENED:
        return refused("already_reopened", "reopened")
    return refused("not_answered")


@dataclass(frozen=True)
class ReplyBy:
    """How a reply came: the signed call's channel, and the call centre's operator who gave it
    on the caller's behalf (None: the citizen themself)."""

    channel: str = "web"
    staff_id: str | None = None
    login: str | None = None  # the operator's, as the gateway signed it

    def contract_fields(self) -> dict:
        """The v2 replies' ``channel`` and ``operator`` (citizen.*_recorded.v2)."""
        operator = None
        if self.staff_id is not None:
            operator = CallCentreOperator(staff_id=self.staff_id, login=self.login)
        return {"channel": Channel(self.channel), "operator": operator}


async def reply(
    conn: asyncpg.Connection,
    code: str,
    who: Who,
    *,
    by: ReplyBy = ReplyBy(),
    opinion: str | None = None,
    comment: str | None = None,
    message: str | None = None,
) -> ReplyOutcome:
    """Record the citizen's opinion (``opinion``, ``comment``) or reopening (``message``) of the
    current answer (call inside a transaction): the reply row and its event in the outbox, all
    or nothing. Treatment judges it and publishes request.opinion_given / request.reopened,
    which the tracking view then shows; until then the view says the reply was recorded."""
    reopening = message is not None
    event = Event.REOPENED if reopening else Event.OPINION_GIVEN
    row = await _locked_tracking_row(conn, code)
    if not _matches(row, who):
        return ReplyOutcome("not_found")
    # A refusal's view, to an operator's call, names who took each reply (:func:`find`); the
    # view of a reply recorded is the citizens' API's documented answer, naming nobody.
    for_operator = by.staff_id is not None
    refusal = _refusal(row, event, for_operator)
    if refusal is not None:
        return ReplyOutcome("refused", await _view(conn, row, for_operator=for_operator), *refusal)
    errors = (
        check_reopening(message or "", for_operator)
        if reopening
        else check_opinion(opinion or "", comment, for_operator)
    )
    if errors:
        view = await _view(conn, row, for_operator=for_operator)
        return ReplyOutcome("invalid", view, errors=errors)
    now = datetime.now(UTC)
    message_id = uuid.uuid4()
    said = (comment or "").strip() or None
    text = (message or "").strip() or None
    await conn.execute(
        """INSERT INTO citizen_replies (id, request_id, kind, opinion, comment, message,
                                        answer_at, recorded_at, channel, staff_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
        message_id,
        row["id"],
        "reopening" if reopening else "opinion",
        None if reopening else opinion,
        None if reopening else said,
        text,
        row["treated_at"],
        now,
        by.channel,
        by.staff_id,
    )
    ids = {"request_id": row["id"], "code": row["code"].strip(), "body_id": row["body_id"]}
    ids |= by.contract_fields()  # treatment's history says a reply taken by phone was
    # The reply's own id: treatment gives it back with request.opinion_given / request.reopened,
    # and the history line keeps it (the link from the line to the reply and who took it).
    ids["reply_id"] = message_id
    recorded: CitizenOpinionRecordedV2 | CitizenReopeningRecordedV2
    if reopening:
        recorded = CitizenReopeningRecordedV2(**ids, message=text, recorded_at=now)
    else:
        recorded = CitizenOpinionRecordedV2(
            **ids, opinion=Opinion(opinion), comment=said, recorded_at=now
        )
    await outbox.add(conn, recorded, message_id=message_id)
    fresh = await conn.fetchrow(_TRACKING_ROW, row["code"])
    return ReplyOutcome("recorded", await _view(conn, fresh))


# -- writes shared by the event handlers -----------------------------------------------------


async def _locked_tracking_row(conn: asyncpg.Connection, code: str) -> asyncpg.Record | None:
    """:data:`_TRACKING_ROW`, the request locked for this transaction: locked first, then read
    (see :func:`lock_request`), so that an answer another copy of intake has just applied is
    the one the citizen's reply is judged against."""
    await conn.execute("SELECT FROM requests WHERE code = $1 FOR UPDATE", code)
    return await conn.fetchrow(_TRACKING_ROW, code)


async def lock_request(conn: asyncpg.Connection, request_id: uuid.UUID) -> asyncpg.Record | None:
    """The request's status and the dates that order the events, locked for this transaction
    (several copies of intake may apply events of one request at once)."""
    # Locked first, read after: a statement that waited for the lock re-reads the locked row
    # only, and its join would give request_tracking as it was before the other copy's commit
    # (the validation then undid the answer that followed it).
    if not await conn.fetchval("SELECT true FROM requests WHERE id = $1 FOR UPDATE", request_id):
        return None
    return await conn.fetchrow(
        """SELECT r.id, r.status, COALESCE(rt.status_at, r.submitted_at) AS status_at,
                  rt.indexed_at, rt.analyst_answer_at, rt.treated_at, r.purged_at
           FROM requests r LEFT JOIN request_tracking rt ON rt.request_id = r.id
           WHERE r.id = $1""",
        request_id,
    )


# The request_tracking columns a handler may set (names are never taken from input).
_TRACKING_COLUMNS = frozenset(
    {
        "body_name",
        "theme_label",
        "indexed_at",
        "analyst_message",
        "rejection_reason",
        "analyst_answer",
        "analyst_answer_at",
        "ministry_message",
        "treated_at",
        "citizen_opinion",
        "ministry_documents",
    }
)


async def upsert_tracking(
    conn: asyncpg.Connection, request_id: uuid.UUID, *, status_at: datetime, **values: Any
) -> None:
    unknown = set(values) - _TRACKING_COLUMNS
    if unknown:
        raise ValueError(f"not a tracking column: {unknown}")
    names = ["status_at", *values]
    params = [status_at, *values.values()]
    placeholders = ", ".join(f"${i}" for i in range(2, len(names) + 2))
    updates = ", ".join(f"{n} = EXCLUDED.{n}" for n in names)
    await conn.execute(
        f"""INSERT INTO request_tracking (request_id, {", ".join(names)})
            VALUES ($1, {placeholders})
            ON CONFLICT (request_id) DO UPDATE SET {updates}""",  # noqa: S608 - fixed names
        request_id,
        *params,
    )


async def set_answer_due(
    conn: asyncpg.Connection, request_id: uuid.UUID, answer_due: date, set_at: datetime
) -> bool:
    """The body's answer deadline, unless a newer one is stored; False when the request is
    unknown or the stored one is newer."""
    done = await conn.fetchval(
        """INSERT INTO request_tracking (request_id, status_at, answer_due, answer_due_at)
           SELECT id, submitted_at, $2, $3 FROM requests WHERE id = $1
           ON CONFLICT (request_id) DO UPDATE
           SET answer_due = EXCLUDED.answer_due, answer_due_at = EXCLUDED.answer_due_at
           WHERE request_tracking.answer_due_at IS NULL
              OR request_tracking.answer_due_at <= EXCLUDED.answer_due_at
           RETURNING true""",
        request_id,
        answer_due,
        set_at,
    )
    return bool(done)


async def set_status(
    conn: asyncpg.Connection, request_id: uuid.UUID, status: Status, at: datetime, **values: Any
) -> None:
    # closed_at: when the purge's delay starts (services/intake/purge.py).
    await conn.execute(
        "UPDATE requests SET status = $2, updated_at = now(), closed_at = $3 WHERE id = $1",
        request_id,
        status.value,
        at if lifecycle.is_closed(status) else None,
    )
    await upsert_tracking(conn, request_id, status_at=at, **values)


async def add_line(
    conn: asyncpg.Connection,
    request_id: uuid.UUID,
    *,
    occurred_at: datetime,
    event_type: str,
    status: str,
    message: str,
    detail: str | None = None,
    documents: list[dict[str, Any]] | None = None,
    event_key: str,
    reply_id: uuid.UUID | None = None,
) -> bool:
    """Append a history line once per ``event_key``; False when it was there already.
    ``documents``: the references of the documents an answer carries; ``reply_id``: the
    citizen's reply the line tells of (its citizen_replies row), as treatment's event said."""
    inserted = await conn.fetchval(
        """INSERT INTO request_history (request_id, occurred_at, event_type, status, message,
                                        detail, event_key, documents, reply_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9)
           ON CONFLICT (event_key) DO NOTHING RETURNING true""",
        request_id,
        occurred_at,
        event_type,
        str(status),
        message,
        detail,
        event_key,
        json.dumps(documents or []),
        reply_id,
    )
    return bool(inserted)
