"""Accepting a request: checks against the catalogue, then one transaction that stores the
request, its contact, its files (moved from the citizen's draft), its first history line and
``request.submitted`` in the outbox. The code is answered only after that transaction committed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from services.intake import attachments
from services.intake import catalogue_repository as cat
from services.intake import repository as repo
from services.intake.domain import STATUS_LABELS, Status, SubmissionIn, email_key
from shared import outbox
from shared.codes import new_code
from shared.messages import Contact, RequestSubmittedV1


@dataclass(frozen=True)
class Accepted:
    request_id: uuid.UUID
    code: str
    submitted_at: datetime
    replayed: bool = False


class Refused(Exception):
    """The submission names something that does not exist, or misses a required field."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("submission refused")
        self.errors = errors


def _error(field: str, message: str, code: str = "value_error") -> dict[str, str]:
    return {"field": field, "code": code, "message": message}


@dataclass(frozen=True)
class Checked:
    """The catalogue rows a valid submission names."""

    body: asyncpg.Record
    theme: asyncpg.Record | None
    place: asyncpg.Record | None


async def check(conn: asyncpg.Connection, sub: SubmissionIn) -> Checked:
    """The catalogue rows ``sub`` names; raises :class:`Refused` with every field error."""
    errors = [
        _error(f, "Ce champ est obligatoire.", "missing") for f in sub.missing_contact_fields()
    ]
    if not sub.terms_accepted:
        errors.append(_error("terms_accepted", "Vous devez accepter les conditions d'utilisation."))
    body = await repo.body(conn, sub.body_id)
    if body is None:
        errors.append(_error("body_id", "Choisissez un organisme public dans la liste."))
    theme = await repo.theme(conn, sub.theme_id) if sub.theme_id else None
    if sub.theme_id and theme is None:
        errors.append(_error("theme_id", "Choisissez un thème dans la liste."))
    elif theme is not None and body is not None:
        if not await cat.theme_offered(conn, body["id"], theme["id"]):
            errors.append(_error("theme_id", "Ce thème n'est pas proposé pour cet organisme."))
    place = await repo.place(conn, sub.place_id) if sub.place_id else None
    if sub.place_id and place is None:
        errors.append(
            _error("place_id", "Choisissez une commune ou sous-préfecture dans la liste.")
        )
    if errors:
        raise Refused(errors)
    return Checked(body, theme, place)


async def submit(
    conn: asyncpg.Connection, sub: SubmissionIn, *, draft_id: uuid.UUID | None = None
) -> Accepted:
    """Store ``sub`` (call inside a transaction); raises :class:`Refused` with field errors.

    ``draft_id``: the citizen's draft whose files become the request's, in this transaction."""
    checked = await check(conn, sub)
    body, theme, place = checked.body, checked.theme, checked.place

    if sub.submission_key:
        # The same form posted twice, or a channel publishing the same request again.
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext($1))", f"{sub.channel}:{sub.submission_key}"
        )
        existing = await repo.by_submission_key(conn, sub.channel, sub.submission_key)
        if existing is not None:
            return Accepted(
                existing["id"], existing["code"].strip(), existing["submitted_at"], True
            )

    request_id = uuid.uuid4()
    now = datetime.now(UTC)
    for _ in range(10):
        code = new_code()
        if await repo.insert_request(
            conn,
            request_id=request_id,
            code=code,
            nature=sub.nature.value,
            body_id=sub.body_id,
            theme_id=sub.theme_id,
            place_id=sub.place_id,
            channel=sub.channel.value,
            submission_key=sub.submission_key,
            message=sub.message,
            status=Status.SUBMITTED.value,
            submitted_at=now,
        ):
            break
    else:  # ten collisions in a row among 900 million codes: something else is wrong
        raise RuntimeError("could not draw a free request code")

    contact = sub.contact
    await repo.insert_contact(
        conn,
        request_id,
        last_name=contact.last_name,
        first_names=contact.first_names,
        country=contact.country,
        phone=contact.phone,
        email=contact.email,
        email_key=email_key(contact.email) if contact.email else None,
    )
    files = await attachments.adopt_draft_files(conn, draft_id, request_id) if draft_id else []
    await repo.add_history(
        conn,
        request_id,
        now,
        RequestSubmittedV1.name,
        Status.SUBMITTED.value,
        STATUS_LABELS[Status.SUBMITTED],
    )
    theme_label = None
    if theme is not None:
        theme_label = (
            f"{theme['parent_label']} : {theme['label']}"
            if theme["parent_label"]
            else theme["label"]
        )
    await outbox.add(
        conn,
        RequestSubmittedV1(
            request_id=request_id,
            code=code,
            nature=sub.nature,
            body_id=body["id"],
            body_name=body["name"],
            theme_id=sub.theme_id,
            theme_label=theme_label,
            place_id=sub.place_id,
            place_label=f"{place['name']} ({place['region']})" if place else None,
            channel=sub.channel,
            message=sub.message,
            contact=Contact(**contact.model_dump()),
            attachments=files,
            submitted_at=now,
        ),
    )
    return Accepted(request_id, code, now)
