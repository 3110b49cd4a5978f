"""Intake's HTTP API (internal: the gateway calls it). The catalogue is served by
``catalogue.api``, the drafts of the web form by ``drafts.api``, attachments by
``attachments_api``, tracking by ``tracking.api``, Open311 by ``channels.open311_api``."""

from __future__ import annotations

from aiohttp import web

from services.intake import limits, submissions
from services.intake.answers import ANSWERS, Submitted
from services.intake.channels import open311_answers
from services.intake.domain import SubmissionIn, presence_errors
from services.intake.keys import CATALOGUE_CACHE
from services.intake.settings import SETTINGS
from services.intake.tracking import api as tracking_api
from shared import answers
from shared.answers import answer
from shared.identity import Role, check
from shared.messages import CallCentreOperator, Channel
from shared.service import transaction, without_transaction
from shared.signing import call_of
from shared.web import (
    FieldErrors,
    field_error,
    json_error,
    read_json,
    refuse_envelope,
    validate,
)

routes = web.RouteTableDef()

# The channels that submit through this route (the broker's come as commands, Open311's have
# their own route): the gateway's web form, its JSON API, and its call centre's form.
HTTP_CHANNELS = (Channel.WEB, Channel.API, Channel.PHONE)
# What the gateway's JSON API (/api/v1) takes, as ``GET /api-schemas`` gives it.
API_MODELS = (
    SubmissionIn,
    tracking_api.LookupIn,
    tracking_api.RewriteIn,
    tracking_api.OpinionIn,
    tracking_api.ReopenIn,
    tracking_api.ReminderIn,
)


@routes.post("/requests")
async def submit(request: web.Request) -> web.Response:
    # Not read_model: the channel is added to the body, and the faulty fields are listed with
    # the missing ones (presence_errors) at once.
    raw = await read_json(request)
    refuse_envelope(raw)
    channel = call_of(request).channel or Channel.WEB.value
    if channel not in HTTP_CHANNELS:
        raise FieldErrors([field_error("channel", "Canal non permis ici.")])
    if isinstance(raw, dict):
        raw = {**raw, "channel": channel}  # the signed call's, never the body's
    sub = validate(SubmissionIn, raw, also=presence_errors)
    operator = None
    if sub.channel is Channel.PHONE:
        # Only a call-centre operator submits on a caller's behalf (where an email is optional):
        # the gateway signs the operator's identity, and intake checks it itself. Who typed it
        # is kept with the request and told in request.submitted (for the staff's history).
        staff = check(request, Role.OPERATOR)
        operator = CallCentreOperator(staff_id=staff.staff_id, login=staff.login)
    guard = await limits.guard_of(request)
    config = guard.config  # its SMS countries hold for the call centre's callers too
    if sub.channel is Channel.PHONE:
        guard = None  # the call centre's operators are staff: only anonymous channels count
    # Without a submission key, submit writes in one statement: no transaction needed.
    run = transaction if sub.submission_key else without_transaction
    try:
        accepted = await run(
            request,
            lambda conn: submissions.submit(
                conn,
                sub,
                catalogue=request.app[CATALOGUE_CACHE],
                guard=guard,
                config=config,
                operator=operator,
            ),
        )
    except limits.Throttled as exc:
        return limits.throttled_response(exc)
    except submissions.KeyReused:
        error = submissions.key_reused_error()
        return json_error(409, "submission_key_reused", error["message"], errors=[error])
    # No row id: the code is the request's only public name (the answer reaches /api/v1).
    return web.json_response(
        answer(
            Submitted,
            code=accepted.code,
            nature=sub.nature,
            nature_label=sub.nature.label,
            submitted_at=accepted.submitted_at,
            replayed=accepted.replayed,
            # How the citizen is sent the code: "email", "sms" (a mobile number), both, neither.
            told_by=sub.told_by(sms_enabled=request.app[SETTINGS].sms_enabled),
        ),
        status=200 if accepted.replayed else 201,
    )


@routes.get("/api-schemas")
async def api_schemas(request: web.Request) -> web.Response:
    """The JSON Schemas of what ``/api/v1`` takes and what it answers, from this service's
    models (their one home: the answers are built through theirs, ``answers``), with their parts
    beside them and referenced as an OpenAPI document's ``#/components/schemas/…``: the gateway
    builds its document from them. ``channel`` is the signed call's to say, never the body's:
    not offered."""
    schemas = answers.schemas(API_MODELS, "validation")
    answers.schemas(ANSWERS, "serialization", schemas)
    schemas["SubmissionIn"]["properties"].pop("channel", None)
    schemas.pop("Channel", None)
    return web.json_response(schemas, headers={"Cache-Control": "max-age=300"})


@routes.get("/api-schemas/open311")
async def open311_schemas(request: web.Request) -> web.Response:
    """The JSON Schemas of what Open311 answers (``channels.open311_answers``), as
    :func:`api_schemas` gives /api/v1's, for the gateway's Open311 document."""
    schemas = answers.schemas(open311_answers.ANSWERS, "serialization")
    return web.json_response(schemas, headers={"Cache-Control": "max-age=300"})
