"""The ministry API's OpenAPI 3.1 document, generated from the models of ``models.py`` (their
JSON Schemas, ``$defs`` moved to ``components.schemas``) and the table :data:`OPERATIONS`; served
at ``/api/ministeres/v1/openapi.json``, and as a page for people at ``/api/ministeres/v1/``
(rendered here, no script, nothing fetched from elsewhere). ``tests/ministry`` checks the
running API against it with schemathesis."""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from gateway.public_api import openapi_parts
from gateway.public_api.ministry import cursors, models
from gateway.public_api.ministry.api import BASE, PROBLEM, problem
from gateway.public_api.openapi_parts import RETRY_AFTER, Operation
from gateway.staff import accounts
from shared import attachments, lifecycle

routes = web.RouteTableDef()
REF = "#/components/schemas/{model}"
# The body's lists as treatment and the back office name them (« En cours »… « Avis attendus »).
LISTS = (*lifecycle.BODY_LISTS, *lifecycle.CONSULTATION_LISTS)
FILES = [*attachments.EXTENSIONS, "application/octet-stream"]

CODE = {
    "name": "code",
    "in": "path",
    "required": True,
    "description": "Le code de la requête (10 chiffres).",
    "schema": {"type": "string", "maxLength": 20},
    "example": "5030529490",
}


def _uuid_in_path(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": {"type": "string", "format": "uuid"},
    }


LIST_PARAMETERS = [
    {
        "name": "list",
        "in": "query",
        "description": "La liste, comme dans l'espace agents : en_cours (par défaut : en "
        "traitement, en attente, relancées), retraitement, insatisfaits (clôturées « Non "
        "satisfait » ou « Partiellement satisfait » : answer-again), en_retard, consultations et "
        "ses sous-listes (avis_attendus : répondues, l'avis de l'usager attendu jusqu'à leur "
        "opinion_until).",
        "schema": {"type": "string", "enum": list(LISTS), "default": "en_cours"},
    },
    {
        "name": "q",
        "in": "query",
        "description": "Un code, ou des mots du message ou du contact de l'usager.",
        "schema": {"type": "string", "maxLength": 200},
    },
    {
        "name": "sort",
        "in": "query",
        "schema": {
            "type": "string",
            "enum": ["validated_at", "code", "nature", "status"],
            "default": "validated_at",
        },
    },
    {
        "name": "order",
        "in": "query",
        "schema": {"type": "string", "enum": ["asc", "desc"], "default": "asc"},
    },
    {
        "name": "limit",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
    },
    {
        "name": "offset",
        "in": "query",
        "schema": {"type": "integer", "minimum": 0, "maximum": 10_000_000, "default": 0},
    },
    {
        "name": "validated_from",
        "in": "query",
        "description": "Validées ce jour ou après (AAAA-MM-JJ).",
        "schema": {"type": "string", "format": "date"},
    },
    {
        "name": "validated_to",
        "in": "query",
        "description": "Validées ce jour ou avant (AAAA-MM-JJ).",
        "schema": {"type": "string", "format": "date"},
    },
]
CHANGES_PARAMETERS = [
    {
        "name": "after",
        "in": "query",
        "description": "Le next de la réponse précédente (opaque : renvoyez-le tel quel) ; "
        "absent : depuis le début.",
        "schema": {"type": "string", "pattern": cursors.PATTERN},
    },
    {
        "name": "limit",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 100},
    },
]
ERRORS = {
    400: "Clé mise dans l'adresse (key_in_url), corps qui n'est pas du JSON, ou caractère nul "
    "(%00) dans l'adresse (invalid_address).",
    401: "Pas de clé, une clé inconnue ou révoquée (missing_key, invalid_key, revoked_key).",
    404: "Aucune requête de l'organisme de la clé ne porte ce code (celle d'un autre "
    "organisme : le même 404).",
    409: "La requête a changé : modified (relisez-la, renvoyez la nouvelle version), "
    "not_allowed (pas à ce statut), already_assigned, purged (données de l'usager effacées).",
    413: "Plus de 5 Mo (un document), de 2 Mo (un corps JSON).",
    415: "Le corps n'est pas en application/json.",
    422: "Champs ou paramètres invalides, un par un dans errors.",
    429: "Trop d'appels de cette clé dans la minute : attendez Retry-After secondes.",
    503: "Un service de Miliê ne répond pas (service_unavailable) : réessayez après "
    "Retry-After secondes.",
}


# A document is inspected as a citizen's attachment is: each reason has its code.
DOCUMENT_REFUSED = (
    "Document refusé après examen de son contenu (comme les pièces jointes des usagers) : "
    "errors[0].field vaut document, errors[0].code dit pourquoi ("
    + ", ".join(attachments.INSPECTION_REFUSALS)
    + ") et errors[0].message le dit en français. Le type est reconnu à ses octets, jamais au "
    "nom : un PDF qui contient du JavaScript, une action de lancement ou des fichiers joints, "
    "ou qui ne s'ouvre pas (endommagé, chiffré) est refusé ; une image est décodée puis "
    "réenregistrée sans ses métadonnées."
)
ACTION_ERRORS = (400, 404, 409, 413, 415, 422)
# Why an agent is refused, as errors[0].code says it: the gateway's rule, then treatment's.
AGENT_REFUSALS = (*accounts.NOT_ASSIGNABLE.items(), ("unchanged", "Cet agent a déjà la requête."))
OPERATIONS = [
    Operation(
        "get",
        "/requests",
        "listRequests",
        "Lister les requêtes de l'organisme",
        "Une page d'une liste de l'organisme de la clé, la plus ancienne validation d'abord "
        "par défaut.",
        models.RequestPage,
        parameters=LIST_PARAMETERS,
        errors=(422,),
    ),
    Operation(
        "get",
        "/requests/{code}",
        "getRequest",
        "Lire une requête",
        "Son contenu, les pièces de l'usager, son historique, les réponses de l'organisme, "
        "les avis et relances de l'usager, et ce qui peut être fait maintenant.",
        models.RequestDetail,
        parameters=[CODE],
        errors=(404,),
    ),
    Operation(
        "get",
        "/requests/{code}/opinions",
        "listOpinions",
        "Lire les avis de l'usager",
        "Les avis de l'usager sur les réponses de l'organisme.",
        models.OpinionList,
        parameters=[CODE],
        errors=(404,),
    ),
    Operation(
        "get",
        "/requests/{code}/reopenings",
        "listReopenings",
        "Lire les relances (retraitement)",
        "Chaque relance de la requête répondue par l'usager, avec son message.",
        models.ReopeningList,
        parameters=[CODE],
        errors=(404,),
    ),
    Operation(
        "post",
        "/requests/{code}/take",
        "takeInCharge",
        "Prendre en compte",
        "Le système prend la requête en compte pour son organisme.",
        models.ActionDone,
        body=models.TakeIn,
        parameters=[CODE],
        errors=ACTION_ERRORS,
    ),
    Operation(
        "post",
        "/requests/{code}/hold",
        "putOnHold",
        "Mettre en attente",
        "Avec le motif, dit à l'usager ; le délai de réponse est suspendu jusqu'à « Reprendre ».",
        models.ActionDone,
        body=models.HoldIn,
        parameters=[CODE],
        errors=ACTION_ERRORS,
    ),
    Operation(
        "post",
        "/requests/{code}/resume",
        "resume",
        "Reprendre",
        "La requête en attente revient « En cours ».",
        models.ActionDone,
        body=models.ResumeIn,
        parameters=[CODE],
        errors=ACTION_ERRORS,
    ),
    Operation(
        "post",
        "/requests/{code}/reassign",
        "reassign",
        "Réaffecter",
        "« Réaffecter » de l'espace agents : la requête passe à un autre point focal actif de "
        "l'organisme de la clé, nommé par son login (may.reassign) ; il en est prévenu par "
        "courriel et la trouve dans ses requêtes.",
        models.ActionDone,
        body=models.ReassignIn,
        parameters=[CODE],
        errors=ACTION_ERRORS,
        notes={
            409: "not_allowed : la requête n'est plus à traiter (répondue, clôturée) ; "
            "modified : la requête a changé depuis la version envoyée.",
            422: "validation_failed ; quand l'agent ne convient pas, errors[0].field vaut "
            "agent_login et errors[0].code dit pourquoi : "
            + ", ".join(f"{code} (« {said} »)" for code, said in AGENT_REFUSALS)
            + ".",
        },
    ),
    Operation(
        "post",
        "/requests/{code}/documents",
        "uploadDocument",
        "Déposer un document pour la réponse",
        "Les octets du fichier pour corps (PDF, JPEG ou PNG, 5 Mo au plus, jugé sur son "
        "contenu) ; nommez ensuite son document_id dans les document_ids de la réponse.",
        models.Document,
        status=201,
        body="file",
        parameters=[
            CODE,
            {
                "name": "filename",
                "in": "query",
                "description": "Le nom du fichier, tel que l'usager le verra.",
                "schema": {"type": "string", "maxLength": 200},
                "example": "quittance.pdf",
            },
        ],
        errors=(404, 413, 422),
        notes={422: DOCUMENT_REFUSED},
    ),
    Operation(
        "post",
        "/requests/{code}/answer",
        "answer",
        "Répondre à l'usager",
        "La réponse de l'organisme (« Traité »), avec les documents déposés pour elle ; "
        "l'usager est prévenu et la lit sur sa page de suivi. Une requête que personne n'avait "
        "prise en compte l'est alors par le système qui répond (son historique dit « Prise en "
        "compte », puis « Réponse envoyée » ; assignee_login le nomme).",
        models.ActionDone,
        body=models.AnswerIn,
        parameters=[CODE],
        errors=ACTION_ERRORS,
    ),
    Operation(
        "post",
        "/requests/{code}/answer-again",
        "answerAgain",
        "Répondre à nouveau à l'usager insatisfait",
        "« Répondre à l'usager » de la liste « Insatisfaits » : une nouvelle réponse à l'usager "
        "qui a clôturé la requête « Non satisfait » ou « Partiellement satisfait » (may."
        "answer_again), avec les documents déposés pour elle ; l'usager est prévenu, la requête "
        "reste clôturée et la réponse est son further_answer_message.",
        models.ActionDone,
        body=models.AnswerAgainIn,
        parameters=[CODE],
        errors=ACTION_ERRORS,
        notes={
            409: "not_allowed : la requête n'est pas clôturée par un avis « Non satisfait » ou "
            "« Partiellement satisfait » ; purged : données de l'usager effacées, plus personne "
            "à qui répondre ; modified : la requête a changé depuis la version envoyée.",
        },
    ),
    Operation(
        "get",
        "/documents/{document_id}",
        "downloadDocument",
        "Télécharger un document d'une réponse",
        "Un document d'une réponse de l'organisme.",
        None,
        parameters=[_uuid_in_path("document_id")],
        errors=(404,),
    ),
    Operation(
        "get",
        "/attachments/{attachment_id}",
        "downloadAttachment",
        "Télécharger une pièce jointe de l'usager",
        "Un fichier joint par l'usager à une requête de l'organisme.",
        None,
        parameters=[_uuid_in_path("attachment_id")],
        errors=(404,),
    ),
    Operation(
        "get",
        "/changes",
        "listChanges",
        "Suivre les changements",
        "Ce qui est arrivé aux requêtes de l'organisme après un curseur, du plus ancien au "
        "plus récent : interrogez-le avec le next de la réponse précédente. Une ligne écrite "
        "tard vient quand même après les curseurs déjà donnés : rien n'est sauté.",
        models.ChangePage,
        parameters=CHANGES_PARAMETERS,
        errors=(422,),
    ),
]

DESCRIPTION = """L'API des systèmes d'information des ministères : ce que font les points focaux
dans l'espace agents, pour les requêtes de l'organisme de la clé.

**Authentification** : une clé d'API par organisme, créée par un administrateur (« Clés
d'API »), envoyée dans l'en-tête `Authorization: Bearer <clé>` (ou `X-Api-Key: <clé>`), jamais
dans l'adresse (refusée : 400 `key_in_url`). Chaque appel est journalisé. Une clé a un nombre
d'appels par minute : au-delà, 429 avec `Retry-After`.

**Erreurs** : `application/problem+json` (RFC 9457) avec `code` lisible par un programme."""


def _schemas() -> dict[str, Any]:
    found: dict[str, Any] = {}
    for model in models.SCHEMAS:
        mode = "validation" if issubclass(model, models.Input) else "serialization"
        schema = model.model_json_schema(ref_template=REF, mode=mode)
        for name, sub in schema.pop("$defs", {}).items():
            found.setdefault(name, sub)
        found[model.__name__] = schema
    return found


def _problem(status: int, note: str | None = None) -> dict[str, Any]:
    content = {PROBLEM: {"schema": {"$ref": REF.format(model="Problem")}}}
    answer: dict[str, Any] = {"description": note or ERRORS[status], "content": content}
    if status in (429, 503):
        answer["headers"] = RETRY_AFTER
    if status == 401:
        answer["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
    return answer


def _operation(op: Operation) -> dict[str, Any]:
    if op.answer is None:
        ok = {
            "description": "Le fichier.",
            "content": {kind: {"schema": {"type": "string"}} for kind in FILES},
        }
    else:
        ok = {
            "description": "Fait.",
            "content": {
                "application/json": {"schema": {"$ref": REF.format(model=op.answer.__name__)}}
            },
        }
    responses: dict[str, Any] = {str(op.status): ok}
    # Any operation may meet a key refused, its limit passed or a service down.
    for status in sorted({400, 401, 429, 503, *op.errors}):
        responses[str(status)] = _problem(status, op.notes.get(status))
    spec = openapi_parts.spec_of(op, responses)
    if op.body == "file":
        spec["requestBody"] = {
            "required": True,
            "content": {
                kind: {"schema": {"type": "string", "contentMediaType": kind}} for kind in FILES
            },
        }
    elif op.body is not None:
        spec["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": REF.format(model=op.body.__name__)}}
            },
        }
    return spec


@cache
def _document() -> dict[str, Any]:
    paths = openapi_parts.paths_of(BASE, OPERATIONS, _operation)
    return {
        **openapi_parts.document("Miliê — API des ministères", DESCRIPTION, paths),
        "security": [{"cle": []}, {"cleEnTete": []}],
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {
                "cle": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "La clé d'API de l'organisme : Authorization: Bearer <clé>.",
                },
                "cleEnTete": {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
            },
        },
    }


def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document (a copy: callers may change it)."""
    return copy.deepcopy(_document())


@routes.get(f"{BASE}/openapi.json")
async def openapi_json(request: web.Request) -> web.Response:
    return web.json_response(
        _document(), headers={"Cache-Control": "max-age=300", "Access-Control-Allow-Origin": "*"}
    )


def _schema_rows(name: str, schema: dict[str, Any]) -> list[dict[str, str]]:
    required = set(schema.get("required", []))
    rows = []
    for prop, sub in schema.get("properties", {}).items():
        rows.append(
            {
                "name": prop,
                "type": _type_of(sub),
                "required": "oui" if prop in required else "",
                "description": sub.get("description", ""),
            }
        )
    return rows


def _bounds(schema: dict[str, Any]) -> str:
    """What a parameter's schema allows besides its type, in words."""
    said = []
    if "minimum" in schema and "maximum" in schema:
        said.append(f"de {schema['minimum']} à {schema['maximum']}")
    if "maxLength" in schema:
        said.append(f"{schema['maxLength']} caractères au plus")
    if "pattern" in schema:
        said.append(f"forme {schema['pattern']}")
    if "default" in schema:
        said.append(f"par défaut {schema['default']}")
    return ", ".join(said)


def _type_of(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return schema["$ref"].rpartition("/")[2]
    if "anyOf" in schema:
        return " | ".join(_type_of(s) for s in schema["anyOf"])
    if "enum" in schema:
        return " | ".join(json.dumps(v) for v in schema["enum"])
    kind = schema.get("type", "objet")
    if kind == "array":
        return f"liste de {_type_of(schema.get('items', {}))}"
    if "format" in schema:
        return f"{kind} ({schema['format']})"
    return str(kind)


@routes.get(f"{BASE}/")
async def documentation(request: web.Request) -> web.Response:
    doc = _document()
    operations = []
    for path, methods in doc["paths"].items():
        for method, spec in methods.items():
            body = spec.get("requestBody", {}).get("content", {})
            operations.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "spec": spec,
                    "anchor": spec["operationId"],
                    "parameters": [
                        {
                            **p,
                            "type": _type_of(p.get("schema", {})),
                            "bounds": _bounds(p.get("schema", {})),
                        }
                        for p in spec["parameters"]
                    ],
                    "body": [(kind, _type_of(value["schema"])) for kind, value in body.items()],
                    "responses": [
                        (
                            status,
                            answer["description"],
                            ", ".join(
                                f"{kind} {_type_of(v['schema'])}"
                                for kind, v in answer.get("content", {}).items()
                            ),
                        )
                        for status, answer in spec["responses"].items()
                    ],
                }
            )
    schemas = [
        (name, _schema_rows(name, schema), json.dumps(schema, ensure_ascii=False, indent=2))
        for name, schema in doc["components"]["schemas"].items()
    ]
    return aiohttp_jinja2.render_template(
        "ministry_api.html",
        request,
        {
            "base": BASE,
            "info": doc["info"],
            "operations": operations,
            "schemas": schemas,
            "problems": models.PROBLEMS,
        },
    )


_PATHS = [
    (
        op.method.upper(),
        re.compile("^" + re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(BASE + op.path)) + "$"),
    )
    for op in OPERATIONS
]


@routes.get(BASE)
async def to_the_page(request: web.Request) -> web.Response:
    raise web.HTTPMovedPermanently(f"{BASE}/")


# ``[\s\S]``, not ``.``: an address holding a line break (%0D%0A) is unknown too.
@routes.route("*", BASE + r"/{tail:[\s\S]*}")
async def unknown(request: web.Request) -> web.Response:
    """Anything else under the API: a problem too (405 with ``Allow`` for a known address asked
    with another method, else 404), never aiohttp's own words."""
    allowed = sorted({method for method, path in _PATHS if path.match(request.path)})
    if allowed:
        response = problem(
            405, "method_not_allowed", f"Méthodes permises ici : {', '.join(allowed)}."
        )
        response.headers["Allow"] = ", ".join(allowed)
        return response
    return problem(404, "unknown_endpoint", f"Point d'accès inconnu : voir {BASE}/.")
