"""Pages gzipped for the browsers that accept it.

The submission form is 21 KB of HTML and 4.7 KB gzipped: on a phone's 3G link that is the
difference between a page that appears and one that makes the citizen wait. A middleware, so that
it sees every page a handler returns (error pages included) and nothing else:

- only a :class:`web.Response` whose body is already whole (bytes): a streamed answer — an export,
  an attachment, a spreadsheet — is prepared by its handler and passes through untouched, as does
  anything sent as a download (``Content-Disposition``);
- only text meant to be read in place (HTML, CSS, JSON, SVG, plain text) and over
  :data:`MIN_SIZE`: below it, gzip's header costs more than it saves;
- only when the request's ``Accept-Encoding`` allows gzip; ``Vary: Accept-Encoding`` on every
  answer that could have been gzipped, so that a shared cache never hands the gzipped page to a
  browser that did not ask for it.

The body is compressed here, in one call, rather than by aiohttp's ``enable_compression()``, which
sends a body over 4 KB to a thread (the form page: a thread hop per citizen for 0.2 ms of work);
``Content-Length`` is the compressed size, as aiohttp computes it from the new body.
"""

from __future__ import annotations

import zlib
from collections.abc import Awaitable, Callable

from aiohttp import hdrs, web

MIN_SIZE = 1024
# zlib's default level: about 0.1 ms of CPU for a 16 KB page here, within 1 % of level 9's size.
LEVEL = 6
TEXT_TYPES = frozenset(
    {
        "text/html",
        "text/css",
        "text/plain",
        "application/json",
        "application/problem+json",
        "application/xml",
        "text/xml",
        "image/svg+xml",
    }
)


def accepts_gzip(request: web.Request) -> bool:
    """``Accept-Encoding`` allows gzip: named (or ``x-gzip``, or ``*``) without ``q=0``."""
    offered: dict[str, float] = {}
    for item in request.headers.get(hdrs.ACCEPT_ENCODING, "").lower().split(","):
        coding, _, params = item.strip().partition(";")
        weight = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if coding:
            offered[coding.strip()] = weight
    for name in ("gzip", "x-gzip", "*"):
        if name in offered:
            return offered[name] > 0
    return False


def gzip_bytes(body: bytes) -> bytes:
    # A window as large as the body, not larger (the same output, and a small page — the
    # confirmation, the code — then costs half as much: zlib's set-up is most of it), in the
    # gzip container (16 + window bits).
    bits = min(15, max(9, (len(body) - 1).bit_length()))
    packer = zlib.compressobj(LEVEL, zlib.DEFLATED, 16 + bits, max(1, bits - 7))
    return packer.compress(body) + packer.flush()


_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # no name, no time, OS unknown
_LAST_BLOCK = b"\x03\x00"  # an empty final block (fixed Huffman codes)


def _deflated(data: bytes) -> bytes:
    """``data`` as raw deflate blocks, none final, ending on a full flush: the compressor's
    history is cleared, so what follows may be compressed on its own and appended."""
    packer = zlib.compressobj(LEVEL, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush(zlib.Z_FULL_FLUSH)


class GzippedAround:
    """A page gzipped once around a hole that differs at each answer (a form's CSRF token).

    Each piece is compressed ahead as deflate blocks that end on a full flush, so the page of
    one answer is those blocks with the hole's own few bytes compressed between them: one gzip
    stream, as a browser reads any other, for the CRC of the page and a few bytes of
    compression instead of compressing 20 KB again."""

    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = pieces
        self.deflated = [_deflated(piece) for piece in pieces]
        self.size = sum(len(piece) for piece in pieces)

    def gzip(self, hole: bytes) -> bytes:
        crc = zlib.crc32(self.pieces[0])
        out = [_GZIP_HEADER, self.deflated[0]]
        if len(self.pieces) > 1:
            filled = _deflated(hole)
            for piece, deflated in zip(self.pieces[1:], self.deflated[1:], strict=True):
                crc = zlib.crc32(piece, zlib.crc32(hole, crc))
                out += [filled, deflated]
        size = self.size + len(hole) * (len(self.pieces) - 1)
        out += [_LAST_BLOCK, crc.to_bytes(4, "little"), (size & 0xFFFFFFFF).to_bytes(4, "little")]
        return b"".join(out)

    def plain(self, hole: bytes) -> bytes:
        return hole.join(self.pieces)


def _worth_compressing(response: web.StreamResponse) -> bool:
    if not isinstance(response, web.Response) or response.prepared:
        return False
    if not isinstance(response.body, bytes) or len(response.body) < MIN_SIZE:
        return False
    headers = response.headers
    if hdrs.CONTENT_ENCODING in headers or hdrs.CONTENT_DISPOSITION in headers:
        return False
    if hdrs.CONTENT_LENGTH in headers or response.status in (204, 206, 304):
        return False
    return response.content_type in TEXT_TYPES


def _add_vary(response: web.StreamResponse) -> None:
    vary = response.headers.get(hdrs.VARY, "")
    if "accept-encoding" not in vary.lower() and vary.strip() != "*":
        response.headers[hdrs.VARY] = f"{vary}, Accept-Encoding" if vary else "Accept-Encoding"


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def gzip_pages(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Gzip a whole text answer of at least :data:`MIN_SIZE` bytes when the browser accepts it."""
    response = await handler(request)
    if _worth_compressing(response):
        assert isinstance(response, web.Response)
        _add_vary(response)
        if accepts_gzip(request):
            response.body = gzip_bytes(response.body)  # type: ignore[arg-type]
            response.headers[hdrs.CONTENT_ENCODING] = "gzip"
    return response
