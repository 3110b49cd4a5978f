"""What the gateway reads of a request before any handler: an address without a NUL character,
and a body that comes in time and can be read.

- A ``%00`` in the path or the query string is refused here (400): PostgreSQL stores no NUL, so
  a code, an id or a filter holding one failed as a 500 in whichever service it reached.
- A body read whole (every form without files, every API body: 2 Mo at most) is read here
  first, within ``body_timeout``: a client declaring more bytes than it sends held the
  connection and the handler forever (aiohttp times no body). It now gets a 408 and the
  connection is closed. The forms that stream their files (``csrf.reads_own_body``) read their
  bodies themselves, each wait for the citizen's bytes timed (``gateway.citizen.uploads``).
- A page's form that cannot be read (bytes that are not UTF-8, a multipart body without its
  boundary or cut short, a charset nobody knows) is a 400 page saying so, where aiohttp's
  parser raised out of the handler as a 500. The APIs' bodies are only read here: each API
  parses its own and words its own refusal.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from gateway.web import csrf, errors, form_parts
from gateway.web.keys import GATEWAY_SETTINGS
from shared.web import json_error

log = logging.getLogger(__name__)

WITH_BODY = ("POST", "PUT", "PATCH")
FORM = "application/x-www-form-urlencoded"
# An API that words its refusals its own way, by its path's prefix:
# (request, status, error code, message) -> its answer.
Refuse = Callable[[web.Request, int, str, str], web.Response]
REFUSED_BY = web.AppKey("refused_by", dict[str, Refuse])


@dataclass(frozen=True)
class Refusal:
    status: int
    title: str  # a page's title and text
    text: str
    error: str  # what an API client reads: its error code and message
    message: str


NUL_IN_ADDRESS = Refusal(
    400,
    "Adresse invalide",
    "L'adresse demandée contient un caractère nul : elle ne mène à aucune page. Repartez de "
    "l'accueil.",
    "invalid_address",
    "L'adresse contient un caractère nul (%00) : refusée.",
)
TOO_SLOW = Refusal(
    408,
    "Envoi interrompu",
    "Le formulaire n'est pas arrivé en entier : votre connexion a été coupée ou n'a plus rien "
    "transmis. Revenez à la page et envoyez-le à nouveau.",
    "request_timeout",
    "Le corps annoncé n'est pas arrivé en entier à temps : envoyez-le à nouveau.",
)
UNREADABLE = Refusal(
    400,
    "Formulaire illisible",
    "Le formulaire envoyé n'a pas pu être lu. Revenez à la page et recommencez.",
    "invalid_body",
    "Le corps n'a pas pu être lu.",
)


def _own_words(request: web.Request) -> Refuse | None:
    """How the API asked words its refusals, where it words them its own way."""
    for prefix, refuse in request.app[REFUSED_BY].items():
        if request.path.startswith(prefix):
            return refuse
    return None


def _refused(request: web.Request, refusal: Refusal) -> web.Response:
    """The refusal in the words of the part asked: an API's own (``REFUSED_BY``: Open311's
    errors, the ministry API's problems), JSON for /api/, else a page."""
    if refuse := _own_words(request):
        return refuse(request, refusal.status, refusal.error, refusal.message)
    if request.path.startswith(errors.API):
        return json_error(refusal.status, refusal.error, refusal.message)
    return errors.page(request, refusal.status, refusal.title, refusal.text)


def _nul_in_address(request: web.Request) -> bool:
    return "\x00" in request.path or any(
        "\x00" in name or "\x00" in value for name, value in request.query.items()
    )


def reads_own_body(handler: Callable) -> Callable:
    """Mark a handler that reads its body itself, as it comes (the ministries' documents): left
    unread here, its waits for the client's bytes are its own to time."""
    handler.reads_own_body = True  # type: ignore[attr-defined]
    return handler


def _left_to_handler(request: web.Request) -> bool:
    handler = request.match_info.handler
    return getattr(handler, "reads_own_body", False) or csrf.streams_itself(request)


async def _read(request: web.Request) -> None:
    """The body read whole, then kept by aiohttp for the handler: a multipart form or a page's
    form parsed (a multipart body is parsed as it is read, it cannot be read twice), any other
    body as bytes (the API parses it: Open311's form, the JSON)."""
    if form_parts.is_form_data(request) or (
        request.content_type == FORM and not request.path.startswith(errors.NOT_PAGES)
    ):
        await request.post()
    else:
        await request.read()


@web.middleware
async def read_first(request: web.Request, handler: Callable) -> web.StreamResponse:
    if _nul_in_address(request):
        return _refused(request, NUL_IN_ADDRESS)
    if request.method not in WITH_BODY or not request.body_exists or _left_to_handler(request):
        return await handler(request)
    try:
        async with asyncio.timeout(request.app[GATEWAY_SETTINGS].body_timeout):
            await _read(request)
    except TimeoutError:
        log.info(
            "body not received in time: %s bytes of %s",
            request.content.total_bytes,
            request.content_length,
        )
        response = _refused(request, TOO_SLOW)
        response.force_close()  # the rest of the body will not be read
        return response
    except web.HTTPRequestEntityTooLarge:
        if refuse := _own_words(request):  # else answered by gateway.web.errors, in our words
            return refuse(request, 413, "too_large", errors.API_REFUSALS[413])
        raise
    # UnicodeDecodeError is a ValueError; a part's header aiohttp's parser refuses (a control
    # character in a field's name) is an HttpProcessingError (schemathesis found it: a 500).
    except (ValueError, LookupError, HttpProcessingError) as exc:
        log.info("unreadable form: %r", exc)
        response = _refused(request, UNREADABLE)
        response.force_close()
        return response
    return await handler(request)
