"""The citizen's pages: home, « Soumettre une requête », « Suivre une requête »."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web

from gateway import csrf, forms
from gateway.clients import ServiceUnavailable
from gateway.keys import SERVICES
from shared.codes import is_well_formed, normalize
from shared.messages import NATURE_LABELS, Nature

routes = web.RouteTableDef()


def _unavailable(request: web.Request) -> web.Response:
    return aiohttp_jinja2.render_template(
        "unavailable.html", request, {"csrf_token": csrf.token_for(request)}, status=503
    )


@routes.get("/")
@aiohttp_jinja2.template("home.html")
async def home(request: web.Request) -> dict[str, Any]:
    return {}


async def _catalogue(request: web.Request) -> dict[str, Any]:
    services = request.app[SERVICES]
    _, bodies = await services.call("GET", "intake", "/catalogue/bodies")
    _, themes = await services.call("GET", "intake", "/catalogue/themes")
    _, places = await services.call("GET", "intake", "/catalogue/places")
    groups: dict[str, list] = {}
    for theme in themes["themes"]:
        if theme["parent_id"]:
            groups.setdefault(theme["parent_id"], []).append(theme)
    parents = [t for t in themes["themes"] if not t["parent_id"]]
    regions: dict[str, list] = {}
    for place in places["places"]:
        regions.setdefault(place["region"], []).append(place)
    return {
        "bodies": bodies["bodies"],
        "theme_groups": [(p, groups.get(p["id"], [])) for p in parents],
        "regions": regions,
        "natures": [(n.value, NATURE_LABELS[n]) for n in Nature],
        "countries": forms.COUNTRIES,
    }


async def _render_form(
    request: web.Request, values: dict, errors: dict[str, str], status: int = 200
) -> web.Response:
    try:
        context = await _catalogue(request)
    except ServiceUnavailable:
        return _unavailable(request)
    context.update(
        values=values,
        errors=errors,
        labels=forms.FIELD_LABELS,
        csrf_token=csrf.token_for(request),
    )
    return aiohttp_jinja2.render_template("submit.html", request, context, status=status)


@routes.get("/soumettre")
async def submit_form(request: web.Request) -> web.Response:
    values = {
        "nature": request.query.get("nature", ""),
        "body_id": request.query.get("organisme", ""),
        "country": "CI",
        "submission_key": forms.new_submission_key(),
    }
    return await _render_form(request, values, {})


@routes.post("/soumettre")
async def submit(request: web.Request) -> web.Response:
    form = await request.post()
    values = {k: str(v) for k, v in form.items() if k != csrf.FIELD}
    values.setdefault("submission_key", forms.new_submission_key())
    payload = forms.submission_from_form(form)
    payload["submission_key"] = values["submission_key"]
    try:
        status, body = await request.app[SERVICES].call("POST", "intake", "/requests", json=payload)
    except ServiceUnavailable:
        return _unavailable(request)
    if status == 422:
        return await _render_form(request, values, forms.errors_by_field(body["errors"]), 422)
    if status not in (200, 201):
        return _unavailable(request)
    return aiohttp_jinja2.render_template(
        "submitted.html", request, {"code": body["code"], "nature_label": body["nature_label"]}
    )


@routes.get("/suivre")
async def track_form(request: web.Request) -> web.Response:
    values = {"code": request.query.get("code", ""), "email": ""}
    return aiohttp_jinja2.render_template(
        "track.html",
        request,
        {"values": values, "errors": {}, "csrf_token": csrf.token_for(request)},
    )


@routes.post("/suivre")
async def track(request: web.Request) -> web.Response:
    form = await request.post()
    values = {
        "code": str(form.get("code", "")).strip(),
        "email": str(form.get("email", "")).strip(),
    }
    errors: dict[str, str] = {}
    code = normalize(values["code"])
    if not code:
        errors["code"] = "Saisissez le code de votre requête."
    elif not is_well_formed(code):
        errors["code"] = "Ce code est mal saisi : il compte 10 chiffres, vérifiez-les."
    if not values["email"]:
        errors["email"] = "Saisissez l'adresse électronique utilisée."
    context = {"values": values, "errors": errors, "csrf_token": csrf.token_for(request)}
    if errors:
        return aiohttp_jinja2.render_template("track.html", request, context, status=422)
    try:
        status, body = await request.app[SERVICES].call(
            "POST", "intake", "/tracking", json={"code": code, "email": values["email"]}
        )
    except ServiceUnavailable:
        return _unavailable(request)
    if status == 200:
        context["request_view"] = body
        return aiohttp_jinja2.render_template("tracking.html", request, context)
    if status == 422:
        context["errors"] = forms.errors_by_field(body.get("errors", []))
        return aiohttp_jinja2.render_template("track.html", request, context, status=422)
    if status == 404:
        context["not_found"] = True
        return aiohttp_jinja2.render_template("track.html", request, context, status=404)
    return _unavailable(request)
