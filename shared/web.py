"""What every HTTP server here shares: metrics, correlation ids, JSON errors, health."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from prometheus_client.aiohttp import make_aiohttp_handler
from pydantic import BaseModel, ValidationError

from shared import logs, metrics
from shared.db import is_transient

log = logging.getLogger(__name__)
CORRELATION_HEADER = "X-Correlation-ID"
ReadyCheck = Callable[[], Awaitable[bool]]
READY_CHECKS = web.AppKey("ready_checks", dict)


def field_errors(exc: ValidationError) -> list[dict[str, str]]:
    """Pydantic errors as ``[{field, code, message}]``, the body of every 422 here."""
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"] if p not in ("body", "__root__")]
        out.append(
            {
                "field": ".".join(loc) or "body",
                "code": err["type"],
                "message": str(err["msg"]).removeprefix("Value error, "),
            }
        )
    return out


def error_body(error: str, message: str, **extra: Any) -> dict[str, Any]:
    body = {"error": error, "message": message, **extra}
    if cid := logs.correlation_id.get():
        body["correlation_id"] = cid
    return body


def json_error(status: int, error: str, message: str, **extra: Any) -> web.Response:
    return web.json_response(error_body(error, message, **extra), status=status)


def _refusal(refusal: type[web.HTTPException], error: str, message: str) -> web.HTTPException:
    return refusal(text=json.dumps(error_body(error, message)), content_type="application/json")


def require_json(request: web.Request) -> None:
    """Raise a 415 JSON answer unless the request says its body is JSON."""
    if request.content_type != "application/json":
        raise _refusal(
            web.HTTPUnsupportedMediaType, "unsupported_media_type", "send application/json"
        )


def invalid_json() -> web.HTTPException:
    """The 400 JSON answer to a body that is not JSON, to raise."""
    return _refusal(web.HTTPBadRequest, "invalid_json", "the body is not valid JSON")


async def read_json(request: web.Request) -> object:
    """The request's JSON body, any JSON value; a 415 or 400 JSON answer is raised otherwise."""
    require_json(request)
    try:
        return await request.json()
    except ValueError:
        raise invalid_json() from None


async def parse_json(request: web.Request, model: type[BaseModel]) -> Any:
    """The request body as ``model``; a 400/415/422 JSON answer is raised on bad input."""
    require_json(request)
    try:
        raw = await request.read()
        return model.model_validate_json(raw)
    except ValidationError as exc:
        errors = field_errors(exc)
        if any(e["code"] == "json_invalid" for e in errors):
            raise invalid_json() from None
        raise ApiValidationError(errors) from None


class ApiValidationError(Exception):
    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("validation failed")
        self.errors = errors


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
        except ApiValidationError as exc:
            response = json_error(
                422, "validation_failed", "some fields are invalid", errors=exc.errors
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
                    503, "service_unavailable", "temporarily unavailable; retry later"
                )
                response.headers["Retry-After"] = "5"
            else:
                log.exception("unhandled error", extra={"route": route})
                response = json_error(500, "internal_error", "an unexpected error occurred")
        status = response.status
        response.headers[CORRELATION_HEADER] = logs.correlation_id.get() or cid
        return response
    finally:
        metrics.HTTP_REQUESTS.labels(route, request.method, str(status)).inc()
        metrics.HTTP_LATENCY.labels(route, request.method).observe(time.perf_counter() - started)
        logs.correlation_id.reset(token)


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
