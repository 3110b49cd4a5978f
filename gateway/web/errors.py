"""What the gateway answers when a route goes wrong, instead of aiohttp's English text.

- Pages: a page of the site in French for an unknown address, a form's address opened
  directly, a form too large, an error of ours (with a reference the support finds in the
  logs: the correlation id), a database or service that does not answer. Without this, a
  citizen got "404: Not Found" or the JSON meant for programs (``shared.web.observe``).
- ``/api/``: aiohttp's own refusals (an unknown route or method, a body over the size limit)
  get a JSON body like every other API error."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from gateway.web import csrf
from shared import logs
from shared.db import is_transient
from shared.web import json_error

log = logging.getLogger(__name__)


class ServiceUnavailable(Exception):
    """A service did not answer (down, or too slow): raised by the clients' transport, answered
    here with the « service indisponible » page."""


# Seconds to wait before trying again when a service or its database is down.
UNAVAILABLE_RETRY_AFTER = "5"


def unavailable(request: web.Request) -> web.Response:
    page = aiohttp_jinja2.render_template(
        "unavailable.html", request, {"csrf_token": csrf.token_for(request)}, status=503
    )
    page.headers["Retry-After"] = UNAVAILABLE_RETRY_AFTER
    return page


API = "/api/"
# Routes that answer programs, not people (Open311 words its own errors, in XML or JSON).
NOT_PAGES = (API, "/open311/", "/metrics", "/health/", "/static/")

NOT_FOUND = (
    "Page introuvable",
    "L'adresse demandée n'existe pas sur le portail. Vérifiez-la, ou repartez de l'accueil : "
    "vous pouvez y soumettre une requête ou suivre une requête avec son code.",
)
FORM_ADDRESS = (
    "Cette page ne s'ouvre pas directement",
    "Cette adresse reçoit un formulaire envoyé : elle ne s'affiche pas seule, par exemple "
    "après avoir rechargé la page. Repartez de la page du formulaire.",
)
TOO_LARGE = (
    "Envoi trop volumineux",
    "Le formulaire envoyé dépasse la taille permise. Revenez à la page et raccourcissez votre "
    "saisie.",
)
OUR_ERROR = (
    "Une erreur est survenue",
    "Votre demande n'a pas abouti à cause d'une erreur de notre part. Réessayez dans quelques "
    "instants. Si l'erreur se reproduit, donnez au support la référence ci-dessous.",
)


# What an API client is told, in French as every other API message, when aiohttp refuses.
API_REFUSALS = {
    404: "Point d'accès inconnu.",
    405: "Méthode non permise à cette adresse (voir l'en-tête Allow).",
    413: "Corps trop volumineux.",
}


def api_unavailable() -> web.Response:
    """503 to an API client when a service does not answer, with when to try again."""
    response = json_error(
        503, "service_unavailable", "Le service ne répond pas : réessayez dans un moment."
    )
    response.headers["Retry-After"] = UNAVAILABLE_RETRY_AFTER
    return response


def passed_on(status: int, body: Any) -> web.Response:
    """A service's answer as an API client gets it: a refusal carries the call's correlation id
    (intake words some bodies itself, without it), and a limit passed or a service whose
    database is down (503) says ``Retry-After``, which the service's own header gave only to us."""
    if status >= 400 and isinstance(body, dict) and "correlation_id" not in body:
        if cid := logs.correlation_id.get():
            body = {**body, "correlation_id": cid}
    response = web.json_response(body, status=status)
    if status == 429 and isinstance(body, dict) and isinstance(body.get("retry_after"), int):
        response.headers["Retry-After"] = str(body["retry_after"])
    elif status == 503:
        response.headers["Retry-After"] = UNAVAILABLE_RETRY_AFTER
    return response


def _own_words(exc: web.HTTPException, otherwise: str) -> str:
    """The text a handler gave its refusal (« Ce compte n'existe pas. »), not aiohttp's."""
    given = exc.text or ""
    if exc.content_type == "text/plain" and given and given != f"{exc.status}: {exc.reason}":
        return given
    return otherwise


def page(request: web.Request, status: int, title: str, text: str, **extra) -> web.Response:
    context = {"title": title, "text": text, **extra}
    return aiohttp_jinja2.render_template("page_error.html", request, context, status=status)


async def _api_route(request: web.Request, handler: Callable) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400 or exc.content_type == "application/json":
            raise  # ours, already JSON (shared.web.read_json's refusals)
        # aiohttp's own, in plain text: no route, wrong method, body over the size limit…
        # Its text (« 404: Not Found ») is English among French messages: ours instead.
        response = json_error(
            exc.status,
            exc.reason.lower().replace(" ", "_"),
            API_REFUSALS.get(exc.status, _own_words(exc, "Requête refusée.")),
        )
        for name in ("Allow", "Retry-After"):
            if name in exc.headers:
                response.headers[name] = exc.headers[name]
        return response


@web.middleware
async def answer_errors(request: web.Request, handler: Callable) -> web.StreamResponse:
    if request.path.startswith(API):
        return await _api_route(request, handler)
    if request.path.startswith(NOT_PAGES):
        try:
            return await handler(request)
        except web.HTTPNotFound as exc:
            # aiohttp's « 404: Not Found » (a static file we do not have): English otherwise.
            raise web.HTTPNotFound(text=_own_words(exc, "Introuvable.")) from None
    try:
        return await handler(request)
    except web.HTTPNotFound as exc:
        title, text = NOT_FOUND
        return page(request, 404, title, _own_words(exc, text))
    except web.HTTPRequestEntityTooLarge:
        return page(request, 413, *TOO_LARGE)
    except web.HTTPMethodNotAllowed as exc:
        response = page(request, 405, *FORM_ADDRESS)
        response.headers["Allow"] = exc.headers.get("Allow", "")
        return response
    except web.HTTPException:
        raise  # redirects, and the refusals the pages word themselves
    except ServiceUnavailable:
        return unavailable(request)
    except Exception as exc:
        if is_transient(exc):
            log.warning("database unavailable: %r", exc)
            response = unavailable(request)
            response.headers["Retry-After"] = "5"
            return response
        log.exception("unhandled error on a page")
        return page(request, 500, *OUR_ERROR, reference=logs.correlation_id.get() or "")
