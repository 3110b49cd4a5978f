"""The OpenAPI 3.1 document of Open311 GeoReport v2 as Miliê serves it (``open311``), served at
``/open311/v2/openapi.json``: its routes, the form fields a submission takes (``open311.FIELDS``,
their one home), the spec's answers (intake's models, which build them: their JSON Schemas from
``GET /api-schemas/open311``) and its errors. ``tests/channels`` checks the running API
against it with schemathesis."""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from aiohttp import web

from gateway.clients.intake import INTAKE
from gateway.clients.transport import ServiceUnavailable
from gateway.public_api import open311, openapi_parts
from gateway.public_api.open311 import FIELDS, PREFIX, SEARCH_PARAMETERS
from gateway.public_api.openapi_parts import RETRY_AFTER

routes = web.RouteTableDef()
TITLE = "Miliê — Open311 GeoReport v2"
DESCRIPTION = (
    "Les organismes publics × natures de requête comme services Open311 ; les erreurs sont "
    "celles de la spécification : [{code, description}] (<errors><error> en XML) avec ce "
    "statut HTTP."
)
REF = "#/components/schemas/{model}"
ERRORS = {
    400: "Paramètre ou champ refusé (chaque raison dans description), formulaire illisible, ou "
    "recherche sans service_request_id ni api_key ; en text/plain, une adresse de plus de 8 Kio "
    "(refusée avant toute route).",
    403: "api_key absente (pour soumettre) ou invalide.",
    404: "Aucun service ou aucune requête ne porte ce code, ou adresse inconnue (un format "
    "autre que json ou xml).",
    413: "Formulaire trop volumineux.",
    429: "Trop de suivis de cette adresse : attendez Retry-After secondes.",
    503: "Un service de Miliê ne répond pas : réessayez plus tard.",
}

# aiohttp's parser refuses an address over 8 Kio before any route: no format is known yet, so
# the answer is a sentence (``gateway.web.malformed_http``).
MALFORMED = {"schema": {"type": "string", "const": "Requête HTTP mal formée : refusée.\n"}}

FORMAT = {
    "name": "fmt",
    "in": "path",
    "required": True,
    "description": "Le format de la réponse : json ou xml.",
    "schema": {"type": "string", "enum": ["json", "xml"]},
    "example": "json",
}
API_KEY = {
    "name": "api_key",
    "in": "query",
    "description": "La clé du canal : ses propres requêtes, sans compter les suivis.",
    "schema": {"type": "string"},
}
SEARCH = [{"name": name, "in": "query", "schema": {"type": "string"}} for name in SEARCH_PARAMETERS]


def _list_of(model: str) -> dict[str, Any]:
    return {"type": "array", "items": {"$ref": REF.format(model=model)}}


# What the routes answer, from intake's models (``GET /api-schemas/open311``): the lists as the
# spec has them, arrays; the errors, the gateway's and intake's, as the spec words them.
SCHEMAS: dict[str, Any] = {
    "Errors": {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["code", "description"],
            "properties": {
                "code": {"type": "integer", "description": "Le statut HTTP."},
                "description": {"type": "string", "description": "La raison, en français."},
            },
            "additionalProperties": False,
        },
    },
    "Services": _list_of("Open311Service"),
    "ServiceDefinition": {"$ref": REF.format(model="Open311ServiceDefinition")},
    "ServiceRequests": _list_of("Open311Request"),
    "SubmittedRequests": _list_of("Open311Submitted"),
    "RequestForm": {
        "type": "object",
        "description": "Les champs du formulaire, selon la spécification ; un attribut de la "
        "définition du service s'envoie en attribute[code].",
        "required": ["api_key"],
        "properties": {
            "api_key": {"type": "string", "description": "La clé du canal (obligatoire)."},
            **{name: {"type": "string"} for name in FIELDS},
        },
    },
}


def _content(model: str) -> dict[str, Any]:
    return {
        "application/json": {"schema": {"$ref": REF.format(model=model)}},
        "application/xml": {"schema": {"type": "string"}},
    }


def _operation(
    operation_id: str,
    summary: str,
    answer: str,
    errors: tuple[int, ...],
    parameters: list[dict[str, Any]],
    status: int = 200,
) -> dict[str, Any]:
    responses: dict[str, Any] = {str(status): {"description": "Fait.", "content": _content(answer)}}
    for code in sorted({400, 404, 503, *errors}):
        responses[str(code)] = {"description": ERRORS[code], "content": _content("Errors")}
        if code in (429, 503):  # a limit passed, a service down: always when to come back
            responses[str(code)]["headers"] = {
                "Retry-After": {**RETRY_AFTER["Retry-After"], "required": True}
            }
    responses["400"]["content"]["text/plain"] = MALFORMED
    return {
        "operationId": operation_id,
        "summary": summary,
        "parameters": [FORMAT, *parameters],
        "responses": responses,
    }


def document(models: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI 3.1 document, with ``models`` the JSON Schemas of what intake answers."""
    submit = _operation(
        "submitRequest",
        "Soumettre une requête, avec la clé du canal (api_key).",
        "SubmittedRequests",
        (400, 403, 413, 429),
        [],
        status=201,
    )
    submit["requestBody"] = {
        "required": True,
        "content": {
            kind: {"schema": {"$ref": REF.format(model="RequestForm")}}
            for kind in open311.FORM_TYPES
        },
    }
    code = {
        "name": "service_request_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
    }
    service_code = {
        "name": "service_code",
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
    }
    paths = {
        f"{PREFIX}/services.{{fmt}}": {
            "get": _operation("listServices", "Les services.", "Services", (), [])
        },
        f"{PREFIX}/services/{{service_code}}.{{fmt}}": {
            "get": _operation(
                "serviceDefinition",
                "La définition d'un service (ses attributs).",
                "ServiceDefinition",
                (404,),
                [service_code],
            )
        },
        f"{PREFIX}/requests.{{fmt}}": {
            "get": _operation(
                "searchRequests",
                "Le statut des requêtes nommées (service_request_id, séparés par des "
                "virgules), ou avec api_key une recherche parmi celles du canal.",
                "ServiceRequests",
                (400, 403, 429),
                [*SEARCH, API_KEY],
            ),
            "post": submit,
        },
        f"{PREFIX}/requests/{{service_request_id}}.{{fmt}}": {
            "get": _operation(
                "getRequest",
                "Le statut d'une requête.",
                "ServiceRequests",
                (400, 403, 404, 429),
                [code, API_KEY],
            )
        },
    }
    return {
        **openapi_parts.document(TITLE, DESCRIPTION, paths, version="2"),
        "components": {"schemas": {**models, **SCHEMAS}},
    }


@routes.get(f"{PREFIX}/openapi.json")
async def openapi_json(request: web.Request) -> web.Response:
    try:
        status, models = await request.app[INTAKE].open311_schemas()
    except ServiceUnavailable:
        status, models = 503, None
    if status != 200 or not isinstance(models, dict):
        return open311.errors("json", 503, open311.UNAVAILABLE)
    return web.json_response(
        document(models),
        dumps=partial(json.dumps, ensure_ascii=False),
        headers={"Cache-Control": "max-age=300", "Access-Control-Allow-Origin": "*"},
    )
