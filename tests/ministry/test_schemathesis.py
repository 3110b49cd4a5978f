"""The ministry API against its own OpenAPI document, with schemathesis (v4, its Python API):
every operation fuzzed on the running platform with a valid key (valid and invalid inputs),
without a key and with another body's key. No 5xx; every status, content type, header and body
within the document; nothing answered without a valid key. Bounded (a few examples per
operation) so that it takes seconds."""

from __future__ import annotations

import asyncio

import aiohttp
import schemathesis
from hypothesis import given
from schemathesis.specs.openapi.checks import positive_data_acceptance

from gateway.public_api.ministry.openapi import OPERATIONS
from tests.ministry.helpers import BASE, OTHER_BODY, new_key, validated_reclamation
from tests.support import fuzzing

EXAMPLES = 6
# Inputs the schema cannot fully describe, refused (422) though they fit it: a document is judged
# by its content (a PDF, JPEG or PNG, not empty), an answer names documents deposited first, a
# feed's cursor is one the gateway sealed (a made-up one of the right form is no place in it), a
# reassignment names by login an agent who is an active focal point of the body.
JUDGED_BEYOND_THE_SCHEMA = {"uploadDocument", "answer", "answerAgain", "listChanges", "reassign"}


def _fuzz(
    document: dict, base_url: str, who: str, headers: dict[str, str], modes, code: str
) -> tuple[list[str], int]:
    """Run every operation; (the failures as text — schemathesis' reports —, calls made)."""
    schema = schemathesis.openapi.from_dict(document)
    failures = []
    calls = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in modes:

            @given(case=operation.as_strategy(generation_mode=mode))
            @fuzzing(EXAMPLES)
            def check(case) -> None:
                # The key is the run's (or none): never one schemathesis made up.
                for name in list(case.headers or {}):
                    if name.lower() in ("authorization", "x-api-key"):
                        del case.headers[name]
                nonlocal calls
                calls += 1
                response = case.call(base_url=base_url, headers=headers, timeout=30)
                if who == "other" and (case.path_parameters or {}).get("code") == code:
                    assert response.status_code >= 400, f"{case.formatted_path}: another body's"
                if who == "none":
                    assert response.status_code in (400, 401), (
                        f"{case.method} {case.formatted_path} answered {response.status_code} "
                        "without a key"
                    )
                judged = operation.definition.raw.get("operationId") in JUDGED_BEYOND_THE_SCHEMA
                case.validate_response(
                    response,
                    headers=headers,
                    excluded_checks=[positive_data_acceptance] if judged else None,
                )

            try:
                check()
            except Exception as exc:  # every operation is run; all failures are reported
                failures.append(f"{who} {mode.value} {operation.label}: {exc}")
    return failures, calls


async def test_the_api_keeps_to_its_openapi_document(stack):
    code = await validated_reclamation(stack)
    ours = await new_key(stack)
    theirs = await new_key(stack, OTHER_BODY)
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{stack.gateway}{BASE}/openapi.json") as resp:
            assert resp.status == 200
            document = await resp.json()
        async with http.get(f"{stack.gateway}{BASE}/") as resp:
            page = await resp.text()
            assert resp.status == 200 and "Authorization: Bearer" in page
            assert "listChanges" in page and "https://" not in page.split("<main")[1]
    assert document["openapi"].startswith("3.1")
    # The explicit examples name a real request of the key's body.
    for methods in document["paths"].values():
        for spec in methods.values():
            for parameter in spec.get("parameters", []):
                if parameter["name"] == "code":
                    parameter["example"] = code
    runs = [
        ("valid", {"Authorization": f"Bearer {ours}"}, list(schemathesis.GenerationMode)),
        ("none", {}, [schemathesis.GenerationMode.POSITIVE]),
        ("other", {"X-Api-Key": theirs}, [schemathesis.GenerationMode.POSITIVE]),
    ]
    failures = []
    for who, headers, modes in runs:
        found, calls = await asyncio.to_thread(
            _fuzz, document, stack.gateway, who, headers, modes, code
        )
        failures += found
        assert calls >= len(OPERATIONS) * len(modes) * 2, (who, calls)
    assert failures == [], "\n\n".join(failures)
