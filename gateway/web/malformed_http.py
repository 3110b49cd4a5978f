"""Malformed HTTP (a header line over 8 Kio, a byte not ASCII in the address, a Content-Length
that is no number, Content-Length beside chunked…), refused by aiohttp's parser before any
middleware of ours: a 400 whose body is a French sentence instead of the parser's English (which
quotes the client's bytes back), logged as one line instead of an ERROR with a traceback — a
broken or hostile client, not a fault of ours to look into.

aiohttp words these in ``RequestHandler.handle_error``, which no setting changes: :func:`install`
wraps it for the whole process, as ``form_parts.install`` does the multipart parser. Every other
answer of that method (a handler's 500, a 504) stays aiohttp's.

The answer carries the security headers every other answer carries (``security_headers``):
it comes before any route, so the hook that gives them to the others never sees it."""

from __future__ import annotations

from typing import Any

from aiohttp import web, web_protocol
from aiohttp.http_exceptions import HttpProcessingError

from gateway.web import security_headers

TEXT = "Requête HTTP mal formée : refusée."
_aiohttp_handle_error = web_protocol.RequestHandler.handle_error
# Whether the process serves production (HSTS then): set by :func:`install`.
_production = False


def handle_error(
    self: web_protocol.RequestHandler,
    request: Any,
    status: int = 500,
    exc: BaseException | None = None,
    message: str | None = None,
) -> web.StreamResponse:
    if not (isinstance(exc, HttpProcessingError) and 400 <= status < 500):
        return _aiohttp_handle_error(self, request, status, exc, message)
    self.logger.info("malformed HTTP from %s refused: %s", request.remote, type(exc).__name__)
    if request.writer.output_size > 0:  # as aiohttp: nothing more can be sent on it
        raise ConnectionError("Response is sent already, cannot send another response")
    response = web.Response(status=status, text=TEXT + "\n", charset="utf-8")
    security_headers.add(response.headers, _production)
    response.force_close()
    return response


def install(production: bool = False) -> None:
    """Make aiohttp answer malformed HTTP with :data:`TEXT` and the security headers (for the
    whole process; ``production``: with HSTS too)."""
    global _production
    _production = production
    web_protocol.RequestHandler.handle_error = handle_error  # type: ignore[method-assign]
