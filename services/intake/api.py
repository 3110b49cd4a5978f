"""Intake's HTTP API (internal: the gateway calls it). The catalogue is served by
``catalogue_api``, the drafts of the web form by ``drafts_api``, attachments by
``attachments_api``."""

from __future__ import annotations

from aiohttp import web
from pydantic import ValidationError

from services.intake import submissions
from services.intake.domain import SubmissionIn, french, merge_errors, presence_errors
from shared.db import run_in_transaction, run_without_transaction
from shared.identity import HEADER, Role, verify
from shared.messages import Channel
from shared.service import POOL, SETTINGS
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


def _phone_channel_refused(request: web.Request) -> web.Response | None:
    """Only a call-centre operator submits on a caller's behalf (channel phone, where an email
    is optional): the gateway signs the operator's identity, and intake checks it itself."""
    secret = request.app[SETTINGS].identity_secret.get_secret_value().encode()
    identity = verify(request.headers.get(HEADER, ""), secret)
    if identity is None:
        return json_error(401, "unauthenticated", "signed staff identity required")
    if identity.role is not Role.OPERATOR:
        return json_error(403, "forbidden", "only a call-centre operator submits by phone")
    return None


@routes.post("/requests")
async def submit(request: web.Request) -> web.Response:
    raw = await _json_body(request)
    try:
        sub = SubmissionIn.model_validate(raw)
    except ValidationError as exc:
        return _invalid(merge_errors(french(field_errors(exc)), presence_errors(raw)))
    if sub.channel is Channel.PHONE and (refused := _phone_channel_refused(request)):
        return refused
    # Without a submission key, submit writes in one statement: no transaction needed.
    run = run_in_transaction if sub.submission_key else run_without_transaction
    try:
        accepted = await run(request.app[POOL], lambda conn: submissions.submit(conn, sub))
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
