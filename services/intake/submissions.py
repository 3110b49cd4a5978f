"""Accepting a request: checks against the catalogue (one query), then one transaction that
stores the request, its contact, its files (moved from the citizen's draft), its first history
line and ``request.submitted`` in the outbox. The code is answered only after that transaction
committed. Without a draft the writes are one statement (a round trip each costs more than the
work): the web API then runs it without BEGIN/COMMIT, a statement being atomic by itself.

A submission key (a form's token, another system's id) is scoped to the channel that sent it and
to the request it came with: the same key and the same request again is answered with the
stored code (a retry); the same key with another request is refused (:class:`KeyReused`), never
answered with the code of someone else's request. The comparison reads the stored request and
contact, so once the personal data is purged a key can no longer be replayed.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from services.intake import attachments, limits, proof
from services.intake import repository as repo
from services.intake.catalogue.cache import CatalogueCache
from services.intake.domain import SubmissionIn, contact_missing, email_key
from shared import lifecycle, outbox
from shared.codes import new_code
from shared.messages import CallCentreOperator, Channel, Contact, RequestSubmittedV1
from shared.web import FieldErrors, field_error

# The status a request starts its life in.
FIRST = lifecycle.next_status(None, lifecycle.Event.SUBMITTED)


@dataclass(frozen=True)
class Accepted:
    request_id: uuid.UUID
    code: str
    submitted_at: datetime
    replayed: bool = False


class KeyReused(Exception):
    """The submission key was used already, by this channel, for another request."""


def key_reused_error(field: str = "submission_key") -> dict[str, str]:
    return field_error(
        field,
        "Cette clé de soumission a déjà servi pour une autre requête : "
        "prenez-en une nouvelle pour une nouvelle requête.",
        "submission_key_reused",
    )


def same_request(stored: Mapping[str, Any], sub: SubmissionIn) -> bool:
    """Whether ``sub`` is the request ``stored`` (a row of ``repository.by_submission_key``)."""
    contact = sub.contact
    return (
        stored["nature"] == sub.nature.value
        and stored["body_id"] == sub.body_id
        and stored["theme_id"] == sub.theme_id
        and stored["place_id"] == sub.place_id
        and stored["message"] == sub.message
        and stored["last_name"] == contact.last_name
        and stored["first_names"] == contact.first_names
        and (stored["country"] or "").strip() == contact.country
        and stored["phone"] == contact.phone
        and stored["email"] == contact.email
    )


class Refused(FieldErrors):
    """The submission names something that does not exist, or misses a required field: over
    HTTP, the 422 that lists the fields (``shared.web``)."""


_error = field_error  # the name its callers below knew


@dataclass(frozen=True)
class Checked:
    """The catalogue rows a valid submission names (columns as in ``repository.body``,
    ``theme`` and ``place``)."""

    body: Mapping[str, Any]
    theme: Mapping[str, Any] | None
    place: Mapping[str, Any] | None


async def check(
    conn: asyncpg.Connection,
    sub: SubmissionIn,
    catalogue: CatalogueCache | None = None,
    config: limits.Config | None = None,
) -> Checked:
    """The catalogue rows ``sub`` names; raises :class:`Refused` with every field error (a
    mobile number of a country SMS may not go to among them).

    ``catalogue``, ``config``: the process's cache of those rows and of the configuration table,
    where the caller has them (else they are read)."""
    errors = contact_missing() if sub.missing_contact_fields() else []
    if not sub.terms_accepted:
        errors.append(_error("terms_accepted", "Vous devez accepter les conditions d'utilisation."))
    read = catalogue.facts if catalogue is not None else repo.catalogue_facts
    facts = await read(conn, sub.body_id, sub.theme_id, sub.place_id)
    body = theme = place = None
    if facts["body_id"] is None:
        errors.append(_error("body_id", "Choisissez un organisme public dans la liste."))
    else:
        body = {
            "id": facts["body_id"],
            "name": facts["body_name"],
            "phones": facts["body_phones"],
            "location": facts["body_location"],
        }
    if sub.theme_id and facts["theme_id"] is None:
        errors.append(_error("theme_id", "Choisissez un thème dans la liste."))
    elif sub.theme_id:
        theme = {
            "id": facts["theme_id"],
            "label": facts["theme_label"],
            "parent_label": facts["theme_parent_label"],
        }
        if body is not None and not facts["theme_offered"]:
            errors.append(_error("theme_id", "Ce thème n'est pas proposé pour cet organisme."))
    if sub.place_id and facts["place_id"] is None:
        errors.append(
            _error("place_id", "Choisissez une commune ou sous-préfecture dans la liste.")
        )
    elif sub.place_id:
        place = {
            "id": facts["place_id"],
            "region": facts["place_region"],
            "name": facts["place_name"],
            "kind": facts["place_kind"],
        }
    if sub.contact.phone:
        if config is None:
            config = await limits.load(conn)
        if (refused := limits.sms_country_error(sub.contact.phone, config)) is not None:
            errors.append(refused)
    if errors:
        raise Refused(errors)
    assert body is not None
    return Checked(body, theme, place)


async def submit(
    conn: asyncpg.Connection,
    sub: SubmissionIn,
    *,
    draft_id: uuid.UUID | None = None,
    draft_has_files: bool = True,
    catalogue: CatalogueCache | None = None,
    guard: limits.Guard | None = None,
    config: limits.Config | None = None,
    sms_enabled: bool = False,
    operator: CallCentreOperator | None = None,
) -> Accepted:
    """Store ``sub``; raises :class:`Refused` with field errors. Call inside a transaction when
    ``sub`` has a submission key or ``draft_id`` is given; otherwise the request, its contact,
    history and event are written in one statement and a transaction is not needed.

    ``draft_id``: the citizen's draft whose files become the request's, in this transaction;
    the caller holds its row lock and answers a second « OK » from it (the draft keeps the code,
    written in the request's statement). ``draft_has_files``: False when the draft holds none
    (the event then goes in that statement too: no file to adopt first).

    ``guard``: an anonymous channel's limits (``limits.Guard``): the submission is counted once
    checked, and refused past a limit (``limits.Throttled``) or, past the suspicion threshold,
    without a good proof of work (``proof.ProofRequired``) — before anything is written.

    ``operator``: the call centre's operator who typed it for a caller (channel ``phone``, from
    the signed identity, never from the body): kept on the request and in its event, for the
    staff's history; every other channel gives none."""
    assert conn.is_in_transaction() or not (sub.submission_key or draft_id)
    assert operator is None or sub.channel is Channel.PHONE
    if sub.submission_key and draft_id is None:
        # The same form posted twice, or a channel publishing the same request again: answered
        # before the catalogue is checked again (the same code, even if it changed since). (A draft
        # is submitted under its row lock, and keeps the code in the same transaction: the
        # caller has answered a second « OK » already.)
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext($1))", f"{sub.channel}:{sub.submission_key}"
        )
        existing = await repo.by_submission_key(conn, sub.channel, sub.submission_key)
        if existing is not None:
            if not same_request(existing, sub):
                raise KeyReused(sub.submission_key)
            return Accepted(
                existing["id"], existing["code"].strip(), existing["submitted_at"], True
            )
    checked = await check(conn, sub, catalogue, guard.config if guard else config)
    body, theme, place = checked.body, checked.theme, checked.place
    if guard is not None:
        contact = sub.contact
        if await limits.count(conn, guard, contact.email, contact.phone):
            assert guard.proof_key is not None
            await proof.check(
                conn, guard.proof_key, guard.client, guard.config, guard.challenge, guard.nonce
            )

    request_id = uuid.uuid4()
    now = datetime.now(UTC)
    contact = sub.contact
    theme_label = None
    if theme is not None:
        theme_label = (
            f"{theme['parent_label']} : {theme['label']}"
            if theme["parent_label"]
            else theme["label"]
        )

    def event(code: str, files: list) -> RequestSubmittedV1:
        return RequestSubmittedV1(
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
            operator=operator,
        )

    # Without files the event is known now and goes in the same statement; a draft's files are
    # adopted once the request exists, and the event, which lists them, after.
    event_now = draft_id is None or not draft_has_files
    for _ in range(10):
        code = new_code()
        if await repo.insert_submission(
            conn,
            request={
                "id": request_id,
                "code": code,
                "nature": sub.nature.value,
                "body_id": sub.body_id,
                "theme_id": sub.theme_id,
                "place_id": sub.place_id,
                "channel": sub.channel.value,
                "submission_key": sub.submission_key,
                "message": sub.message,
                "status": FIRST.value,
                "submitted_at": now,
                "operator_staff_id": operator.staff_id if operator else None,
                "operator_login": operator.login if operator else None,
            },
            contact={
                "last_name": contact.last_name,
                "first_names": contact.first_names,
                "country": contact.country,
                "phone": contact.phone,
                "email": contact.email,
                "email_key": email_key(contact.email) if contact.email else None,
            },
            history=(
                RequestSubmittedV1.name,
                FIRST.value,
                lifecycle.CITIZEN_LABELS[FIRST],
            ),
            event=outbox.row(event(code, [])) if event_now else None,
            draft=(draft_id, " ".join(sub.told_by(sms_enabled=sms_enabled))) if draft_id else None,
        ):
            break
    else:  # ten collisions in a row among 900 million codes: something else is wrong
        raise RuntimeError("could not draw a free request code")

    if not event_now:
        assert draft_id is not None
        files = await attachments.adopt_draft_files(conn, draft_id, request_id)
        await outbox.add(conn, event(code, files))
    return Accepted(request_id, code, now)
