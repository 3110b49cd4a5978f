"""The OpenAPI 3.1 document of the citizens' JSON API (``/api/v1``), served at
``/api/v1/openapi.json``. What a route takes is intake's models (their one home): intake gives
their JSON Schemas (``GET /api-schemas``), and this module adds the routes, the answers and the
refusals from the table :data:`OPERATIONS`. ``tests/channels/test_public_apis_schemathesis.py``
checks the running API against it."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.clients.intake import INTAKE
from gateway.clients.transport import ServiceUnavailable
from gateway.public_api import openapi_parts
from gateway.public_api.openapi_parts import RETRY_AFTER, Operation
from gateway.web.errors import api_unavailable

routes = web.RouteTableDef()
BASE = "/api/v1"
REF = "#/components/schemas/{model}"


# The refusal every route answers with (``shared.web.error_body``).
PROBLEM = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string", "description": "Le code de l'erreur, pour les programmes."},
        "message": {"type": "string", "description": "Le message, en français."},
        "errors": {
            "type": "array",
            "description": "Les champs refusés, un par un (422).",
            "items": {
                "type": "object",
                "required": ["field", "code", "message"],
                "properties": {
                    "field": {"type": "string"},
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                },
            },
        },
        "retry_after": {"type": "integer", "description": "Secondes à attendre (429)."},
        "correlation_id": {"type": "string", "description": "La référence à donner au support."},
        "view": {"type": "object", "description": "Le suivi de la requête (409, 422)."},
    },
}


def _listing(name: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": [name],
        "properties": {name: {"type": "array", "items": {"type": "object"}}},
    }


# What the routes answer when they succeed: intake's and stats' answers, passed on.
ANSWERS: dict[str, dict[str, Any]] = {
    "Submitted": {
        "type": "object",
        "required": ["code", "nature", "submitted_at", "replayed", "told_by"],
        "properties": {
            "code": {"type": "string", "pattern": "^[0-9]{10}$"},
            "nature": {"type": "string"},
            "nature_label": {"type": "string"},
            "submitted_at": {"type": "string", "format": "date-time"},
            "replayed": {
                "type": "boolean",
                "description": "Déjà reçue avec ce submission_key (200) : la même requête.",
            },
            "told_by": {
                "type": "array",
                "items": {"type": "string", "enum": ["email", "sms"]},
                "description": "Comment le code est envoyé à l'usager.",
            },
        },
    },
    "TrackingView": {"type": "object", "description": "Le suivi de la requête."},
    "Recorded": {
        "type": "object",
        "required": ["message"],
        "properties": {"message": {"type": "string"}, "view": {"type": "object"}},
    },
    "Bodies": _listing("bodies"),
    "Themes": _listing("themes"),
    "Places": _listing("places"),
    "BodyStatistics": _listing("bodies"),
}

ERRORS = {
    400: "Corps qui n'est pas du JSON (invalid_json).",
    404: "Aucune requête ne correspond à ce code et à cette adresse électronique ou ce numéro "
    "(not_found) : la même réponse pour un code ou un contact faux.",
    409: "L'état de la requête ne le permet pas (error : not_answered, already_given, "
    "already_reopened, closed, not_awaiting_rewrite…), avec le suivi dans view.",
    413: "Corps trop volumineux.",
    415: "Le corps n'est pas en application/json.",
    422: "Champs invalides, un par un dans errors (validation_failed).",
    429: "Trop de tentatives ou de requêtes de cette adresse, de cet email ou de ce numéro : "
    "attendez Retry-After secondes (aussi dans retry_after).",
    503: "Un service de Miliê ne répond pas (service_unavailable) : réessayez après "
    "Retry-After secondes.",
}
SENT = (400, 413, 415, 422, 429)
TRACKED = (*SENT, 404)


SUBMISSION = (
    "Une requête (Réclamation, Suggestion, Observation, Motion de félicitations, Demande "
    "d'information) à un organisme du catalogue (GET /api/v1/bodies, /api/v1/themes?body_id=, "
    "/api/v1/places). Au moins un contact : contact.email ou contact.phone (mobile : le code part "
    "par SMS). 201 avec le code ; avec un submission_key, un nouvel envoi de la même requête "
    "répond 200 avec le même code (replayed). Pas de calcul anti-robot (preuve de travail) sur "
    "cette route, seulement sur le formulaire du site : au-delà des limites de requêtes par "
    "adresse, par email et par numéro, 429 avec Retry-After."
)
OPERATIONS = [
    Operation(
        "post",
        "/requests",
        "submit",
        "Soumettre une requête",
        SUBMISSION,
        "Submitted",
        status=201,
        body="SubmissionIn",
        example={
            "nature": "reclamation",
            "body_id": "ministere-budget",
            "theme_id": "accueil-espace",
            "place_id": "abidjan-plateau",
            "message": "Mon dossier déposé en mars n'a toujours pas de réponse.",
            "contact": {"last_name": "Kouassi", "first_names": "Awa", "email": "awa@example.ci"},
        },
        errors=(*SENT, 409),
        notes={
            409: "Ce submission_key a déjà servi pour une autre requête (submission_key_reused)."
        },
    ),
    Operation(
        "get", "/bodies", "listBodies", "Les organismes", "Les organismes publics actifs.", "Bodies"
    ),
    Operation(
        "get",
        "/themes",
        "listThemes",
        "Les thèmes",
        "Les thèmes actifs, ou ceux proposés pour un organisme.",
        "Themes",
        parameters=[
            {
                "name": "body_id",
                "in": "query",
                "description": "L'identifiant d'un organisme (GET /api/v1/bodies).",
                "schema": {"type": "string"},
            }
        ],
    ),
    Operation("get", "/places", "listPlaces", "Les lieux", "Les lieux (localités).", "Places"),
    Operation(
        "get",
        "/stats/bodies",
        "bodyStatistics",
        "Les statistiques",
        "Les statistiques publiques par organisme (des nombres seulement).",
        "BodyStatistics",
    ),
    Operation(
        "post",
        "/tracking",
        "track",
        "Suivre une requête",
        "Suivre une requête : son code et l'email ou le numéro de mobile de l'usager, pas les "
        "deux.",
        "TrackingView",
        body="LookupIn",
        errors=TRACKED,
    ),
    Operation(
        "post",
        "/tracking/rewrite",
        "rewrite",
        "Reformuler",
        "Reformuler une requête que l'analyste a renvoyée pour reformulation.",
        "TrackingView",
        body="RewriteIn",
        errors=(*TRACKED, 409),
    ),
    Operation(
        "post",
        "/tracking/opinion",
        "giveOpinion",
        "Donner son avis",
        "Donner son avis sur la réponse (satisfied, partly_satisfied, not_satisfied).",
        "Recorded",
        status=202,
        body="OpinionIn",
        errors=(*TRACKED, 409),
    ),
    Operation(
        "post",
        "/tracking/reopen",
        "reopen",
        "Relancer",
        "Relancer la requête répondue (« Retraitement »), avec un message.",
        "Recorded",
        status=202,
        body="ReopenIn",
        errors=(*TRACKED, 409),
    ),
    Operation(
        "post",
        "/tracking/codes-reminder",
        "remindCodes",
        "Code requête oublié ?",
        "« Code requête oublié ? » : les codes envoyés par email ou par SMS ; la même réponse "
        "que l'adresse ou le numéro soit connu ou non.",
        "Recorded",
        status=202,
        body="ReminderIn",
        errors=SENT,
    ),
]

DESCRIPTION = """L'API JSON des usagers de Miliê : soumettre une requête, lire le catalogue,
suivre une requête, donner son avis, la relancer, retrouver ses codes. Sans clé.

**Erreurs** : `application/json` avec `error` (lisible par un programme), `message` (en
français) et, pour les champs, `errors`. **Limites** : au-delà, 429 avec `Retry-After`."""


def _problem(status: int, note: str | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": note or ERRORS[status],
        "content": {"application/json": {"schema": {"$ref": REF.format(model="Problem")}}},
    }
    if status in (429, 503):
        answer["headers"] = RETRY_AFTER
    return answer


def _json(model: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": REF.format(model=model)}}}


def _operation(op: Operation) -> dict[str, Any]:
    responses: dict[str, Any] = {
        str(op.status): {"description": "Fait.", "content": _json(op.answer)}
    }
    if op.parameters:
        # A NUL character (%00) in the address: refused before any route (invalid_address); an
        # address over 8 Kio: refused by aiohttp's parser, in a sentence
        # (``gateway.web.malformed_http``).
        responses["400"] = _problem(
            400,
            "Caractère nul (%00) dans l'adresse (invalid_address) ; "
            "en text/plain, une adresse de plus de 8 Kio.",
        )
        responses["400"]["content"]["text/plain"] = {"schema": {"type": "string"}}
    if op.answer == "Submitted":
        responses["200"] = {
            "description": "Déjà reçue avec ce submission_key : la même requête.",
            "content": _json(op.answer),
        }
    # Any route may meet a service that does not answer.
    for status in sorted({503, *op.errors}):
        responses[str(status)] = _problem(status, op.notes.get(status))
    spec = openapi_parts.spec_of(op, responses)
    if op.body is not None:
        spec["requestBody"] = {"required": True, "content": _json(op.body)}
        if op.example is not None:
            spec["requestBody"]["content"]["application/json"]["example"] = op.example
    return spec


def document(inputs: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI 3.1 document, with ``inputs`` the JSON Schemas of intake's models."""
    paths = openapi_parts.paths_of(BASE, OPERATIONS, _operation)
    return {
        **openapi_parts.document("Miliê — API des usagers", DESCRIPTION, paths),
        "components": {"schemas": {**inputs, **ANSWERS, "Problem": PROBLEM}},
    }


@routes.get(f"{BASE}/openapi.json")
async def openapi_json(request: web.Request) -> web.Response:
    try:
        status, inputs = await request.app[INTAKE].api_schemas()
    except ServiceUnavailable:
        return api_unavailable()
    if status != 200 or not isinstance(inputs, dict):
        return api_unavailable()
    return web.json_response(
        document(inputs),
        headers={"Cache-Control": "max-age=300", "Access-Control-Allow-Origin": "*"},
    )
