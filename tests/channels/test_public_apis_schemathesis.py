"""The citizens' JSON API (/api/v1) and Open311 GeoReport v2 against their own OpenAPI documents,
with schemathesis (v4, its Python API), as tests/ministry does for the ministry API: every
operation fuzzed on the running platform with valid and invalid inputs. No 5xx; every status,
content type, header and body within the document. Bounded (a few examples per operation,
derandomized) so that it takes seconds. The submission limits are relaxed (``settings_for``);
the JSON API asks no proof of work (the web form does), as its document says."""

from __future__ import annotations

import asyncio

import aiohttp
import schemathesis
from hypothesis import given
from schemathesis.specs.openapi.checks import positive_data_acceptance

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
    failures = []
    for document in (v1, open311):
        found, calls = await asyncio.to_thread(_fuzz, document, gateway)
        failures += found
        runs = sum(
            len(_modes(s)) for methods in document["paths"].values() for s in methods.values()
        )
        assert calls >= runs * 2, (document["info"]["title"], calls)
    assert failures == [], "\n\n".join(failures)
