"""What every HTTP server here shares: metrics, correlation ids, JSON errors, health."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import web
from prometheus_client.aiohttp import make_aiohttp_handler
from pydantic import BaseModel, ValidationError

from shared import logs, metrics
from shared.db import is_transient

log = logging.getLogger(__name__)
CORRELATION_HEADER = "X-Correlation-ID"
ReadyCheck = Callable[[], Awaitable[bool]]
READY_CHECKS = web.AppKey("ready_checks", dict)


FieldError = dict[str, str]  # {"field", "code", "message"}
M = TypeVar("M", bound=BaseModel)

# The one sentence above the list of faulty fields, in every service's 422.
INVALID_MESSAGE = "Certains champs sont invalides."

# French messages for the errors pydantic reports, by error type; other types get
# ``OTHER_ERROR``, and a ``value_error`` keeps ours (validators here write French).
FRENCH_ERRORS = {
    "missing": "Ce champ est obligatoire.",
    "string_too_short": "Ce champ est obligatoire.",
    "string_too_long": "Ce texte est trop long.",
    "enum": "Choisissez une valeur dans la liste.",
    "string_pattern_mismatch": "Valeur invalide.",
    "extra_forbidden": "Champ inconnu.",
    "bool_parsing": "Valeur invalide.",
    "string_type": "Valeur invalide.",
    "model_type": "Valeur invalide.",
    # A lone surrogate (« \ud800 »), which no text encodes.
    "string_unicode": "Ce texte contient un caractère invalide.",
}
# Any other type pydantic reports: its own message is English (« Input should be a valid
# dictionary »), never shown.
OTHER_ERROR = "Valeur invalide."

# What only the signed call says (``shared.signing``): a body that names them is refused.
ENVELOPE_FIELDS = ("channel", "client_address")


def field_error(field: str, message: str, code: str = "value_error") -> FieldError:
    """One entry of a 422's ``errors``."""
    return {"field": field, "code": code, "message": message}


class FieldErrors(Exception):
    """Input refused field by field; :func:`observe` answers it with the 422
    ``{"error": "validation_failed", "message": INVALID_MESSAGE, "errors": [...], **extra}``."""

    def __init__(self, errors: list[FieldError], **extra: Any) -> None:
        super().__init__("invalid input")
        self.errors = errors
        self.extra = extra


def field_errors(exc: ValidationError) -> list[FieldError]:
    """Pydantic errors as ``[{field, code, message}]``, pydantic's own (English) messages."""
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"] if p not in ("body", "__root__")]
        out.append(
            field_error(
                ".".join(loc) or "body",
                str(err["msg"]).removeprefix("Value error, "),
                err["type"],
            )
        )
    return out


def french(errors: list[FieldError]) -> list[FieldError]:
    """Replace pydantic's English messages by French ones; custom messages are French already."""
    out = []
    for err in errors:
        message = FRENCH_ERRORS.get(err["code"], OTHER_ERROR)
        if err["code"] == "value_error":
            message = err["message"]
        out.append({**err, "message": message})
    return out


def merge_errors(*groups: list[FieldError]) -> list[FieldError]:
    """One error per field, the first given winning."""
    seen: dict[str, FieldError] = {}
    for group in groups:
        for err in group:
            seen.setdefault(err["field"], err)
    return list(seen.values())


def refuse_envelope(raw: object) -> None:
    """Raise :class:`FieldErrors` when the body names its own channel or client address."""
    if isinstance(raw, dict) and (named := [name for name in ENVELOPE_FIELDS if name in raw]):
        raise FieldErrors(
            [
                field_error(
                    name,
                    "Ce champ n'est pas permis : la passerelle l'indique elle-même.",
                    "extra_forbidden",
                )
                for name in named
            ]
        )


def validate(
    model: type[M], raw: object, also: Callable[[object], list[FieldError]] | None = None
) -> M:
    """``raw`` as ``model``; raises :class:`FieldErrors` in French, followed by ``also(raw)``'s
    errors for fields pydantic did not name (rules that read the raw input)."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        errors = french(field_errors(exc))
        raise FieldErrors(merge_errors(errors, also(raw)) if also else errors) from None


async def read_model(request: web.Request, model: type[M]) -> M:
    """The request's JSON body as ``model``: what every service's API reads its input with.

    415 unless the body says it is JSON, 400 when it is not, :class:`FieldErrors` (422) for a
    body that names the signed call's fields or that ``model`` refuses."""
    raw = await read_json(request)
    refuse_envelope(raw)
    refuse_nul(raw)
    return validate(model, raw)


def _nul_paths(raw: object, path: str = "") -> list[str]:
    if isinstance(raw, str):
        return [path or "body"] if "\x00" in raw else []
    if isinstance(raw, dict):
        return [p for k, v in raw.items() for p in _nul_paths(v, f"{path}.{k}" if path else k)]
    if isinstance(raw, list):
        return [p for i, v in enumerate(raw) for p in _nul_paths(v, f"{path}.{i}")]
    return []


def refuse_nul(raw: object) -> None:
    """Raise :class:`FieldErrors` for a text holding a NUL character: PostgreSQL stores none, so
    it would fail as a 500 far from here (schemathesis found it on the ministry API)."""
    if paths := _nul_paths(raw):
        raise FieldErrors(
            [
                field_error(p, "Ce texte contient un caractère nul, refusé.", "string_pattern")
                for p in paths[:20]
            ]
        )


def error_body(error: str, message: str, **extra: Any) -> dict[str, Any]:
    body = {"error": error, "message": message, **extra}
    if cid := logs.correlation_id.get():
        body["correlation_id"] = cid
    return body


def json_error(status: int, error: str, message: str, **extra: Any) -> web.Response:
    return web.json_response(error_body(error, message, **extra), status=status)


def not_found(message: str = "Introuvable.") -> web.Response:
    return json_error(404, "not_found", message)


def _refusal(refusal: type[web.HTTPException], error: str, message: str) -> web.HTTPException:
    return refusal(text=json.dumps(error_body(error, message)), content_type="application/json")


def require_json(request: web.Request) -> None:
    """Raise a 415 JSON answer unless the request says its body is JSON."""
    if request.content_type != "application/json":
        raise _refusal(
            web.HTTPUnsupportedMediaType,
            "unsupported_media_type",
            "Envoyez du JSON (Content-Type: application/json).",
        )


def invalid_json() -> web.HTTPException:
    """The 400 JSON answer to a body that is not JSON, to raise."""
    return _refusal(web.HTTPBadRequest, "invalid_json", "Le corps n'est pas du JSON valide.")


async def read_json(request: web.Request) -> object:
    """The request's JSON body, any JSON value; a 415 or 400 JSON answer is raised otherwise."""
    require_json(request)
    try:
        return await request.json()
    # Not JSON, bytes that are not text, a charset nobody knows (LookupError), or nested deeper
    # than the parser goes (10,000 « [ »: RecursionError) — all the client's, none a 500.
    except (ValueError, LookupError, RecursionError):
        raise invalid_json() from None


def _route_name(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def observe(request: web.Request, handler: Callable) -> web.StreamResponse:
    """Correlation id in and out, latency and status per route, JSON for API errors."""
    cid = request.headers.get(CORRELATION_HEADER) or uuid.uuid4().hex
    token = logs.correlation_id.set(cid[:64])
    started = time.perf_counter()
    route = _route_name(request)
    status = 500
    try:
        try:
            response = await handler(request)
        except FieldErrors as exc:
            response = json_error(
                422, "validation_failed", INVALID_MESSAGE, errors=exc.errors, **exc.extra
            )
        except web.HTTPException as exc:
            status = exc.status
            exc.headers[CORRELATION_HEADER] = logs.correlation_id.get() or cid
            raise
        except Exception as exc:
            if is_transient(exc):
                # The database is down or restarting (the unit of work was already retried): a
                # 503 tells the client to come back, where a 500 would say its request is wrong.
                log.warning("database unavailable: %r", exc, extra={"route": route})
                response = json_error(
                    503,
                    "service_unavailable",
                    "Service momentanément indisponible : réessayez dans un moment.",
                )
                response.headers["Retry-After"] = "5"
            else:
                log.exception("unhandled error", extra={"route": route})
                response = json_error(
                    500,
                    "internal_error",
                    "Une erreur inattendue est survenue : donnez au support le correlation_id.",
                )
        status = response.status
        response.headers[CORRELATION_HEADER] = logs.correlation_id.get() or cid
        return response
    finally:
        metrics.HTTP_REQUESTS.labels(route, request.method, str(status)).inc()
        metrics.HTTP_LATENCY.labels(route, request.method).observe(time.perf_counter() - started)
        logs.correlation_id.reset(token)


async def correlation_header(request: web.Request, response: web.StreamResponse) -> None:
    """The correlation id on a response a handler prepares itself (a file streamed as it is
    read): :func:`observe` sets it on the response returned, too late for one already sent."""
    if CORRELATION_HEADER not in response.headers and (cid := logs.correlation_id.get()):
        response.headers[CORRELATION_HEADER] = cid


async def live(_: web.Request) -> web.Response:
    return web.json_response({"status": "live"})


async def ready(request: web.Request) -> web.Response:
    checks = request.app[READY_CHECKS]
    results = {name: await check() for name, check in checks.items()}
    ok = all(results.values())
    return web.json_response(
        {"status": "ready" if ok else "not_ready", "checks": results}, status=200 if ok else 503
    )


def add_operations_routes(app: web.Application, metrics: bool = True) -> None:
    """``/metrics`` (unless ``metrics`` is False: served elsewhere), ``/health/live``,
    ``/health/ready`` (ready when every check passes)."""
    app.setdefault(READY_CHECKS, {})
    if metrics:
        app.router.add_get("/metrics", make_aiohttp_handler())
    app.router.add_get("/health/live", live)
    app.router.add_get("/health/ready", ready)
