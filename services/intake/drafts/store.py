"""The citizen's draft: what the web form holds between « Soumettre votre requête » and « OK ».

The form's values and its files wait here, bound to the browser that filled them (``owner``),
until the citizen confirms — then :func:`submit` turns them into the request in one transaction —
or until they expire and :func:`purge` removes them with their files. Files are checked by their
content (``shared.attachments.inspect``: type by the first bytes, PDFs opened, images
re-encoded), never by their name or declared type.

The values are validated once, when they are saved, and the confirmation page's summary is
stored with them: showing a draft is one plain read (no transaction, no lock, no validation).
« OK » checks them again against the catalogue as it is then, in the transaction that stores
the request.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import phonenumbers
from pydantic import ValidationError

from services.intake import limits, submissions
from services.intake.catalogue.cache import CatalogueCache
from services.intake.domain import SubmissionIn, presence_errors
from shared import attachments as files
from shared.messages import Channel, Nature
from shared.web import field_errors, french, merge_errors


class FileRefused(Exception):
    def __init__(self, code: str, name: str) -> None:
        super().__init__(code)
        self.code = code
        self.message = files.problem(code, name)


class DraftChanged(Exception):
    """« OK » pressed on a confirmation page that showed another version of the draft."""


_FILES = """(SELECT coalesce(json_agg(json_build_object(
                     'id', f.id, 'filename', f.filename,
                     'content_type', f.content_type, 'size', f.size)
                 ORDER BY f.added_at, f.id), '[]')
          FROM draft_files f WHERE f.draft_id = d.id)"""


@dataclass(frozen=True)
class Draft:
    id: uuid.UUID
    ready: bool
    errors: list[dict[str, str]]
    version: int = 1
    # The confirmation page's summary when ready, and the files the draft holds: what the
    # gateway shows next without asking again.
    summary: dict[str, Any] | None = None
    files: list[dict[str, Any]] | None = None


def _expiry(lifetime_seconds: int) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=lifetime_seconds)


async def create(
    conn: asyncpg.Connection,
    owner: str,
    lifetime_seconds: int,
    fields: dict[str, Any] | None = None,
    catalogue: CatalogueCache | None = None,
    config: limits.Config | None = None,
) -> Draft:
    """A new draft, with ``fields`` saved in it when given: one statement."""
    draft_id = uuid.uuid4()
    if fields is None:
        ready, errors, summary = False, [], None
    else:
        ready, errors, summary = await _judged(conn, fields, draft_id, catalogue, config)
    await conn.execute(
        """INSERT INTO drafts (id, owner, expires_at, fields, ready, summary)
           VALUES ($1, $2, $3, $4::jsonb, $5, $6::jsonb)""",
        draft_id,
        owner,
        _expiry(lifetime_seconds),
        None if fields is None else json.dumps(fields),
        ready,
        summary,
    )
    return Draft(draft_id, ready, errors, 1, _loaded(summary), [])


def _loaded(summary: str | None) -> dict[str, Any] | None:
    return json.loads(summary) if summary else None


async def locked(conn: asyncpg.Connection, draft_id: uuid.UUID, owner: str) -> dict | None:
    """The live draft, locked for this transaction; None when it expired, does not exist, or
    belongs to another browser (the three look alike)."""
    row = await conn.fetchrow(
        """SELECT id, fields, ready, request_id, code, nature, told_by, expires_at, version,
                  EXISTS (SELECT 1 FROM draft_files f WHERE f.draft_id = d.id) AS has_files
           FROM drafts d
           WHERE id = $1 AND owner = $2 AND expires_at > now() FOR UPDATE""",
        draft_id,
        owner,
    )
    if row is None:
        return None
    return {**dict(row), "fields": json.loads(row["fields"]) if row["fields"] else {}}


async def add_file(
    conn: asyncpg.Connection, draft_id: uuid.UUID, name: str, inspected: files.Inspected
) -> dict[str, Any]:
    """Keep one file, inspected already (``files.inspect``), in the (locked) draft; raises
    :class:`FileRefused` when the draft has its files already."""
    content_type, data = inspected.content_type, inspected.data
    count = await conn.fetchval("SELECT count(*) FROM draft_files WHERE draft_id = $1", draft_id)
    if count >= files.MAX_FILES:
        raise FileRefused(files.TOO_MANY, name)
    file_id = uuid.uuid4()
    filename = files.safe_filename(name, content_type)
    await conn.execute(
        """INSERT INTO draft_files (id, draft_id, filename, content_type, size, data)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        file_id,
        draft_id,
        filename,
        content_type,
        len(data),
        data,
    )
    return {
        "id": str(file_id),
        "filename": filename,
        "content_type": content_type,
        "size": len(data),
    }


async def remove_files(conn: asyncpg.Connection, draft_id: uuid.UUID, ids: list[uuid.UUID]) -> None:
    await conn.execute(
        "DELETE FROM draft_files WHERE draft_id = $1 AND id = ANY($2::uuid[])", draft_id, ids
    )


def _submission(fields: dict[str, Any], draft_id: uuid.UUID) -> dict[str, Any]:
    """The form's values as a web submission; the draft's id makes a second « OK » harmless."""
    raw = {k: v for k, v in fields.items() if k not in ("channel", "submission_key")}
    return {**raw, "channel": Channel.WEB.value, "submission_key": f"draft:{draft_id}"}


def _parsed(
    fields: dict[str, Any], draft_id: uuid.UUID
) -> tuple[SubmissionIn | None, list[dict[str, str]]]:
    """The values as a submission, or every syntax and required-field error at once."""
    raw = _submission(fields, draft_id)
    try:
        return SubmissionIn.model_validate(raw), []
    except ValidationError as exc:
        return None, merge_errors(french(field_errors(exc)), presence_errors(raw))


async def validate(
    conn: asyncpg.Connection,
    fields: dict[str, Any],
    draft_id: uuid.UUID,
    catalogue: CatalogueCache | None = None,
    config: limits.Config | None = None,
) -> tuple[SubmissionIn | None, submissions.Checked | None, list[dict[str, str]]]:
    """Every error of the form at once: syntax, required fields, then the catalogue
    (``catalogue``: the process's kept copy, where the caller has it)."""
    sub, errors = _parsed(fields, draft_id)
    if sub is None:
        return None, None, errors
    try:
        return sub, await submissions.check(conn, sub, catalogue, config), []
    except submissions.Refused as exc:
        return sub, None, exc.errors


async def _judged(
    conn: asyncpg.Connection,
    fields: dict[str, Any],
    draft_id: uuid.UUID,
    catalogue: CatalogueCache | None,
    config: limits.Config | None = None,
) -> tuple[bool, list[dict[str, str]], str | None]:
    """(ready, errors, the confirmation page's summary as JSON) of the values."""
    sub, checked, errors = await validate(conn, fields, draft_id, catalogue, config)
    if errors or sub is None or checked is None:
        return False, errors, None
    return True, [], json.dumps(_summary(sub, checked))


async def save_fields(
    conn: asyncpg.Connection,
    draft_id: uuid.UUID,
    fields: dict[str, Any],
    lifetime_seconds: int,
    catalogue: CatalogueCache | None = None,
    config: limits.Config | None = None,
) -> Draft:
    """Store the typed values (valid or not: the citizen may come back to them) and say whether
    the draft may be submitted."""
    ready, errors, summary = await _judged(conn, fields, draft_id, catalogue, config)
    row = await conn.fetchrow(
        f"""UPDATE drafts d SET fields = $2::jsonb, ready = $3, summary = $4::jsonb,
                               expires_at = $5, version = version + 1
            WHERE id = $1 RETURNING version, {_FILES} AS files""",  # noqa: S608
        draft_id,
        json.dumps(fields),
        ready,
        summary,
        _expiry(lifetime_seconds),
    )
    return Draft(
        draft_id, ready, errors, row["version"], _loaded(summary), json.loads(row["files"])
    )


def _phone_shown(e164: str | None) -> str | None:
    if not e164:
        return None
    number = phonenumbers.parse(e164)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def _summary(sub: SubmissionIn, checked: submissions.Checked) -> dict[str, Any]:
    """What the confirmation page shows of valid values, the catalogue's names included."""
    theme = checked.theme
    return {
        "nature": sub.nature.value,
        "nature_label": sub.nature.label,
        "body_id": checked.body["id"],
        "body_name": checked.body["name"],
        "theme_label": (
            f"{theme['parent_label']} : {theme['label']}"
            if theme is not None and theme["parent_label"]
            else (theme["label"] if theme is not None else None)
        ),
        "place_label": (
            f"{checked.place['name']} ({checked.place['region']})"
            if checked.place is not None
            else None
        ),
        "message": sub.message,
        "last_name": sub.contact.last_name,
        "first_names": sub.contact.first_names,
        "country": sub.contact.country,
        "phone": _phone_shown(sub.contact.phone),
        "email": sub.contact.email,
    }


async def view(conn: asyncpg.Connection, draft_id: uuid.UUID, owner: str) -> dict | None:
    """What the confirmation page and the form shown again need; None when not there.

    One statement, no lock: the draft and its files as they were at one instant."""
    row = await conn.fetchrow(
        f"""SELECT d.id, d.fields, d.ready, d.summary, d.code, d.nature, d.told_by, d.expires_at,
                   d.version, {_FILES} AS files
            FROM drafts d WHERE d.id = $1 AND d.owner = $2 AND d.expires_at > now()""",  # noqa: S608
        draft_id,
        owner,
    )
    if row is None:
        return None
    summary = json.loads(row["summary"]) if row["summary"] else None
    out: dict[str, Any] = {
        "draft_id": str(row["id"]),
        "fields": json.loads(row["fields"]) if row["fields"] else {},
        # A draft saved before summaries were kept goes back to the form, to be saved again.
        "ready": row["ready"] and summary is not None,
        "files": json.loads(row["files"]),
        "expires_at": row["expires_at"].isoformat(),
        "version": row["version"],
        "submitted": None,
        "summary": summary,
    }
    if row["code"]:
        out["submitted"] = {
            "code": row["code"].strip(),
            "nature": row["nature"],
            "nature_label": Nature(row["nature"]).label,
            "told_by": (row["told_by"] or "").split(),
        }
        out["ready"], out["summary"] = False, None
    return out


async def submit(
    conn: asyncpg.Connection,
    draft_id: uuid.UUID,
    owner: str,
    catalogue: CatalogueCache | None = None,
    guard: limits.Guard | None = None,
    version: int | None = None,
    sms_enabled: bool = False,
) -> tuple[submissions.Accepted, Nature, list[str]] | None:
    """Turn the draft into the request (call in one transaction); the request's code, nature and
    how the code is sent to the citizen (``SubmissionIn.told_by``; ``sms_enabled``: the
    platform sends SMS), or None when the draft is gone; ``guard``: the submission limits
    (``limits``).

    A second call answers the first one's code. Raises ``submissions.Refused`` when the values no
    longer pass (the catalogue changed since, or the draft was never valid), and
    :class:`DraftChanged` when ``version`` (the one the confirmation page showed) is not the
    draft's any more."""
    row = await locked(conn, draft_id, owner)
    if row is None:
        return None
    if row["code"]:
        submitted_at = await conn.fetchval(
            "SELECT submitted_at FROM requests WHERE id = $1", row["request_id"]
        )
        accepted = submissions.Accepted(
            row["request_id"], row["code"].strip(), submitted_at or datetime.now(UTC), True
        )
        return accepted, Nature(row["nature"]), (row["told_by"] or "").split()
    if version is not None and version != row["version"]:
        raise DraftChanged(draft_id)
    sub, errors = _parsed(row["fields"], draft_id)
    if sub is None:
        raise submissions.Refused(errors)
    # Checks the catalogue once (raises Refused): the values may name what went since saved.
    # The draft keeps only the code (to answer a second « OK »), written with the request; the
    # typed values leave with it.
    accepted = await submissions.submit(
        conn,
        sub,
        draft_id=draft_id,
        draft_has_files=row["has_files"],
        catalogue=catalogue,
        guard=guard,
        sms_enabled=sms_enabled,
    )
    return accepted, sub.nature, sub.told_by(sms_enabled=sms_enabled)


async def purge(conn: asyncpg.Connection) -> int:
    """Remove the expired drafts and their files; how many drafts went."""
    deleted = await conn.fetchval(
        "WITH gone AS (DELETE FROM drafts WHERE expires_at <= now() RETURNING 1) "
        "SELECT count(*) FROM gone"
    )
    return int(deleted)
