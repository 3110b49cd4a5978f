"""The citizens' JSON API (/api/v1) and Open311 GeoReport v2 against their own OpenAPI documents,
with schemathesis (v4, its Python API), as tests/ministry does for the ministry API: every
operation fuzzed on the running platform with valid and invalid inputs. No 5xx; every status,
content type, header and body within the document. Bounded (a few examples per operation,
derandomized) so that it takes seconds. The submission limits are relaxed (``settings_for``);
the JSON API asks no proof of work (the web form does), as its document says.

Random inputs seldom reach a success past the catalogue (a code and its email, a request in the
right state): the answers that need them are called on purpose (:func:`_reached`) and checked
against the document the same way. Every answer's schema is closed (no field it does not name),
so an answer that drifts from its model fails here; a document made wrong on purpose shows it."""

from __future__ import annotations

import asyncio
import copy
import uuid
from typing import Any

import aiohttp
import schemathesis
from hypothesis import given
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.channels.conftest import BODY, OPEN311_KEY
from tests.support import fuzzing

EXAMPLES = 5
# Inputs the schema cannot fully describe, refused though they fit it: a code and a contact
# that match no request (404), a body or theme not in the catalogue, a code of no service.
JUDGED_BEYOND_THE_SCHEMA = {
    "submit",
    "track",
    "rewrite",
    "giveOpinion",
    "reopen",
    "remindCodes",
    "serviceDefinition",
    "searchRequests",
    "getRequest",
    "submitRequest",
}


def _modes(spec: dict) -> list[schemathesis.GenerationMode]:
    """Valid and invalid inputs; an operation that takes none (the catalogue) has no invalid."""
    if spec.get("parameters") or spec.get("requestBody"):
        return list(schemathesis.GenerationMode)
    return [schemathesis.GenerationMode.POSITIVE]


def _fuzz(document: dict, base_url: str) -> tuple[list[str], int]:
    """Run every operation in both modes; (the failures as schemathesis reports them, calls)."""
    schema = schemathesis.openapi.from_dict(document)
    failures = []
    calls = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        raw = operation.definition.raw
        judged = raw.get("operationId") in JUDGED_BEYOND_THE_SCHEMA
        for mode in _modes(raw):

            @given(case=operation.as_strategy(generation_mode=mode))
            @fuzzing(EXAMPLES)
            def check(case) -> None:
                nonlocal calls
                calls += 1
                # An Open311 submission with the channel's key, so that it reaches intake.
                if isinstance(case.body, dict) and "api_key" in case.body:
                    case.body["api_key"] = OPEN311_KEY
                response = case.call(base_url=base_url, timeout=30)
                case.validate_response(
                    response, excluded_checks=[positive_data_acceptance] if judged else None
                )

            try:
                check()
            except Exception as exc:  # every operation is run; all failures are reported
                failures.append(f"{mode.value} {operation.label}: {exc}")
    return failures, calls


# What an answer called on purpose is checked for: its status, content type, headers and body
# against the document (the fuzzing above runs these among schemathesis' default checks).
CONFORMANCE = [
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


Call = tuple[str, dict[str, Any], int]
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


def _reached(document: dict, base_url: str, calls: list[Call]) -> list[str]:
    """Each (operationId, what the case sends, expected status) called and its answer checked
    against ``document``; the failures."""
    schema = schemathesis.openapi.from_dict(document)
    operations = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        operations[operation.definition.raw["operationId"]] = operation
    failures = []
    for operation_id, sent, expected in calls:
        case = operations[operation_id].Case(**sent)
        response = case.call(base_url=base_url, timeout=30)
        if response.status_code != expected:
            failures.append(f"{operation_id}: {response.status_code} {response.text[:300]}")
            continue
        try:
            case.validate_response(response, checks=CONFORMANCE)
        except FailureGroup as exc:  # a BaseExceptionGroup: every check that failed, in words
            failures.append(f"{operation_id} {expected}: {exc}")
    return failures


def _open_answers(document: dict) -> list[str]:
    """The object schemas of the document's answers that let a field they do not name through
    (resolving ``$ref``), by where they are."""
    components = document.get("components", {}).get("schemas", {})
    found: list[str] = []
    seen: set[str] = set()

    def walk(schema: Any, where: str) -> None:
        if isinstance(schema, list):
            for i, item in enumerate(schema):
                walk(item, f"{where}[{i}]")
            return
        if not isinstance(schema, dict):
            return
        if "$ref" in schema:
            name = schema["$ref"].rpartition("/")[2]
            if name not in seen:
                seen.add(name)
                walk(components[name], name)
        if "properties" in schema and schema.get("additionalProperties") is not False:
            found.append(where)
        for key in ("properties", "items", "anyOf", "oneOf", "allOf"):
            if key in schema:
                part = schema[key]
                if key == "properties":
                    for name, sub in part.items():
                        walk(sub, f"{where}.{name}")
                else:
                    walk(part, f"{where}.{key}")

    for path, methods in document["paths"].items():
        for method, spec in methods.items():
            for status, answer in spec["responses"].items():
                for kind, content in answer.get("content", {}).items():
                    walk(content.get("schema"), f"{method} {path} {status} {kind}")
    return found


def _wrong(document: dict, model: str, field: str) -> dict:
    """``document`` made wrong on purpose: ``model``'s ``field`` left out of its schema."""
    wrong = copy.deepcopy(document)
    schema = wrong["components"]["schemas"][model]
    del schema["properties"][field]
    schema["required"].remove(field)
    return wrong


def _json(body: Any) -> dict[str, Any]:
    return {"body": body, "media_type": JSON}


def _replies(example: dict, code: str) -> list[Call]:
    """The answers past the catalogue for the request ``example`` submitted as ``code``: its
    view, the refusals of its state (not answered yet), a wrong code, a mistyped one, a
    reminder, and a submission key sent again with the same request and with another one."""
    email = example["contact"]["email"]
    keyed = {**example, "submission_key": uuid.uuid4().hex}
    wrong = "0000000000" if code != "0000000000" else "1000000009"
    return [
        ("track", _json({"code": code, "email": email}), 200),
        ("track", _json({"code": wrong, "email": email}), 404),
        ("giveOpinion", _json({"code": code, "email": email, "opinion": "satisfied"}), 409),
        ("reopen", _json({"code": code, "email": email, "message": "Encore."}), 409),
        ("rewrite", _json({"code": code, "email": email, "message": "Autre."}), 409),
        ("track", _json({"code": code[:9], "email": email}), 422),
        ("remindCodes", _json({"email": email}), 202),
        ("submit", _json(keyed), 201),
        ("submit", _json(keyed), 200),
        ("submit", _json({**keyed, "message": "Une autre requête."}), 409),
    ]


def _open311_calls(example: dict, code: str) -> list[Call]:
    """Open311's answers past the list of services for the request ``example`` (/api/v1's)
    submitted as ``code``: a definition, a submission, statuses by code and by key."""
    service = f"{BODY}.reclamation"
    form = {
        "api_key": OPEN311_KEY,
        "service_code": service,
        "description": example["message"],
        "email": example["contact"]["email"],
        "last_name": example["contact"]["last_name"],
    }
    fmt = {"fmt": "json"}
    return [
        ("serviceDefinition", {"path_parameters": {**fmt, "service_code": service}}, 200),
        ("submitRequest", {"path_parameters": fmt, "body": form, "media_type": FORM}, 201),
        ("getRequest", {"path_parameters": {**fmt, "service_request_id": code}}, 200),
        ("searchRequests", {"path_parameters": fmt, "query": {"service_request_id": code}}, 200),
        ("searchRequests", {"path_parameters": fmt, "query": {"api_key": OPEN311_KEY}}, 200),
        ("searchRequests", {"path_parameters": fmt}, 400),
        (
            "submitRequest",
            {"path_parameters": fmt, "body": {"api_key": "x"}, "media_type": FORM},
            403,
        ),
    ]


async def _document(gateway: str, path: str) -> dict:
    async with aiohttp.ClientSession() as http, http.get(gateway + path) as resp:
        assert resp.status == 200, path
        return await resp.json()


async def test_the_public_apis_keep_to_their_openapi_documents(channels_stack):
    gateway = channels_stack.gateway
    v1 = await _document(gateway, "/api/v1/openapi.json")
    open311 = await _document(gateway, "/open311/v2/openapi.json")
    for document in (v1, open311):
        assert document["openapi"].startswith("3.1")
    # What a submission takes is intake's model, there as it is.
    submission = v1["components"]["schemas"]["SubmissionIn"]
    assert {"nature", "body_id", "message", "contact"} <= set(submission["required"])
    assert "channel" not in submission["properties"]
    assert v1["paths"]["/api/v1/requests"]["post"]["responses"]["429"]["headers"]["Retry-After"]
    # The document's example is a submission the platform takes: the fuzzing's explicit phase
    # goes through a 201, not only refusals.
    example = v1["paths"]["/api/v1/requests"]["post"]["requestBody"]["content"]
    example = example["application/json"]["example"]
    assert example["body_id"] == BODY
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{gateway}/api/v1/requests", json=example) as resp,
    ):
        assert resp.status == 201, await resp.text()
        code = (await resp.json())["code"]
    # Every answer is closed: a field the document does not name is a failure.
    for document in (v1, open311):
        assert _open_answers(document) == [], document["info"]["title"]
    # A document made wrong on purpose is caught by the answers called on purpose...
    for wrong, calls, caught in (
        (_wrong(v1, "TrackingView", "history"), _replies(example, code), "track 200:"),
        (_wrong(v1, "Submitted", "told_by"), _replies(example, code), "submit 201:"),
        (
            _wrong(open311, "Open311Request", "status_notes"),
            _open311_calls(example, code),
            "getRequest 200:",
        ),
    ):
        found = await asyncio.to_thread(_reached, wrong, gateway, calls)
        assert any(f.startswith(caught) for f in found), (caught, found)
    # ...and the documents as served hold for each of them.
    failures = await asyncio.to_thread(_reached, v1, gateway, _replies(example, code))
    failures += await asyncio.to_thread(_reached, open311, gateway, _open311_calls(example, code))
    for document in (v1, open311):
        found, calls = await asyncio.to_thread(_fuzz, document, gateway)
        failures += found
        runs = sum(
            len(_modes(s)) for methods in document["paths"].values() for s in methods.values()
        )
        assert calls >= runs * 2, (document["info"]["title"], calls)
    assert failures == [], "\n\n".join(failures)
