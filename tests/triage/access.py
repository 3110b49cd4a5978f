"""What the access table (tests/staff/test_access.py) needs for the triage routes: a request
waiting in triage's queue, submitted through the gateway's public API."""

from __future__ import annotations

import uuid

import aiohttp

from gateway.keys import GATEWAY_SETTINGS
from shared.identity import HEADER, Identity, Role, sign
from tests.support import eventually

# No file has this id: the roles allowed through get intake's 404, the others never get there.
NO_ATTACHMENT = str(uuid.UUID(int=7))


async def request_in_queue(ctx) -> dict[str, str]:
    """``{code}``: a request waiting in triage's queue; ``{attachment_id}``: a file id."""
    stack = ctx.stack
    submission = {
        "nature": "reclamation",
        "body_id": "ministere-budget",
        "message": "L'accueil du guichet est fermé depuis lundi.",
        "contact": {"last_name": "KONE", "phone": "0707123456", "email": "acces@example.ci"},
    }
    secret = stack.apps["gateway"].app[GATEWAY_SETTINGS].identity_secret.get_secret_value()
    who = Identity(staff_id="acces", role=Role.ANALYST)
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{stack.gateway}/api/v1/requests", json=submission) as resp:
            body = await resp.json()
            assert resp.status == 201, body
        code = body["code"]

        async def queued() -> bool:
            headers = {HEADER: sign(who, secret.encode())}
            async with http.get(f"{stack.url('triage')}/queue/{code}", headers=headers) as r:
                return r.status == 200

        await eventually(queued)
    return {"code": code, "attachment_id": NO_ATTACHMENT}
