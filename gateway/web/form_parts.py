"""A bounded cache in front of aiohttp's ``Content-Disposition`` parser, for the posted forms.

aiohttp 3.14.5's ``parse_content_disposition`` rebuilds at every call the default argument of
its inner ``unescape`` (128 ``re.escape``): 0.04–0.1 ms a call. Reading a ``multipart/form-data``
form calls it three times per part (``MultipartReader.next`` for its ``_charset_`` check on
every part, then ``BodyPartReader.name`` and ``.filename``): 1.4 ms of the gateway's CPU per
submission form posted (14 parts). The parts' headers are the same from one citizen to the next
(``form-data; name="message"``), so :func:`install` puts in aiohttp's multipart module a version
that keeps aiohttp's own answers by raw header; a long header (a long file name) is parsed each
time, as before. The parsing stays aiohttp's: the same answer for every header, hostile ones
included, each caller getting its own dict.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aiohttp import hdrs, multipart, web
from aiohttp.helpers import parse_mimetype
from aiohttp.http_parser import HeadersParser

KEPT_HEADERS = 256
LONGEST_KEPT = 200
_aiohttp_parse = multipart.parse_content_disposition


@lru_cache(maxsize=KEPT_HEADERS)
def _kept(header: str) -> tuple[str | None, tuple[tuple[str, str], ...]]:
    disposition, params = _aiohttp_parse(header)
    return disposition, tuple(params.items())


def parse_content_disposition(header: str | None) -> tuple[str | None, dict[str, str]]:
    """aiohttp's answer for ``header``, parsed once per distinct short header."""
    if not header or len(header) > LONGEST_KEPT:
        return _aiohttp_parse(header)
    disposition, params = _kept(header)
    return disposition, dict(params)


def install() -> None:
    """Make aiohttp's multipart reader parse through the cache (for the whole process)."""
    multipart.parse_content_disposition = parse_content_disposition  # type: ignore[assignment]


def is_form_data(request: web.Request) -> bool:
    """Whether the body is ``multipart/form-data``, read as the multipart reader reads it.

    ``request.content_type`` parses the header with the email package (0.5 ms), and its cache
    never serves a form: each one has a boundary of its own."""
    mimetype = parse_mimetype(request.headers.get(hdrs.CONTENT_TYPE, ""))
    return (mimetype.type, mimetype.subtype) == ("multipart", "form-data")


# -- a small form read whole -------------------------------------------------------------------

# A form this size or under (every text field of the citizen's form with room to spare: the
# message is 20 Kio at most) is read whole and split in memory, instead of line by line through
# aiohttp's multipart reader (its readline-based parsing was the largest share of the gateway's
# CPU for a form posted: ``bench.web_path``). Larger bodies (files) stay streamed.
SMALL_BODY = 64 * 1024
MAX_FIELD_SIZE = 8190  # aiohttp's limits for a part's header line and header count
MAX_HEADERS = 128


class BodyCut(ConnectionResetError):
    """The citizen's bytes stopped before the body was whole (what a broken connection raises
    while the multipart reader reads)."""


class Part:
    """One part of a body read whole: what ``gateway.citizen.uploads`` uses of aiohttp's
    ``BodyPartReader`` (``headers``, ``name``, ``filename``, ``get_charset``, ``read_chunk``).
    A part the body stops in (``cut``) gives what came, then raises :class:`BodyCut`."""

    def __init__(
        self, headers: Any, data: bytes, *, cut: bool, default_charset: str | None
    ) -> None:
        self.headers = headers
        self._data = data
        self._at = 0
        self._cut = cut
        self._default_charset = default_charset
        _, params = parse_content_disposition(headers.get(hdrs.CONTENT_DISPOSITION))
        self.name = multipart.content_disposition_filename(params, "name")
        self.filename = multipart.content_disposition_filename(params, "filename")

    def get_charset(self, default: str) -> str:
        mimetype = parse_mimetype(self.headers.get(hdrs.CONTENT_TYPE, ""))
        return mimetype.parameters.get("charset", self._default_charset or default)

    def take(self, size: int) -> bytes:
        chunk = self._data[self._at : self._at + size]
        self._at += len(chunk)
        if not chunk and self._cut:
            raise BodyCut("the body stopped in this part")
        return chunk

    async def read_chunk(self, size: int) -> bytes:
        return self.take(size)


class Parts:
    """A ``multipart/form-data`` body already in memory, part after part as aiohttp's
    ``MultipartReader.next`` gives them (None after the closing boundary), with its rules: the
    preamble skipped, a boundary line compared without its trailing spaces, a part ending at
    CRLF and the boundary, its headers through aiohttp's own parser, ``_charset_`` as the first
    part setting the default charset, a nested multipart refused (``ValueError``, as unreadable).

    ``whole``: whether every byte declared came; if not, running out of bytes raises
    :class:`BodyCut` (the citizen's connection), else ``ValueError`` (a malformed body)."""

    def __init__(self, content_type: str, body: bytes, *, whole: bool) -> None:
        boundary = parse_mimetype(content_type).parameters.get("boundary")
        if not boundary or len(boundary) > 70:
            raise ValueError("no usable boundary")
        self._delim = b"--" + boundary.encode()
        self._body = body
        self._whole = whole
        self._at = 0
        self._started = False
        self._done = False
        self._first_part = True
        self._default_charset: str | None = None

    def _short(self) -> Exception:
        return ValueError("malformed multipart body") if self._whole else BodyCut("cut")

    def _line(self) -> bytes:
        """The next line without its end; raises when no line end is left."""
        end = self._body.find(b"\n", self._at)
        if end < 0:
            raise self._short()
        line = self._body[self._at : end]
        self._at = end + 1
        return line

    async def next(self) -> Part | None:
        if self._done:
            return None
        if not self._started:
            self._started = True
            while True:  # the preamble, then the first boundary
                if self._at >= len(self._body):
                    raise self._short()
                end = self._body.find(b"\n", self._at)
                line = self._body[self._at : end if end >= 0 else len(self._body)].rstrip()
                self._at = end + 1 if end >= 0 else len(self._body)
                if line == self._delim:
                    break
                if line == self._delim + b"--":
                    self._done = True
                    return None
        lines = []
        while True:
            line = self._line()
            if len(line) > MAX_FIELD_SIZE:
                raise ValueError("part header too long")
            line = line.rstrip(b"\r\n")
            lines.append(line)
            if not line:
                break
            if len(lines) > MAX_HEADERS:
                raise ValueError("too many part headers")
        headers, _ = HeadersParser(max_field_size=MAX_FIELD_SIZE).parse_headers(lines)
        if parse_mimetype(headers.get(hdrs.CONTENT_TYPE, "")).type == "multipart":
            raise ValueError("nested multipart")
        end = self._body.find(b"\r\n" + self._delim, self._at)
        cut = end < 0
        if cut and self._whole:
            raise ValueError("a part without its closing boundary")
        data = self._body[self._at : len(self._body) if cut else end]
        part = Part(headers, data, cut=cut, default_charset=self._default_charset)
        if cut:
            self._done = True
            return part
        self._at = end + 2
        boundary = self._line_or_rest().rstrip()
        if boundary == self._delim + b"--":
            self._done = True
        elif boundary != self._delim:
            raise ValueError("invalid boundary")
        if self._first_part and part.name == "_charset_":
            self._first_part = False
            charset = part.take(32)
            if len(charset) > 31:
                raise ValueError("invalid default charset")
            self._default_charset = charset.strip().decode()
            return await self.next()
        self._first_part = False
        return part

    def _line_or_rest(self) -> bytes:
        end = self._body.find(b"\n", self._at)
        if end < 0:  # the closing boundary may end the body without a line end
            line, self._at = self._body[self._at :], len(self._body)
            if line.rstrip() != self._delim + b"--" and not self._whole:
                raise BodyCut("cut")
            return line
        line = self._body[self._at : end]
        self._at = end + 1
        return line
