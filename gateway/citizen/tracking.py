"""« Suivre une requête »: the citizen's tracking pages.

- ``/suivre``: code + email → the request's table, its history and the steps;
- ``/suivre/modifier``: the rewritten message of a request sent back for reformulation;
- ``/suivre/code-oublie``: « Code requête oublié ? », the codes emailed to the address.

Intake does the work (look-up, throttling, rewrite, reminder); the gateway says who is asking
(the client address, from ``X-Forwarded-For`` only behind a trusted proxy) and renders. Every
page works without JavaScript; a result page showing personal data is never cached.
"""

from __future__ import annotations

import math
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from gateway.clients.intake import INTAKE
from gateway.clients.transport import ServiceUnavailable
from gateway.web import csrf, forms
from shared import lifecycle
from shared.codes import is_well_formed, normalize

routes = web.RouteTableDef()

# « Comprendre les étapes de traitement », in the citizen guide's words.
STEPS = lifecycle.STEPS
REWRITTEN = (
    "Votre message a bien été modifié. Votre requête attend de nouveau l'examen de l'analyste."
)
TRACK_LABELS = {"code": "Code Requête", "email": "Adresse électronique utilisée"}


def retry_message(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return f"Trop de tentatives. Réessayez dans {minutes} minute{'s' if minutes > 1 else ''}."


def _retry_after(body: Any) -> int:
    try:
        return max(1, int(body.get("retry_after", 60)))
    except (AttributeError, TypeError, ValueError):
        return 60


def _private(response: web.StreamResponse) -> web.StreamResponse:
    # The page shows the citizen's request: no shared cache, no back-button copy after leaving.
    response.headers["Cache-Control"] = "no-store"
    return response


def _unavailable(request: web.Request) -> web.Response:
    return aiohttp_jinja2.render_template(
        "unavailable.html", request, {"csrf_token": csrf.token_for(request)}, status=503
    )


def _track_form(
    request: web.Request, values: dict[str, str], status: int = 200, **context: Any
) -> web.Response:
    context.setdefault("errors", {})
    context.update(values=values, csrf_token=csrf.token_for(request))
    response = aiohttp_jinja2.render_template("track.html", request, context, status=status)
    return _private(response)


def _throttled_form(request: web.Request, values: dict[str, str], body: Any) -> web.Response:
    seconds = _retry_after(body)
    response = _track_form(request, values, 429, throttled=retry_message(seconds))
    response.headers["Retry-After"] = str(seconds)
    return response


def _tracking_page(
    request: web.Request, view: dict, email: str, status: int = 200, **context: Any
) -> web.Response:
    context.update(
        request_view=view,
        email=email,
        steps=STEPS,
        csrf_token=csrf.token_for(request),
    )
    context.setdefault("rewrite_value", None)
    response = aiohttp_jinja2.render_template("tracking.html", request, context, status=status)
    return _private(response)


def _typed(form: Any, *names: str) -> dict[str, str]:
    return {name: str(form.get(name, "")).strip() for name in names}


def _check_code_and_email(values: dict[str, str]) -> dict[str, str]:
    """The errors said before asking intake: a missing field, a mistyped code."""
    errors: dict[str, str] = {}
    code = normalize(values["code"])
    if not code:
        errors["code"] = "Saisissez le code de votre requête."
    elif not is_well_formed(code):
        errors["code"] = "Ce code est mal saisi : il compte 10 chiffres, vérifiez-les."
    if not values["email"]:
        errors["email"] = "Saisissez l'adresse électronique utilisée."
    return errors


@routes.get("/suivre")
async def track_form(request: web.Request) -> web.Response:
    return _track_form(request, {"code": request.query.get("code", "")[:40], "email": ""})


@routes.post("/suivre")
async def track(request: web.Request) -> web.Response:
    form = await request.post()
    values = _typed(form, "code", "email")
    errors = _check_code_and_email(values)
    if errors:
        return _track_form(request, values, 422, errors=errors)
    try:
        status, body = await request.app[INTAKE].track(normalize(values["code"]), values["email"])
    except ServiceUnavailable:
        return _unavailable(request)
    if status == 200:
        return _tracking_page(request, body, values["email"])
    if status == 404:
        return _track_form(request, values, 404, not_found=True)
    if status == 422:
        return _track_form(
            request, values, 422, errors=forms.errors_by_field(body.get("errors", []))
        )
    if status == 429:
        return _throttled_form(request, values, body)
    return _unavailable(request)


@routes.post("/suivre/modifier")
async def rewrite(request: web.Request) -> web.Response:
    form = await request.post()
    values = _typed(form, "code", "email")
    message = str(form.get("message", ""))
    errors = _check_code_and_email(values)
    if errors:
        return _track_form(request, values, 422, errors=errors)
    try:
        status, body = await request.app[INTAKE].rewrite(
            normalize(values["code"]), values["email"], message
        )
    except ServiceUnavailable:
        return _unavailable(request)
    email = values["email"]
    if status == 200:
        return _tracking_page(request, body, email, notice=REWRITTEN)
    if status == 409 and body.get("view"):
        return _tracking_page(request, body["view"], email, 409, problem=body.get("message"))
    if status == 422 and body.get("view"):
        return _tracking_page(
            request,
            body["view"],
            email,
            422,
            rewrite_errors=forms.errors_by_field(body.get("errors", [])),
            rewrite_value=message,
        )
    if status == 404:
        return _track_form(request, values, 404, not_found=True)
    if status == 422:
        return _track_form(
            request, values, 422, errors=forms.errors_by_field(body.get("errors", []))
        )
    if status == 429:
        return _throttled_form(request, values, body)
    return _unavailable(request)


def _forgot_form(
    request: web.Request, values: dict[str, str], status: int = 200, **context: Any
) -> web.Response:
    context.setdefault("errors", {})
    context.update(values=values, csrf_token=csrf.token_for(request))
    return aiohttp_jinja2.render_template("forgot_code.html", request, context, status=status)


@routes.get("/suivre/code-oublie")
async def forgot_form(request: web.Request) -> web.Response:
    return _forgot_form(request, {"email": ""})


@routes.post("/suivre/code-oublie")
async def forgot(request: web.Request) -> web.Response:
    form = await request.post()
    values = _typed(form, "email")
    if not values["email"]:
        return _forgot_form(
            request, values, 422, errors={"email": "Saisissez votre adresse électronique."}
        )
    try:
        status, body = await request.app[INTAKE].remind_codes(values["email"])
    except ServiceUnavailable:
        return _unavailable(request)
    if status == 202:
        return _forgot_form(request, values, sent=body.get("message"))
    if status == 422:
        return _forgot_form(
            request, values, 422, errors=forms.errors_by_field(body.get("errors", []))
        )
    if status == 429:
        seconds = _retry_after(body)
        response = _forgot_form(request, values, 429, throttled=retry_message(seconds))
        response.headers["Retry-After"] = str(seconds)
        return response
    return _unavailable(request)
