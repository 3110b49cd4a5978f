"""Every problem of the ministry API carries its ``correlation_id``, as its schema in the
OpenAPI document says it may and as the public API's errors do: the id a ministry's system
gives Miliê's support to find the call in the logs (the same as the X-Correlation-ID header)."""

from __future__ import annotations

import re
from pathlib import Path

import aiohttp

from gateway.public_api.ministry import models, openapi
from tests.ministry.helpers import Api, gateway_alone


async def test_a_problem_carries_the_correlation_id_of_the_call(settings_for):
    async with gateway_alone(settings_for) as (gateway, key), aiohttp.ClientSession() as http:
        for api, path in (
            (Api(http, gateway.url, None), "/requests"),  # 401 missing_key
            (Api(http, gateway.url, key), "/requests?limit=0"),  # 422 validation_failed
            (Api(http, gateway.url, key), "/requests/5030529490"),  # 503 treatment is down
            (Api(http, gateway.url, key), "/nulle-part"),  # 404 unknown_endpoint
            # A line break ends what ``.*`` matches: aiohttp's own text answered before.
            (Api(http, gateway.url, key), "/nulle%0D%0Apart"),  # 404 unknown_endpoint
        ):
            status, problem, headers = await api.get(path)
            assert status >= 400, path
            assert problem["correlation_id"] == headers["X-Correlation-ID"], (path, problem)
            if "nulle" in path:
                assert (status, problem["code"]) == (404, "unknown_endpoint"), problem
                assert headers["Content-Type"].startswith("application/problem+json"), path
            sent = {"X-Correlation-ID": "appel-sigfip-42"}
            _, problem, _ = await api.get(path, headers=sent)
            assert problem["correlation_id"] == "appel-sigfip-42", path


def test_every_refusal_of_treatment_is_a_documented_problem_code():
    # Treatment's 409s reach the system under their own code (_from_treatment): « purged » (an
    # answer to a request whose citizen's data were erased) was in no list of the document.
    source = (Path(__file__).resolve().parents[2] / "services/treatment/actions.py").read_text()
    refused = set(re.findall(r'Refused\(\s*"([a-z_]+)"', source)) | {"modified"}
    listed = {code for code, _, _ in models.PROBLEMS}
    assert refused <= listed, refused - listed
    document = openapi.document()
    described = document["components"]["schemas"]["Problem"]["properties"]["code"]["description"]
    for code in listed:
        assert code in described, code
    answer = document["paths"][f"{openapi.BASE}/requests/{{code}}/answer"]["post"]
    for code in refused:
        assert code in answer["responses"]["409"]["description"], code
