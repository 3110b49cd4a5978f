"""Intake's HTTP API (internal: the gateway calls it)."""

from __future__ import annotations

from typing import Annotated

from aiohttp import web
from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

from services.intake import repository as repo
from services.intake import submissions, tracking
from services.intake.domain import SubmissionIn, french, merge_errors, presence_errors
from shared.codes import is_well_formed, normalize
from shared.db import run_in_transaction
from shared.service import POOL
from shared.web import field_errors, json_error

routes = web.RouteTableDef()


async def _json_body(request: web.Request) -> object:
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(
            text='{"error":"unsupported_media_type","message":"send application/json"}',
            content_type="application/json",
        )
    try:
        return await request.json()
    except ValueError:
        raise web.HTTPBadRequest(
            text='{"error":"invalid_json","message":"the body is not valid JSON"}',
            content_type="application/json",
        ) from None


def _invalid(errors: list[dict[str, str]]) -> web.Response:
    return json_error(422, "validation_failed", "Certains champs sont invalides.", errors=errors)


@routes.post("/requests")
async def submit(request: web.Request) -> web.Response:
    raw = await _json_body(request)
    try:
        sub = SubmissionIn.model_validate(raw)
    except ValidationError as exc:
        return _invalid(merge_errors(french(field_errors(exc)), presence_errors(raw)))
    try:
        accepted = await run_in_transaction(
            request.app[POOL], lambda conn: submissions.submit(conn, sub)
        )
    except submissions.Refused as exc:
        return _invalid(exc.errors)
    return web.json_response(
        {
            "request_id": str(accepted.request_id),
            "code": accepted.code,
            "nature": sub.nature.value,
            "nature_label": sub.nature.label,
            "submitted_at": accepted.submitted_at.isoformat(),
            "replayed": accepted.replayed,
        },
        status=200 if accepted.replayed else 201,
    )


class TrackingIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")
    code: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    email: Annotated[str, StringConstraints(min_length=1, max_length=254)]


@routes.post("/tracking")
async def track(request: web.Request) -> web.Response:
    raw = await _json_body(request)
    try:
        query = TrackingIn.model_validate(raw)
    except ValidationError as exc:
        return _invalid(french(field_errors(exc)))
    code = normalize(query.code)
    if not is_well_formed(code):
        # Said before any look-up: a mistyped code is not a wrong code.
        return _invalid(
            [
                {
                    "field": "code",
                    "code": "code_mistyped",
                    "message": "Ce code est mal saisi : vérifiez les 10 chiffres.",
                }
            ]
        )
    async with request.app[POOL].acquire(timeout=10) as conn:
        view = await tracking.find(conn, code, query.email)
    if view is None:
        return json_error(
            404, "not_found", "Aucune requête ne correspond à ce code et à cette adresse."
        )
    return web.json_response(view)


def _body_json(row) -> dict:
    return {
        "id": row["id"],
        "name": row["name"],
        "phones": list(row["phones"]),
        "location": row["location"],
    }


@routes.get("/catalogue/bodies")
async def list_bodies(request: web.Request) -> web.Response:
    async with request.app[POOL].acquire(timeout=10) as conn:
        rows = await repo.bodies(conn)
    return web.json_response({"bodies": [_body_json(r) for r in rows]})


@routes.get("/catalogue/themes")
async def list_themes(request: web.Request) -> web.Response:
    async with request.app[POOL].acquire(timeout=10) as conn:
        rows = await repo.themes(conn)
    return web.json_response(
        {
            "themes": [
                {"id": r["id"], "parent_id": r["parent_id"], "label": r["label"]} for r in rows
            ]
        }
    )


@routes.get("/catalogue/places")
async def list_places(request: web.Request) -> web.Response:
    async with request.app[POOL].acquire(timeout=10) as conn:
        rows = await repo.places(conn)
    return web.json_response({"places": [dict(r) for r in rows]})
