"""Reading the submission form as a stream, and passing its files to intake's draft as they come.

The form is ``multipart/form-data``. A body of 64 Kio or less (``form_parts.SMALL_BODY``: the
text fields, a small file at most) is read whole and split in memory; a larger one is read part
by part (``request.multipart()``), never the whole body at once, one 64 Kio chunk in memory at a
time. Either way the parts are taken in order: a text field is kept up to a
small limit; a file is sent on to intake chunk by chunk and no further than 5 Mo + 1 byte (intake
refuses it then); a file that does not start like a PDF, JPEG or PNG is not sent at all. What is
left of a refused file is read and thrown away — the fields after it (« Vos coordonnées », as the
guide orders the form) must still be read so the form comes back with every typed value.

The whole body may not pass ``MAX_BODY`` (3 files of 5 Mo and the fields): a larger declared
``Content-Length`` is refused before a byte is read; a body without one is cut where it passes the
limit (a file being sent to intake then is abandoned halfway, and intake keeps nothing of it).
Either way the answer is a 413 page. A file part that declares its own ``Content-Length`` over
5 Mo is refused on its word: nothing of it goes to intake.

No upload is timed as a whole: on mobile data (« Fast 3G », 84 Ko/s up) 5 Mo take a minute. What
is timed is the wait for the next bytes: ``upload_idle_timeout`` for the citizen's (a stalled or
broken connection is :class:`Interrupted`, the citizen's problem, told beside the file field),
``service_timeout`` for intake taking a chunk or answering (intake's problem:
``ServiceUnavailable``).

The form's parts are counted as they come: past ``MAX_PARTS`` parts, or ``MAX_FILE_PARTS`` file
parts, reading stops (:class:`TooManyParts`, a 413 page saying the limits); files past
``files.MAX_FILES`` are not sent to intake, only named as refused. So a crafted body of
thousands of parts costs a few intake calls at most, never one per part.

The CSRF token must come before any file (the form puts it first): nothing is stored for a
request that did not prove it comes from our own form.
"""

from __future__ import annotations

import asyncio
import codecs
import hashlib
import hmac
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import BodyPartReader, web
from aiohttp.hdrs import CONTENT_TYPE
from aiohttp.http_exceptions import HttpProcessingError
from multidict import MultiDict

from gateway.clients.intake import Drafts
from gateway.clients.transport import ServiceUnavailable
from gateway.web import csrf, form_parts
from gateway.web.keys import GATEWAY_SETTINGS
from shared import attachments as files

log = logging.getLogger(__name__)

FILE_FIELD = "attachments"
# Every text field of the form fits (the message: 5000 characters, 4 bytes each at most).
FIELD_MAX_BYTES = 32 * 1024
FIELDS_MAX = 60
# File parts read at most (a citizen choosing a few files too many is told which were not kept;
# a body of more is refused whole), and parts of any kind.
MAX_FILE_PARTS = 10
MAX_PARTS = FIELDS_MAX + MAX_FILE_PARTS
# What reading the citizen's body raises when their connection breaks off.
BROKEN = (ConnectionError, aiohttp.ClientPayloadError, web.RequestPayloadError)
# The files, each at most 5 Mo, and the text fields around them.
MAX_BODY = files.MAX_FILES * files.MAX_BYTES + 512 * 1024
CHUNK = 64 * 1024
# A part as aiohttp streams it, or as a small body read whole gives it.
Part = BodyPartReader | form_parts.Part


class TooLarge(Exception):
    """The body went past ``MAX_BODY``."""


class TooManyParts(Exception):
    """The form has more than ``MAX_PARTS`` parts or ``MAX_FILE_PARTS`` file parts: reading
    stopped there."""


class Forbidden(Exception):
    """No valid CSRF token before the first file (or at all)."""


class Malformed(Exception):
    """Not a multipart body one can read."""


class Interrupted(Exception):
    """The citizen's bytes stopped coming (for ``upload_idle_timeout``) or their connection
    broke, in the middle of the file ``name`` (None: of a text field). ``upload``: what was read
    before, to show the form again with it."""

    def __init__(self, name: str | None) -> None:
        super().__init__(name)
        self.name = name
        self.upload = Upload()


@dataclass
class Upload:
    fields: MultiDict[str] = field(default_factory=MultiDict)
    draft_id: str | None = None
    # Why some files were not kept, one French sentence each.
    file_errors: list[str] = field(default_factory=list)
    # The draft named by the form had expired: its files are gone.
    draft_lost: bool = False
    # Whether the draft the form named was found still there.
    draft_checked: bool = False
    # Files the draft holds (as intake said when the draft was checked) and files sent to it.
    files_in_draft: int = 0
    files_sent: int = 0
    # Text fields longer than ``FIELD_MAX_BYTES``: only their start was kept, so their length
    # is unknown (``forms.too_long`` says « plus de », never the count of what was kept).
    cut: set[str] = field(default_factory=set)


def draft_owner(request: web.Request) -> str | None:
    """Who owns a draft: a keyed hash of the browser's form cookie (None without one)."""
    cookie = request.cookies.get(csrf.COOKIE, "")
    if not cookie:
        return None
    return hmac.new(
        request.app[csrf.SECRET], f"draft:{cookie}".encode(), hashlib.sha256
    ).hexdigest()


def _check_size(request: web.Request) -> None:
    if request.content.total_bytes > MAX_BODY:
        raise TooLarge()


async def _read(request: web.Request, part: Part, name: str | None = None) -> bytes:
    """The part's next chunk, minding the body's limit and the citizen's pace."""
    if isinstance(part, form_parts.Part):  # a small body, read whole already
        try:
            return part.take(CHUNK)
        except BROKEN as exc:
            log.info("upload interrupted by the citizen: %r", exc)
            raise Interrupted(name) from exc
    try:
        async with asyncio.timeout(request.app[GATEWAY_SETTINGS].upload_idle_timeout):
            chunk = await part.read_chunk(CHUNK)
    except (TimeoutError, *BROKEN) as exc:
        log.info("upload interrupted by the citizen: %r", exc)
        raise Interrupted(name) from exc
    _check_size(request)
    return chunk


async def _next_part(
    request: web.Request, reader: aiohttp.MultipartReader | form_parts.Parts
) -> Any:
    """The form's next part (its headers read), minding the citizen's pace."""
    if isinstance(reader, form_parts.Parts):  # a small body, read whole already
        try:
            return await reader.next()
        except BROKEN as exc:
            log.info("upload interrupted by the citizen: %r", exc)
            raise Interrupted(None) from exc
    try:
        async with asyncio.timeout(request.app[GATEWAY_SETTINGS].upload_idle_timeout):
            return await reader.next()
    except (TimeoutError, *BROKEN) as exc:
        log.info("upload interrupted by the citizen: %r", exc)
        raise Interrupted(None) from exc


async def _drain(request: web.Request, part: Part, name: str | None = None) -> None:
    """Skip the rest of a part without keeping it."""
    while await _read(request, part, name):
        pass


async def _text(request: web.Request, part: Part) -> tuple[str, bool]:
    """The field's text, and whether it was cut at ``FIELD_MAX_BYTES`` (then longer than any
    field takes)."""
    data = bytearray()
    cut = False
    while chunk := await _read(request, part):
        room = FIELD_MAX_BYTES - len(data)
        cut = cut or len(chunk) > room
        data += chunk[: max(room, 0)]
    decoder = codecs.getincrementaldecoder(part.get_charset("utf-8"))(errors="replace")
    # A character cut in two at the limit is dropped, not shown as « � » (final=False).
    return decoder.decode(bytes(data), final=not cut), cut


async def _head(request: web.Request, part: Part) -> bytes:
    head = b""
    while len(head) < files.HEAD_BYTES:
        chunk = await _read(request, part, part.filename)
        if not chunk:
            break
        head += chunk
    return head


async def _whole(request: web.Request, length: int) -> tuple[bytes, bool]:
    """The body of ``length`` bytes, and whether it all came (the citizen's pace minded: the
    wait for the next bytes is timed, not the whole)."""
    body = bytearray()
    idle = request.app[GATEWAY_SETTINGS].upload_idle_timeout
    while len(body) < length:
        try:
            async with asyncio.timeout(idle):
                chunk = await request.content.read(length - len(body))
        except (TimeoutError, *BROKEN):
            return bytes(body), False
        if not chunk:
            return bytes(body), False
        body += chunk
    return bytes(body), True


async def _reader(request: web.Request) -> aiohttp.MultipartReader | form_parts.Parts:
    """The form's parts: a small body (``form_parts.SMALL_BODY``) read whole and split in memory,
    a larger one (files) read part by part as it comes."""
    length = request.content_length
    if length is not None and length <= form_parts.SMALL_BODY:
        body, whole = await _whole(request, length)
        return form_parts.Parts(request.headers.get(CONTENT_TYPE, ""), body, whole=whole)
    return await request.multipart()


async def read_form(request: web.Request, drafts: Drafts) -> Upload:
    """Read the submission form; its files land in a draft of intake's (created when needed).

    Raises TooLarge, TooManyParts, Forbidden, Malformed, Interrupted, ServiceUnavailable."""
    if (request.content_length or 0) > MAX_BODY:
        raise TooLarge()
    upload = Upload()
    token_ok = False
    parts = file_parts = 0
    try:
        reader = await _reader(request)
        while (part := await _next_part(request, reader)) is not None:
            if not isinstance(part, Part):  # a nested multipart: no form sends one
                raise Malformed()
            parts += 1
            if parts > MAX_PARTS:
                raise TooManyParts()
            if part.filename is None:
                if len(upload.fields) >= FIELDS_MAX:
                    raise TooManyParts()
                name = part.name or ""
                value, cut = await _text(request, part)
                if cut:
                    upload.cut.add(name)
                if name == csrf.FIELD:
                    token_ok = csrf.verify(request, value)
                    if not token_ok:
                        raise Forbidden()
                elif name == "draft_id" and upload.draft_id is None:
                    upload.draft_id = as_uuid(value)
                else:
                    upload.fields.add(name, value)
                continue
            if not token_ok:
                raise Forbidden()
            file_parts += 1
            if file_parts > MAX_FILE_PARTS:
                raise TooManyParts()
            if part.name != FILE_FIELD or not part.filename:
                await _drain(request, part)  # no file chosen: an empty part
                continue
            await _take_file(request, part, drafts, upload)
        _check_size(request)
    except Interrupted as exc:
        exc.upload = upload
        raise
    except (TooLarge, TooManyParts, Forbidden, ServiceUnavailable, Malformed):
        raise
    except (
        ValueError,
        LookupError,  # a part's charset (or the form's _charset_) that Python does not know
        RuntimeError,
        AssertionError,
        aiohttp.ClientPayloadError,
        HttpProcessingError,
    ) as exc:
        log.info("unreadable form: %r", exc)
        raise Malformed() from exc
    if not token_ok:
        raise Forbidden()
    return upload


def as_uuid(value: str) -> str | None:
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError:
        return None


async def _ensure_draft(drafts: Drafts, upload: Upload) -> str:
    """The draft the files go to: the one the form names if it is still there, else a new one."""
    if upload.draft_id is not None and not upload.draft_checked:
        status, body = await drafts.get(upload.draft_id)
        if status == 404:
            upload.draft_lost, upload.draft_id = True, None
        elif status != 200:
            raise ServiceUnavailable("intake")
        elif body.get("submitted"):  # the form of a request sent already, posted again
            upload.draft_id = None
        else:
            upload.files_in_draft = len(body.get("files") or [])
        upload.draft_checked = True
    if upload.draft_id is None:
        status, body = await drafts.create()
        if status != 201:
            raise ServiceUnavailable("intake")
        upload.draft_id, upload.draft_checked = body["draft_id"], True
    return upload.draft_id


def _declared_size(part: Part) -> int | None:
    """The part's own ``Content-Length``, where its sender gave one (browsers do not)."""
    try:
        return int(part.headers.get(aiohttp.hdrs.CONTENT_LENGTH, ""))
    except ValueError:
        return None


async def _take_file(request: web.Request, part: Part, drafts: Drafts, upload: Upload) -> None:
    name = part.filename or ""
    declared = _declared_size(part)
    if declared is not None and declared > files.MAX_BYTES:
        upload.file_errors.append(files.problem(files.TOO_LARGE, name))
        await _drain(request, part, name)  # the fields after it are still to be read
        return
    if files.hostile_name(name):  # « ../ », a line break: refused here, intake says the same
        upload.file_errors.append(files.problem(files.BAD_NAME, name))
        await _drain(request, part, name)
        return
    head = await _head(request, part)
    if not head:
        upload.file_errors.append(files.problem(files.EMPTY, name))
        return
    if files.sniff(head) is None:
        upload.file_errors.append(files.problem(files.NOT_ALLOWED, name))
        await _drain(request, part, name)
        return
    settings = request.app[GATEWAY_SETTINGS]
    loop = asyncio.get_running_loop()
    sent = 0
    overflow = False
    citizen_gone = False
    # Whose bytes the upload waits for: the citizen's, or intake's (taking a chunk, answering).
    waiting_on_citizen = False

    def idle_wait(citizen: bool) -> float:
        return settings.upload_idle_timeout if citizen else settings.service_timeout

    draft_id = await _ensure_draft(drafts, upload)
    if upload.files_in_draft + upload.files_sent >= files.MAX_FILES:
        # Intake would refuse it: not sent, so that more files never mean more calls.
        upload.file_errors.append(files.problem(files.TOO_MANY, name))
        await _drain(request, part, name)
        return
    upload.files_sent += 1
    try:
        async with asyncio.timeout(None) as idle:

            def now_waiting_on(citizen: bool) -> None:
                nonlocal waiting_on_citizen
                waiting_on_citizen = citizen
                idle.reschedule(loop.time() + idle_wait(citizen))

            async def chunks() -> AsyncIterator[bytes]:
                # Stops one byte past the limit: enough for intake to refuse the file.
                nonlocal sent, overflow, citizen_gone
                chunk = head
                while chunk:
                    allowed = files.MAX_BYTES + 1 - sent
                    now_waiting_on(citizen=False)
                    yield chunk[:allowed]
                    sent += min(len(chunk), allowed)
                    if sent > files.MAX_BYTES:
                        break
                    now_waiting_on(citizen=True)
                    try:
                        chunk = await part.read_chunk(CHUNK)
                    except BROKEN:
                        citizen_gone = True
                        raise
                    if request.content.total_bytes > MAX_BODY:
                        # Breaks the upload to intake halfway: it stores nothing of a cut file.
                        overflow = True
                        raise TooLarge()
                now_waiting_on(citizen=False)  # for intake's answer

            # No total: the idle timer above, and intake's answer once the file is sent.
            timeout = aiohttp.ClientTimeout(
                total=None, connect=settings.service_timeout, sock_read=settings.service_timeout
            )
            status, body = await drafts.send_file(draft_id, name, chunks(), timeout)
    except TimeoutError:
        if waiting_on_citizen:
            log.info("upload interrupted by the citizen: nothing for %s s", idle_wait(True))
            raise Interrupted(name) from None
        log.warning("intake took nothing of the file for %s s", settings.service_timeout)
        raise ServiceUnavailable("intake") from None
    except (ServiceUnavailable, TooLarge):
        if overflow:
            raise TooLarge() from None
        if citizen_gone:
            log.info("upload interrupted by the citizen: connection broken")
            raise Interrupted(name) from None
        raise
    if status == 422:
        upload.file_errors.extend(e["message"] for e in body.get("errors", []))
    elif status == 404:  # expired in the instant since it was checked
        upload.file_errors.append(files.problem(files.LOST, name))
        upload.draft_lost, upload.draft_id = True, None
    elif status != 201:
        raise ServiceUnavailable("intake")
    await _drain(request, part, name)
