"""The OpenAPI 3.1 document of the citizens' JSON API (``/api/v1``), served at
``/api/v1/openapi.json``. What a route takes and what it answers are the services' models (their
one home: intake's and stats' answers are built through them, ``shared.answers``): each gives
their JSON Schemas (``GET /api-schemas``), and this module adds the routes, the statuses and
the refusals (:data:`REFUSALS`) from the table :data:`OPERATIONS`.
``tests/channels/test_public_apis_schemathesis.py`` checks the running API against it."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.clients.intake import INTAKE
from gateway.clients.stats import STATS
from gateway.clients.transport import ServiceUnavailable
from gateway.public_api import openapi_parts
from gateway.public_api.openapi_parts import RETRY_AFTER, Operation
from gateway.web.errors import api_unavailable

routes = web.RouteTableDef()
BASE = "/api/v1"
REF = "#/components/schemas/{model}"


# The refusals, as ``shared.web.error_body`` words them (intake's, passed on with the call's
# correlation id by ``gateway.web.errors.passed_on``, and the gateway's own): ``error`` for
# programs, ``message`` in French, and what each kind adds. Nothing else: a field added to a
# refusal is added here, or the schemathesis test fails.
FIELD_ERROR = {
    "type": "object",
    "required": ["field", "code", "message"],
    "properties": {
        "field": {"type": "string", "description": "Le champ refusé (contact.email…)."},
        "code": {"type": "string", "description": "La raison, pour un programme (missing…)."},
        "message": {"type": "string", "description": "La raison, en français."},
    },
    "additionalProperties": False,
}


def _refusal(
    description: str, error: str | list[str] | None = None, **more: dict[str, Any]
) -> dict[str, Any]:
    """A refusal's schema: ``error`` (its code or codes, when one kind of refusal says it),
    ``message``, ``correlation_id``, and ``more`` (the fields it adds, all required except
    ``view`` on a 422)."""
    code: dict[str, Any] = {"type": "string", "description": "Le code de l'erreur."}
    if isinstance(error, str):
        code["const"] = error
    elif error:
        code["enum"] = error
    return {
        "type": "object",
        "description": description,
        "required": ["error", "message", *(name for name in more if name != "view")],
        "properties": {
            "error": code,
            "message": {"type": "string", "description": "Le message, en français."},
            **more,
            "correlation_id": {
                "type": "string",
                "description": "La référence de l'appel, à donner au support.",
            },
        },
        "additionalProperties": False,
    }


VIEW = {"$ref": REF.format(model="TrackingView"), "description": "Le suivi de la requête."}
# What a reply or a rewrite is refused for, the request's state not allowing it.
STATE_CONFLICTS = [
    "not_awaiting_reformulation",
    "not_answered",
    "already_given",
    "already_reopened",
    "closed",
]
REFUSALS: dict[str, dict[str, Any]] = {
    "Problem": _refusal("Une erreur."),
    "NotFound": _refusal("Aucune requête ne correspond (404).", "not_found"),
    "InvalidFields": _refusal(
        "Des champs refusés, un par un (422) ; avec le suivi quand le code et le contact "
        "correspondent.",
        "validation_failed",
        errors={"type": "array", "items": FIELD_ERROR, "minItems": 1},
        view=VIEW,
    ),
    "KeyReused": _refusal(
        "Ce submission_key a déjà servi pour une autre requête (409).",
        "submission_key_reused",
        errors={"type": "array", "items": FIELD_ERROR, "minItems": 1},
    ),
    "StateConflict": _refusal(
        "L'état de la requête ne le permet pas (409), avec le suivi.", STATE_CONFLICTS, view=VIEW
    ),
    "Throttled": _refusal(
        "Trop de tentatives ou de requêtes (429).",
        "throttled",
        retry_after={
            "type": "integer",
            "minimum": 0,
            "description": "Secondes à attendre (comme Retry-After).",
        },
    ),
    "Unavailable": _refusal("Un service de Miliê ne répond pas (503).", "service_unavailable"),
}
# Each refusal's schema, by status (409: by operation, see OPERATIONS' conflict).
REFUSAL_OF = {404: "NotFound", 422: "InvalidFields", 429: "Throttled", 503: "Unavailable"}
# A limit passed always says when to come back.
ALWAYS_RETRY_AFTER = {"Retry-After": {**RETRY_AFTER["Retry-After"], "required": True}}

ERRORS = {
    400: "Corps qui n'est pas du JSON (invalid_json).",
    404: "Aucune requête ne correspond à ce code et à cette adresse électronique ou ce numéro "
    "(not_found) : la même réponse pour un code ou un contact faux.",
    408: "Le corps annoncé n'est pas arrivé en entier à temps (request_timeout).",
    409: "L'état de la requête ne le permet pas (error : "
    + ", ".join(STATE_CONFLICTS)
    + "), avec le suivi dans view.",
    413: "Corps trop volumineux (2 Mo au plus).",
    415: "Le corps n'est pas en application/json.",
    422: "Champs invalides, un par un dans errors (validation_failed).",
    429: "Trop de tentatives ou de requêtes de cette adresse, de cet email ou de ce numéro : "
    "attendez Retry-After secondes (aussi dans retry_after).",
    503: "Un service de Miliê ne répond pas (service_unavailable) : réessayez après "
    "Retry-After secondes.",
}
SENT = (400, 408, 413, 415, 422, 429)
REPLY_REFUSED = (
    "L'état de la requête ne le permet pas (not_answered : pas encore répondue ; "
    "already_given, already_reopened : déjà fait pour cette réponse ; closed), avec le suivi "
    "dans view."
)
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
        notes={
            409: "La requête n'attend pas de reformulation (not_awaiting_reformulation), avec "
            "le suivi dans view."
        },
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
        notes={409: REPLY_REFUSED},
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
        notes={409: REPLY_REFUSED},
    ),
    Operation(
        "post",
        "/tracking/codes-reminder",
        "remindCodes",
        "Code requête oublié ?",
        "« Code requête oublié ? » : les codes envoyés par email ou par SMS ; la même réponse "
        "que l'adresse ou le numéro soit connu ou non.",
        "ReminderSent",
        status=202,
        body="ReminderIn",
        errors=SENT,
    ),
]

DESCRIPTION = """L'API JSON des usagers de Miliê : soumettre une requête, lire le catalogue,
suivre une requête, donner son avis, la relancer, retrouver ses codes. Sans clé.

**Erreurs** : `application/json` avec `error` (lisible par un programme), `message` (en
français) et, pour les champs, `errors`. **Limites** : au-delà, 429 avec `Retry-After`."""


def _problem(status: int, schema: str, note: str | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": note or ERRORS[status],
        "content": {"application/json": {"schema": {"$ref": REF.format(model=schema)}}},
    }
    if status in (429, 503):
        # A service's 503 passed on says it too (gateway.web.errors.passed_on).
        answer["headers"] = ALWAYS_RETRY_AFTER
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
            "Problem",
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
        schema = REFUSAL_OF.get(status, "Problem")
        if status == 409:
            schema = "KeyReused" if op.operation_id == "submit" else "StateConflict"
        responses[str(status)] = _problem(status, schema, op.notes.get(status))
    spec = openapi_parts.spec_of(op, responses)
    if op.body is not None:
        spec["requestBody"] = {"required": True, "content": _json(op.body)}
        if op.example is not None:
            spec["requestBody"]["content"]["application/json"]["example"] = op.example
    return spec


def document(models: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI 3.1 document, with ``models`` the JSON Schemas of what the services' models
    take and answer (intake's and stats')."""
    paths = openapi_parts.paths_of(BASE, OPERATIONS, _operation)
    return {
        **openapi_parts.document("Miliê — API des usagers", DESCRIPTION, paths),
        "components": {"schemas": {**models, **REFUSALS}},
    }


@routes.get(f"{BASE}/openapi.json")
async def openapi_json(request: web.Request) -> web.Response:
    # What the routes take and answer is the services' to say: their models build the answers.
    models: dict[str, Any] = {}
    for service in (request.app[INTAKE], request.app[STATS]):
        try:
            status, schemas = await service.api_schemas()
        except ServiceUnavailable:
            return api_unavailable()
        if status != 200 or not isinstance(schemas, dict):
            return api_unavailable()
        models.update(schemas)
    return web.json_response(
        document(models),
        headers={"Cache-Control": "max-age=300", "Access-Control-Allow-Origin": "*"},
    )
