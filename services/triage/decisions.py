"""The analysts' decisions: validate, send back for reformulation, reject, re-index, clarify.

Each is one transaction: the queue row is locked (``FOR UPDATE``), its status and version
checked, then the new state, the history line, the event (outbox) and the audit line are
written together. Two analysts deciding at once: the second waits for the lock, finds the
request decided, and is told by whom — nothing is decided twice.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import asyncpg

from services.triage import domain, repository
from services.triage.catalogue import Index
from services.triage.domain import Kind, Status
from shared import audit, french, outbox
from shared.audit import Who
from shared.db import run_in_transaction
from shared.messages import (
    AttachmentRef,
    Contact,
    Contract,
    Nature,
    RequestClarificationSentV1,
    RequestReformulationRequestedV1,
    RequestReindexedV1,
    RequestRejectedV1,
    RequestValidatedV1,
)
from shared.purge import no_more_messages


class NotFound(Exception):
    pass


class Refused(Exception):
    """The decision cannot be taken on the request as it stands now (409)."""

    def __init__(self, error: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.error = error
        self.message = message
        self.extra = extra


class Unchanged(Exception):
    """A re-index to the body and theme the request already has (422 on ``body_id``)."""


def _already_decided(row: asyncpg.Record) -> Refused:
    label = domain.STATUS_LABELS.get(Status(row["status"]), row["status"]).lower()
    by = row["decided_by"] or "un autre analyste"
    when = f" le {french.moment(row['decided_at'])}" if row["decided_at"] else ""
    return Refused(
        "already_decided",
        f"Cette requête a déjà été traitée par {by}{when} ({label}).",
        current_status=row["status"],
        decided_by=row["decided_by"],
        decided_at=row["decided_at"].isoformat() if row["decided_at"] else None,
    )


async def _stale(conn: asyncpg.Connection, row: asyncpg.Record) -> Refused:
    line = await repository.last_line(
        conn, row["request_id"], tuple(k.value for k in Kind if k != Kind.SUBMITTED)
    )
    if line is not None and line["actor_login"]:
        what = domain.KIND_LABELS.get(Kind(line["kind"]), line["kind"]).lower()
        said = (
            f"Cette requête a été modifiée entre-temps par {line['actor_login']} le "
            f"{french.moment(line['occurred_at'])} ({what}) : relisez-la avant de décider."
        )
        # Who changed it, for the back office to show by name (issue 12).
        return Refused("modified", said, version=row["version"], modified_by=line["actor_login"])
    else:
        said = "Cette requête a été modifiée entre-temps : relisez-la avant de décider."
    return Refused("modified", said, version=row["version"])


def _event(kind: Kind, row: asyncpg.Record, who: Who, at: datetime, message: str | None):
    common = {"request_id": row["request_id"], "code": row["code"], "actor": who.actor}
    if kind == Kind.VALIDATED:
        nature = Nature(row["nature"])
        return RequestValidatedV1(
            **common,
            nature=nature,
            needs_treatment=nature.needs_treatment,
            body_id=row["body_id"],
            body_name=row["body_name"],
            theme_id=row["theme_id"],
            theme_label=row["theme_label"],
            place_label=row["place_label"],
            message=row["message"],
            contact=Contact.model_validate(json.loads(row["contact"])),
            attachments=[AttachmentRef.model_validate(a) for a in json.loads(row["attachments"])],
            submitted_at=row["submitted_at"],
            analyst_message=message,
            decided_at=at,
        )
    if kind == Kind.REFORMULATION_REQUESTED:
        return RequestReformulationRequestedV1(**common, analyst_message=message, decided_at=at)
    if kind == Kind.REJECTED:
        return RequestRejectedV1(**common, reason=message, decided_at=at)
    if kind == Kind.CLARIFICATION_SENT:
        return RequestClarificationSentV1(**common, message=message, sent_at=at)
    raise ValueError(kind)


async def _write(
    conn: asyncpg.Connection,
    row: asyncpg.Record,
    who: Who,
    kind: Kind,
    event: Contract,
    at: datetime,
    *,
    message: str | None,
    details: dict[str, Any],
) -> None:
    message_id = await outbox.add(conn, event)
    await repository.add_history(
        conn,
        request_id=row["request_id"],
        occurred_at=at,
        kind=kind,
        message=message,
        details=details,
        message_id=message_id,
        **who.signature(),
    )
    await audit.write(
        conn,
        action=kind.value,
        outcome="done",
        address=who.address,
        request_code=row["code"],
        detail=domain.KIND_LABELS[kind],
        **who.signature(),
    )


async def _locked(conn: asyncpg.Connection, code: str, version: int | None) -> asyncpg.Record:
    row = await repository.lock_by_code(conn, code)
    if row is None:
        raise NotFound(code)
    if version is not None and version != row["version"] and domain.may_decide(row["status"]):
        raise await _stale(conn, row)
    return row


async def decide(
    pool: asyncpg.Pool,
    code: str,
    kind: Kind,
    who: Who,
    *,
    message: str | None,
    version: int | None = None,
) -> dict[str, Any]:
    """Validate, send back or reject (``kind``), or send a clarification; the new state.

    Raises NotFound, or Refused (already decided, changed since ``version``, not allowed)."""

    async def work(conn: asyncpg.Connection) -> dict[str, Any]:
        row = await _locked(conn, code, version)
        if kind == Kind.CLARIFICATION_SENT:
            if not domain.may_clarify(row["status"], row["body_status"], row["opinion"]):
                raise Refused(
                    "not_allowed",
                    "Un message d'éclaircissement ne s'envoie qu'à un usager qui s'est dit "
                    "« Non satisfait » ou « Partiellement satisfait » de la réponse de "
                    "l'organisme.",
                    current_status=row["status"],
                )
            purged_at = await conn.fetchval(
                "SELECT purged_at FROM queue_items WHERE request_id = $1", row["request_id"]
            )
            if purged_at is not None:
                raise Refused("purged", no_more_messages(purged_at), current_status=row["status"])
        elif not domain.may_decide(row["status"]):
            raise _already_decided(row)
        at = datetime.now(UTC)
        event = _event(kind, row, who, at, message)
        details: dict[str, Any] = {}
        if kind == Kind.VALIDATED:
            details = {
                "needs_treatment": domain.needs_treatment(row["nature"]),
                "body_name": row["body_name"],
            }
        await _write(conn, row, who, kind, event, at, message=message, details=details)
        after = domain.status_after(kind, row["nature"])
        if after is not None:
            await repository.set_decided(conn, row["request_id"], after.value, at, who.name)
        return {
            "code": code,
            "decision": kind.value,
            "status": (after or Status(row["status"])).value,
            "at": at.isoformat(),
        }

    return await run_in_transaction(pool, work)


async def reindex(
    pool: asyncpg.Pool,
    code: str,
    index: Index,
    who: Who,
    *,
    message: str | None,
    version: int | None = None,
) -> dict[str, Any]:
    """Index the waiting request under another body or theme (checked in the catalogue)."""

    async def work(conn: asyncpg.Connection) -> dict[str, Any]:
        row = await _locked(conn, code, version)
        if not domain.may_decide(row["status"]):
            raise _already_decided(row)
        if (row["body_id"], row["theme_id"]) == (index.body_id, index.theme_id):
            raise Unchanged()
        at = datetime.now(UTC)
        event = RequestReindexedV1(
            request_id=row["request_id"],
            code=code,
            body_id=index.body_id,
            body_name=index.body_name,
            theme_id=index.theme_id,
            theme_label=index.theme_label,
            previous_body_id=row["body_id"],
            previous_theme_id=row["theme_id"],
            actor=who.actor,
            decided_at=at,
        )
        details = {
            "body_id": index.body_id,
            "body_name": index.body_name,
            "theme_id": index.theme_id,
            "theme_label": index.theme_label,
            "previous_body_id": row["body_id"],
            "previous_body_name": row["body_name"],
            "previous_theme_id": row["theme_id"],
            "previous_theme_label": row["theme_label"],
        }
        await _write(conn, row, who, Kind.REINDEXED, event, at, message=message, details=details)
        await repository.set_index(
            conn,
            row["request_id"],
            body_id=index.body_id,
            body_name=index.body_name,
            theme_id=index.theme_id,
            theme_label=index.theme_label,
        )
        return {"code": code, "decision": Kind.REINDEXED.value, "status": row["status"]}

    return await run_in_transaction(pool, work)
