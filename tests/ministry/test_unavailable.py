"""When treatment does not answer, every operation of the ministry API answers what its OpenAPI
document says it may: a 503 problem ``service_unavailable`` with ``Retry-After``. The document
listed 400, 401, 429 and each operation's own errors, not this one, so a client generated from
it had no branch for the answer it got."""

from __future__ import annotations

import re

import aiohttp

from gateway.public_api.ministry import openapi
from shared.identity import Role
from tests.ministry.helpers import BASE, BODY, PDF, Api, gateway_alone
from tests.staff.helpers import create_account

CODE = "5030529490"
SOME_ID = "0b7f6b43-2a4e-4a3b-9a7e-6c1d2f3e4a5b"


def _concrete(path: str) -> str:
    path = path.replace("{code}", CODE)
    return re.sub(r"\{\w+\}", SOME_ID, path)


async def test_every_operation_answers_and_documents_503_when_a_service_is_down(
    settings_for, database_url
):
    # Whom « reassign » names: the gateway judges the agent before it asks treatment.
    await create_account(database_url, Role.FOCAL_POINT, "adjoua.n", "un agent du budget", BODY)
    async with gateway_alone(settings_for) as (gateway, key), aiohttp.ClientSession() as http:
        api = Api(http, gateway.url, key)
        document = openapi.document()
        for op in openapi.OPERATIONS:
            documented = document["paths"][BASE + op.path][op.method]["responses"]
            assert "Retry-After" in documented["503"]["headers"], op.operation_id
            path = _concrete(op.path)
            if op.body == "file":
                kw = {"data": PDF, "headers": {"Content-Type": "application/pdf"}}
            elif op.body is not None:
                given = {"message": "Réponse.", "reason": "Motif.", "agent_login": "adjoua.n"}
                kw = {"json": {k: v for k, v in given.items() if k in op.body.model_fields}}
            else:
                kw = {}
            status, body, headers = await api.call(op.method.upper(), path, **kw)
            assert (status, body["code"]) == (503, "service_unavailable"), (op.operation_id, body)
            assert headers["Content-Type"].startswith("application/problem+json")
            assert headers["Retry-After"] == "5"
