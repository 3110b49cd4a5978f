"""Drafts over HTTP (internal: the gateway's submission pages call them).

Every call names the browser that owns the draft in the ``X-Draft-Owner`` header; a draft that
expired, does not exist or belongs to another browser is the same 404.

- ``POST /drafts`` ``{fields?}`` → 201 ``{draft_id, ready, errors, version, summary, files}``
  (``summary``: the confirmation page's, when ready)
- ``POST /drafts/{id}/files?filename=`` raw bytes → 201 the file, or 422 why it was refused
- ``PUT /drafts/{id}`` ``{fields, remove_files}`` → 200 when it may be submitted, else 422 (the
  same body as ``POST /drafts``)
- ``GET /drafts/{id}`` → the values, files, summary and version (or the code once submitted)
- ``POST /drafts/{id}/submit`` ``{version?, proof?: {challenge, nonce}}`` → 201 ``{code,
  nature, told_by, …}`` (200 the same code again; ``told_by``: how the code is sent to the
  citizen, ``["email", "sms"]`` or fewer), 422, 404; 409 ``draft_changed`` when ``version``
  (the one the confirmation page showed) is no longer the draft's; 429 past a submission limit
  (``limits``); 428 ``{challenge, difficulty_bits, wait_seconds, reason}`` when the address
  passed the suspicion threshold and no good proof of work came with it (``proof``)
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Annotated, Any

import aiohttp
import asyncpg
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from services.intake import limits, proof
from services.intake.drafts import store as drafts
from services.intake.keys import CATALOGUE_CACHE
from services.intake.settings import SETTINGS
from shared import attachments as files
from shared.service import transaction, without_transaction
from shared.signing import call_of, streamed
from shared.web import FieldErrors, field_error, json_error, not_found, read_model

routes = web.RouteTableDef()
OWNER_HEADER = "X-Draft-Owner"
GONE = "Votre saisie a expiré ou n'existe plus : veuillez la recommencer."


class DraftIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    fields: dict[str, Any] | None = None
    remove_files: Annotated[list[uuid.UUID], Field(max_length=20)] = []


def owner_of(request: web.Request) -> str:
    """The signed ``X-Draft-Owner`` of the call (400 without one)."""
    return _owner(request)


def _owner(request: web.Request) -> str:
    # Only a signed owner header counts (the middleware checked it arrived as signed).
    owner = call_of(request).headers.get(OWNER_HEADER, "")
    if not 16 <= len(owner) <= 128:
        raise web.HTTPBadRequest(
            text='{"error":"owner_required","message":"signed X-Draft-Owner header required"}',
            content_type="application/json",
        )
    return owner


def _draft_id(request: web.Request) -> uuid.UUID | None:
    try:
        return uuid.UUID(request.match_info["draft_id"])
    except ValueError:
        return None


def _lifetime(request: web.Request) -> int:
    return request.app[SETTINGS].draft_lifetime_seconds


def _answer(draft: drafts.Draft, status_if_ready: int = 200) -> web.Response:
    body = {
        "draft_id": str(draft.id),
        "ready": draft.ready,
        "errors": draft.errors,
        "version": draft.version,
        "summary": draft.summary if draft.ready else None,
        "files": draft.files,
    }
    return web.json_response(body, status=status_if_ready if draft.ready else 422)


async def _editable(conn: asyncpg.Connection, draft_id: uuid.UUID | None, owner: str) -> bool:
    """The draft is there, locked, and not submitted yet (a form sent again after « OK », from
    the browser's history, starts a new draft rather than changing a stored request)."""
    if draft_id is None:
        return False
    row = await drafts.locked(conn, draft_id, owner)
    return row is not None and not row["code"]


@routes.post("/drafts")
async def create(request: web.Request) -> web.Response:
    owner = _owner(request)
    data = await read_model(request, DraftIn)
    lifetime = _lifetime(request)
    catalogue = request.app[CATALOGUE_CACHE]
    config = await request.app[limits.CONFIG_CACHE].get()

    async def work(conn: asyncpg.Connection) -> web.Response:
        draft = await drafts.create(conn, owner, lifetime, data.fields, catalogue, config)
        if data.fields is None:
            return web.json_response(
                {
                    "draft_id": str(draft.id),
                    "ready": False,
                    "errors": [],
                    "version": draft.version,
                    "summary": None,
                    "files": [],
                },
                status=201,
            )
        return _answer(draft, 201)

    # One INSERT, the values and their summary in it: no BEGIN/COMMIT needed.
    return await without_transaction(request, work)


@routes.put("/drafts/{draft_id}")
async def update(request: web.Request) -> web.Response:
    owner = _owner(request)
    draft_id = _draft_id(request)
    data = await read_model(request, DraftIn)
    lifetime = _lifetime(request)
    config = await request.app[limits.CONFIG_CACHE].get()

    async def work(conn: asyncpg.Connection) -> web.Response:
        if not await _editable(conn, draft_id, owner):
            return not_found(GONE)
        if data.remove_files:
            await drafts.remove_files(conn, draft_id, data.remove_files)
        return _answer(
            await drafts.save_fields(
                conn, draft_id, data.fields or {}, lifetime, request.app[CATALOGUE_CACHE], config
            )
        )

    return await transaction(request, work)


class BrokenUpload(Exception):
    """The sender stopped halfway (the gateway does when the citizen's whole form is too big, or
    their connection stalls), or sent nothing for ``upload_idle_timeout``."""


def _idle_timeout(request: web.Request) -> float:
    return request.app[SETTINGS].upload_idle_timeout


async def _read_capped(request: web.Request, cap: int) -> bytes:
    """The body, but never more than ``cap`` + 1 bytes of it (enough to know it is too large).

    The bytes come at the citizen's pace (a minute for 5 Mo on mobile data): no limit on the
    whole, only on the wait for the next ones."""
    chunks: list[bytes] = []
    size = 0
    idle = _idle_timeout(request)
    try:
        while size <= cap:
            async with asyncio.timeout(idle):
                chunk = await request.content.read(min(256 * 1024, cap + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except (aiohttp.ClientPayloadError, ConnectionError, TimeoutError) as exc:
        raise BrokenUpload() from exc
    return b"".join(chunks)


@routes.post("/drafts/{draft_id}/files")
@streamed
async def add_file(request: web.Request) -> web.Response:
    owner = _owner(request)
    draft_id = _draft_id(request)
    name = request.query.get("filename", "")[:1000]
    if (request.content_length or 0) > files.MAX_BYTES:  # refused on its word, nothing read
        problem = files.problem(files.TOO_LARGE, name)
        raise FieldErrors([field_error("attachments", problem, files.TOO_LARGE)])
    try:
        data = await _read_capped(request, files.MAX_BYTES)
    except BrokenUpload:
        return json_error(400, "broken_upload", "the file did not arrive whole; nothing kept")
    try:
        # Opening a PDF or decoding an image is CPU work: off the event loop, outside the
        # transaction (no row is locked while it runs).
        inspected = await asyncio.to_thread(files.inspect, name, data)
    except files.Refused as exc:
        raise FieldErrors([field_error("attachments", exc.message, exc.code)]) from None

    async def work(conn: asyncpg.Connection) -> web.Response:
        if not await _editable(conn, draft_id, owner):
            return not_found(GONE)
        try:
            stored = await drafts.add_file(conn, draft_id, name, inspected)
        except drafts.FileRefused as exc:
            raise FieldErrors([field_error("attachments", exc.message, exc.code)]) from None
        await conn.execute(
            """UPDATE drafts SET expires_at = now() + make_interval(secs => $2),
                                 version = version + 1
               WHERE id = $1""",
            draft_id,
            float(_lifetime(request)),
        )
        return web.json_response(stored, status=201)

    return await transaction(request, work)


@routes.get("/drafts/{draft_id}")
async def show(request: web.Request) -> web.Response:
    owner = _owner(request)
    draft_id = _draft_id(request)
    if draft_id is None:
        return not_found(GONE)

    async def work(conn: asyncpg.Connection) -> dict | None:
        return await drafts.view(conn, draft_id, owner)

    # One SELECT: no transaction, no lock, nothing validated again.
    view = await without_transaction(request, work)
    return not_found(GONE) if view is None else web.json_response(view)


class ProofIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    challenge: Annotated[str, Field(max_length=200)] = ""
    nonce: Annotated[str, Field(max_length=proof.NONCE_MAX)] = ""


class SubmitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # The draft's version the confirmation page showed (refused with 409 if it changed since).
    version: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None
    proof: ProofIn | None = None


def _proof_required(exc: proof.ProofRequired) -> web.Response:
    challenge = exc.challenge
    return web.json_response(
        {
            "error": "proof_required",
            "reason": exc.reason,
            "challenge": challenge.token,
            "difficulty_bits": challenge.bits,
            "wait_seconds": exc.wait_left,
            "expires_in": max(0, challenge.expires - int(time.time())),
        },
        status=428,
    )


@routes.post("/drafts/{draft_id}/submit")
async def submit(request: web.Request) -> web.Response:
    owner = _owner(request)
    draft_id = _draft_id(request)
    if draft_id is None:
        return not_found(GONE)
    sent = await read_model(request, SubmitIn) if request.body_exists else SubmitIn()
    key = proof.key_of(request.app[SETTINGS].identity_secret.get_secret_value())
    guard = await limits.guard_of(
        request,
        proof_key=key,
        challenge=sent.proof.challenge if sent.proof else None,
        nonce=sent.proof.nonce if sent.proof else None,
    )
    # submissions.Refused: the 422 that lists the fields.
    try:
        result = await transaction(
            request,
            lambda conn: drafts.submit(
                conn,
                draft_id,
                owner,
                request.app[CATALOGUE_CACHE],
                guard=guard,
                version=sent.version,
                sms_enabled=request.app[SETTINGS].sms_enabled,
            ),
        )
    except limits.Throttled as exc:
        return limits.throttled_response(exc)
    except proof.ProofRequired as exc:
        return _proof_required(exc)
    except drafts.DraftChanged:
        return json_error(
            409, "draft_changed", "the draft changed since the confirmation page was shown"
        )
    if result is None:
        return not_found(GONE)
    accepted, nature, told = result
    return web.json_response(
        {
            "code": accepted.code,
            "nature": nature.value,
            "nature_label": nature.label,
            "told_by": told,
            "submitted_at": accepted.submitted_at.isoformat(),
            "replayed": accepted.replayed,
        },
        status=200 if accepted.replayed else 201,
    )
