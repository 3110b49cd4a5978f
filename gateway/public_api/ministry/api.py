"""The ministry API's routes under ``/api/ministeres/v1/``: what a focal point does in the back
office, for a public body's own information system, with that body's API key.

Every call goes through :func:`operation`: a key in the address is refused (400
``key_in_url``: addresses end up in logs and histories); the key is read from
``Authorization: Bearer …`` or ``X-Api-Key``, checked and counted against its limit
(``keys.check``: 401 ``missing_key``, ``invalid_key``, ``revoked_key``; 429 ``rate_limited``
with ``Retry-After``); the call is answered on behalf of the key's body and written to the call
log (``api_calls``: key, body, operation, request code, status, address), refused or not.

Treatment is called with an identity the gateway signs for the key: a focal point of the key's
body whose id is ``cle-api:<key id>``, so treatment applies to the system exactly the rules it
applies to the body's agents — another body's request is the same 404 as one that does not
exist (a 403 would tell a system which codes exist elsewhere), and each action is one
transaction there, in its history and its audit log under the key's id.

Errors are ``application/problem+json`` (RFC 9457, ``models.Problem``). Answers pass through
the models of ``models.py``, which the OpenAPI document (``openapi.py``) is generated from.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

import aiohttp
import asyncpg
from aiohttp import web
from pydantic import BaseModel, ValidationError

from gateway.clients.intake import INTAKE
from gateway.clients.transport import ServiceUnavailable
from gateway.clients.treatment import TREATMENT
from gateway.public_api.ministry import cursors, models
from gateway.staff import accounts
from gateway.staff import api_keys as keys
from gateway.web import reading
from gateway.web.client_address import client_address
from gateway.web.keys import GATEWAY_SETTINGS
from shared import attachments, codes, lifecycle, logs
from shared.identity import Identity, Role, api_key_staff_id
from shared.numbers import whole
from shared.service import POOL
from shared.web import field_error, field_errors, french

BASE = "/api/ministeres/v1"
PROBLEM = "application/problem+json"
KEY_PARAMETERS = frozenset({"api_key", "apikey", "key", "cle", "token", "access_token"})
TITLES = {
    400: "Requête invalide",
    401: "Clé d'API manquante ou refusée",
    404: "Introuvable",
    409: "Conflit",
    413: "Trop volumineux",
    405: "Méthode non permise",
    415: "Type de contenu non pris en charge",
    422: "Champs invalides",
    429: "Trop d'appels",
    503: "Service momentanément indisponible",
}
REFUSALS = {
    "missing_key": "Aucune clé d'API : envoyez-la dans l'en-tête Authorization: Bearer <clé>.",
    "invalid_key": "Cette clé d'API n'est pas reconnue.",
    "revoked_key": "Cette clé d'API a été révoquée : demandez-en une nouvelle à l'administrateur.",
}
NOT_FOUND = "Aucune requête de votre organisme ne porte ce code."

routes = web.RouteTableDef()
Handler = Callable[[web.Request, keys.ApiKey], Awaitable[web.StreamResponse]]


def problem(status: int, code: str, detail: str, **extra: Any) -> web.Response:
    """An RFC 9457 problem: ``type`` points at the problem's entry in the API's page."""
    body = models.Problem(
        type=f"{BASE}/#probleme-{code}",
        title=TITLES.get(status, "Erreur"),
        status=status,
        detail=detail,
        code=code,
        # What the support looks the call up by in the logs, as /api/v1's errors give it.
        correlation_id=logs.correlation_id.get() or None,
        **extra,
    ).model_dump(mode="json", exclude_none=True)
    response = web.json_response(body, status=status, content_type=PROBLEM)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="ministeres"'
    if status == 429:
        response.headers["Retry-After"] = str(extra.get("retry_after", 60))
    return response


def refused(_request: web.Request, status: int, error: str, message: str) -> web.Response:
    """A refusal worded before any route (``gateway.web.reading``), as a problem."""
    return problem(status, error, message)


def invalid(errors: list[dict[str, str]]) -> web.Response:
    return problem(
        422,
        "validation_failed",
        "Certains champs sont invalides.",
        errors=[models.FieldProblem(**e) for e in errors],
    )


def ok(model: type[BaseModel], body: Any, status: int = 200) -> web.Response:
    """``body`` (treatment's JSON) as ``model`` says: unknown fields dropped, the rest checked."""
    return web.json_response(model.model_validate(body).model_dump(mode="json"), status=status)


def identity_of(key: keys.ApiKey) -> Identity:
    """Who treatment sees: a focal point of the key's body, named after the key."""
    return Identity(
        staff_id=api_key_staff_id(key.id),
        role=Role.FOCAL_POINT,
        body_id=key.body_id,
        login=f"clé d'API « {key.label} »"[:120],
    )


def _presented(request: web.Request) -> str | None:
    given = request.headers.get("Authorization", "")
    scheme, _, value = given.strip().partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.headers.get("X-Api-Key", "").strip() or None


def _key_in_url(request: web.Request) -> bool:
    if any(name.lower() in KEY_PARAMETERS for name in request.query):
        return True
    return bool(
        keys.KEY_ANYWHERE.search(request.rel_url.raw_query_string)
        or keys.KEY_ANYWHERE.search(request.query_string)
    )


def operation(name: str) -> Callable[[Handler], Callable[[web.Request], Awaitable[Any]]]:
    """Wrap a handler of the API: key checked, limit counted, call logged, errors as
    problems. The handler gets the key."""

    def decorate(handler: Handler) -> Callable[[web.Request], Awaitable[Any]]:
        @functools.wraps(handler)
        async def wrapped(request: web.Request) -> web.StreamResponse:
            pool = request.app[POOL]
            verdict = keys.Verdict()
            status = 500
            try:
                if _key_in_url(request):
                    response: web.StreamResponse = problem(
                        400,
                        "key_in_url",
                        "Une clé d'API ne se met jamais dans une adresse (elle finit dans les "
                        "journaux) : envoyez-la dans l'en-tête Authorization, et faites "
                        "révoquer celle-ci si elle était bonne.",
                    )
                else:
                    verdict = await keys.check(pool, _presented(request))
                    if verdict.refusal == "rate_limited":
                        response = problem(
                            429,
                            "rate_limited",
                            "Trop d'appels pour cette clé : attendez avant de recommencer.",
                            retry_after=verdict.retry_after,
                        )
                    elif verdict.refusal or verdict.key is None:
                        refusal = verdict.refusal or "missing_key"
                        response = problem(401, refusal, REFUSALS[refusal])
                    else:
                        try:
                            response = await handler(request, verdict.key)
                        except ServiceUnavailable:
                            response = problem(
                                503,
                                "service_unavailable",
                                "Le service ne répond pas : réessayez dans un moment.",
                            )
                            response.headers["Retry-After"] = "5"
                status = response.status
                return response
            finally:
                await keys.record_call(
                    pool,
                    key_id=verdict.key_id,
                    body_id=verdict.key.body_id if verdict.key else None,
                    method=request.method,
                    operation=name,
                    request_code=request.match_info.get("code"),
                    status=status,
                    address=client_address(request),
                )

        wrapped.operation_id = name  # type: ignore[attr-defined]
        return wrapped

    return decorate


def _code(request: web.Request) -> str | None:
    code = codes.normalize(request.match_info["code"])
    return code if codes.is_well_formed(code) else None


def _from_treatment(status: int, body: Any) -> web.Response | None:
    """Treatment's refusal as a problem; None for a success."""
    if status < 300:
        return None
    said = body.get("message", "") if isinstance(body, dict) else ""
    if status in (400, 422):
        errors = body.get("errors") if isinstance(body, dict) else None
        return invalid(errors or [{"field": "body", "code": "invalid", "message": said}])
    if status == 409:
        return problem(
            409,
            str(body.get("error", "conflict")),
            said or "Action impossible.",
            current_version=body.get("version"),
        )
    if status in (403, 404):
        return problem(404, "not_found", NOT_FOUND)
    raise ServiceUnavailable("treatment")


async def _read(request: web.Request, model: type[BaseModel]) -> BaseModel | web.Response:
    if request.content_type != "application/json":
        return problem(415, "unsupported_media_type", "Envoyez du JSON (application/json).")
    try:
        raw = await request.json()
    except web.HTTPRequestEntityTooLarge:
        return problem(413, "too_large", "Corps trop volumineux.")
    except (ValueError, LookupError, RecursionError):  # a charset nobody knows, 10,000 [[[…
        return problem(400, "invalid_json", "Le corps n'est pas du JSON valide.")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        return invalid(french(field_errors(exc)))


def _clean(text: str, most: int) -> str:
    return text.replace("\x00", "")[:most]


LIST_PARAMETERS = {
    "list": "view",
    "q": "q",
    "sort": "sort",
    "order": "order",
    "limit": "limit",
    "offset": "offset",
    "validated_from": "validated_from",
    "validated_to": "validated_to",
}


@routes.get(f"{BASE}/requests")
@operation("listRequests")
async def list_requests(request: web.Request, key: keys.ApiKey) -> web.StreamResponse:
    params = {
        theirs: _clean(request.query[ours], 200)
        for ours, theirs in LIST_PARAMETERS.items()
        if ours in request.query
    }
    # Treatment reads an empty date as none given (the back office's forms send it so); the API
    # documents a date, so an empty one is refused as any other malformed date.
    empty = [n for n in ("validated_from", "validated_to") if n in params and not params[n]]
    if empty:
        return invalid([field_error(n, "Une date AAAA-MM-JJ.", "invalid_date") for n in empty])
    view = params.pop("view", "en_cours")
    status, body = await request.app[TREATMENT].requests(
        view, identity=identity_of(key), params=params
    )
    if status == 400 and isinstance(body, dict):
        for error in body.get("errors", []):
            if error.get("field") == "view":
                error["field"] = "list"
    return _from_treatment(status, body) or ok(models.RequestPage, body)


async def _detail(request: web.Request, key: keys.ApiKey) -> dict | web.Response:
    code = _code(request)
    if code is None:
        return problem(404, "not_found", NOT_FOUND)
    status, body = await request.app[TREATMENT].item(code, identity=identity_of(key))
    if refused := _from_treatment(status, body):
        return refused
    history = body.get("history", [])
    body["opinions"] = [
        {
            "opinion": line["details"].get("opinion"),
            "opinion_label": lifecycle.opinion_label(line["details"].get("opinion")),
            "comment": line.get("message"),
            "at": line["at"],
        }
        for line in history
        if line["kind"] == lifecycle.Event.OPINION_GIVEN.kind
    ]
    body["reopenings"] = [
        {"message": line.get("message"), "at": line["at"]}
        for line in history
        if line["kind"] == lifecycle.Event.REOPENED.kind
    ]
    may = body.get("may", {})
    body["may"] = {name: bool(may.get(name)) for name in models.Allowed.model_fields}
    return body


@routes.get(BASE + "/requests/{code}")
@operation("getRequest")
async def get_request(request: web.Request, key: keys.ApiKey) -> web.StreamResponse:
    body = await _detail(request, key)
    return body if isinstance(body, web.Response) else ok(models.RequestDetail, body)


@routes.get(BASE + "/requests/{code}/opinions")
@operation("listOpinions")
async def list_opinions(request: web.Request, key: keys.ApiKey) -> web.StreamResponse:
    body = await _detail(request, key)
    if isinstance(body, web.Response):
        return body
    return ok(models.OpinionList, {"items": body["opinions"]})


@routes.get(BASE + "/requests/{code}/reopenings")
@operation("listReopenings")
async def list_reopenings(request: web.Request, key: keys.ApiKey) -> web.StreamResponse:
    body = await _detail(request, key)
    if isinstance(body, web.Response):
        return body
    return ok(models.ReopeningList, {"items": body["reopenings"]})


# What the system sends → what treatment takes, given the key (None: the fields as sent); a
# response refuses the call before treatment is asked.
Fields = Callable[[web.Request, keys.ApiKey, dict[str, Any]], Awaitable[dict | web.Response]]


def _action(
    name: str,
    treatment_action: str,
    model: type[BaseModel],
    prepare: Fields | None = None,
    renamed: dict[str, str] | None = None,
):
    """An action of treatment's: ``renamed`` gives the API's name of a field treatment refuses
    under its own."""

    async def act(request: web.Request, key: keys.ApiKey) -> web.StreamResponse:
        given = await _read(request, model)
        if isinstance(given, web.Response):
            return given
        code = _code(request)
        if code is None:
            return problem(404, "not_found", NOT_FOUND)
        fields = given.model_dump(mode="json", exclude_none=True)
        if prepare is not None:
            prepared = await prepare(request, key, fields)
            if isinstance(prepared, web.Response):
                return prepared
            fields = prepared
        status, body = await request.app[TREATMENT].act(
            code, treatment_action, fields, identity=identity_of(key)
        )
        if status == 422 and renamed and isinstance(body, dict):
            for error in body.get("errors") or []:
                error["field"] = renamed.get(error.get("field"), error.get("field"))
        return _from_treatment(status, body) or ok(models.ActionDone, body)

    act.__name__ = f"act_{treatment_action.replace('-', '_')}"
    return operation(name)(act)


async def _agent(request: web.Request, key: keys.ApiKey, fields: dict[str, Any]) -> Any:
    """« Réaffecter »: the agent named by login, judged by the back office's rule (an active
    focal point of the key's body), given to treatment by id and login as the back office
    gives it — so notify tells them as it tells an agent reassigned there."""
    try:
        async with request.app[POOL].acquire(timeout=10) as conn:
            agent = await accounts.assignable(conn, key.body_id, login=fields["agent_login"])
    except accounts.NotAssignable as refusal:
        return invalid([field_error("agent_login", refusal.message, refusal.code)])
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        raise ServiceUnavailable("gateway") from exc
    return {
        "assignee_id": str(agent.id),
        "assignee_login": agent.login,
        **({"version": fields["version"]} if "version" in fields else {}),
    }


TO_AGENT = {"assignee_id": "agent_login", "assignee_login": "agent_login"}

for _path, _name, _action_name, _model, _prepare, _renamed in (
    ("take", "takeInCharge", "take", models.TakeIn, None, None),
    ("hold", "putOnHold", "hold", models.HoldIn, None, None),
    ("resume", "resume", "resume", models.ResumeIn, None, None),
    ("reassign", "reassign", "reassign", models.ReassignIn, _agent, TO_AGENT),
    ("answer", "answer", "answer", models.AnswerIn, None, None),
    # The focal point's « Répondre à l'usager » in « Insatisfaits »: treatment's same action.
    ("answer-again", "answerAgain", "answer-again", models.AnswerAgainIn, None, None),
):
    routes.post(BASE + "/requests/{code}/" + _path)(
        _action(_name, _action_name, _model, _prepare, _renamed)
    )


@routes.post(BASE + "/requests/{code}/documents")
@reading.reads_own_body
@operation("uploadDocument")
async def upload_document(request: web.Request, key: keys.ApiKey) -> web.StreamResponse:
    """The document's bytes as the body: judged by treatment as a citizen's attachment is
    (``shared.attachments.inspect``); a refusal is the 422 ``validation_failed`` problem whose
    ``errors`` name ``document`` with the reason's code (``pdf_javascript``…)."""
    code = _code(request)
    if code is None:
        return problem(404, "not_found", NOT_FOUND)
    if (request.content_length or 0) > attachments.MAX_BYTES:
        return problem(413, "too_large", "5 Mo au plus par document.")
    chunks, size = [], 0
    while size <= attachments.MAX_BYTES:
        try:  # each wait for the client's bytes timed: a body announced longer than it is
            async with asyncio.timeout(request.app[GATEWAY_SETTINGS].body_timeout):
                chunk = await request.content.read(
                    min(256 * 1024, attachments.MAX_BYTES + 1 - size)
                )
        except TimeoutError:
            response = problem(408, reading.TOO_SLOW.error, reading.TOO_SLOW.message)
            response.force_close()
            return response
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > attachments.MAX_BYTES:
        return problem(413, "too_large", "5 Mo au plus par document.")
    filename = _clean(request.query.get("filename", ""), 200).strip() or "document"
    status, body = await request.app[TREATMENT].upload_document(
        code, filename, b"".join(chunks), identity=identity_of(key)
    )
    return _from_treatment(status, body) or ok(models.Document, body, status=201)


async def _stream(request: web.Request, upstream: aiohttp.ClientResponse) -> web.StreamResponse:
    response = web.StreamResponse(
        headers={
            name: upstream.headers[name]
            for name in ("Content-Type", "Content-Disposition", "Content-Length")
            if name in upstream.headers
        }
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    await response.prepare(request)
    async for chunk in upstream.content.iter_chunked(256 * 1024):
        await response.write(chunk)
    await response.write_eof()
    return response


async def _download(request: web.Request, opened, missing: str) -> web.StreamResponse:
    try:
        async with opened as upstream:
            if upstream.status == 200:
                return await _stream(request, upstream)
            if upstream.status in (403, 404):
                return problem(404, "not_found", missing)
            raise ServiceUnavailable("service")
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise ServiceUnavailable("service") from exc


def _uuid(text: str) -> str | None:
    with contextlib.suppress(ValueError):
        return str(UUID(text))
    return None


@routes.get(BASE + "/documents/{document_id}")
@operation("downloadDocument")
async def download_document(request: web.Request, key: keys.ApiKey) -> web.StreamResponse:
    """A document of one of the body's answers."""
    document_id = _uuid(request.match_info["document_id"])
    if document_id is None:
        return problem(404, "not_found", "Document introuvable.")
    opened = request.app[TREATMENT].document(document_id, identity=identity_of(key))
    return await _download(request, opened, "Document introuvable.")


@routes.get(BASE + "/attachments/{attachment_id}")
@operation("downloadAttachment")
async def download_attachment(request: web.Request, key: keys.ApiKey) -> web.StreamResponse:
    """A file the citizen sent with one of the body's requests."""
    attachment_id = _uuid(request.match_info["attachment_id"])
    if attachment_id is None:
        return problem(404, "not_found", "Pièce jointe introuvable.")
    opened = request.app[INTAKE].attachment(attachment_id, identity=identity_of(key))
    return await _download(request, opened, "Pièce jointe introuvable.")


@routes.get(f"{BASE}/changes")
@operation("listChanges")
async def list_changes(request: web.Request, key: keys.ApiKey) -> web.StreamResponse:
    secret = request.app[GATEWAY_SETTINGS].identity_secret.get_secret_value().encode()
    errors = []
    after = ""
    if given := request.query.get("after", ""):
        after = cursors.unseal(given, secret) or ""
        if not after:
            errors.append(field_error("after", "Curseur inconnu.", "invalid_cursor"))
    raw = request.query.get("limit", "100")
    if whole(raw, 1, 500) is None:
        errors.append(field_error("limit", "Un nombre de 1 à 500.", "out_of_range"))
    if errors:
        return invalid(errors)
    status, body = await request.app[TREATMENT].changes(
        identity=identity_of(key), after=after, limit=int(raw)
    )
    if refused := _from_treatment(status, body):
        return refused
    for item in body["items"]:
        item["cursor"] = cursors.seal(item["cursor"], secret)
    body["next"] = cursors.seal(body["next"], secret)
    return ok(models.ChangePage, body)
