"""What the access table (tests/staff/test_access.py) needs for the triage routes: a request
waiting in triage's queue, submitted through the gateway's public API."""

from __future__ import annotations

import aiohttp

from shared.identity import Identity, Role
from tests.front.conftest import OWNER, PNG, submission_fields
from tests.support import as_staff, eventually, signed_session


async def _file_of_a_request(http: aiohttp.ClientSession, intake: str) -> str:
    """The id of a PNG sent with a request to ministere-budget (intake's draft API, as the
    gateway's form uses it)."""
    headers = {"X-Draft-Owner": OWNER}
    fields = {"fields": submission_fields("piece@example.ci")}
    async with http.post(f"{intake}/drafts", json=fields, headers=headers) as r:
        draft = await r.json()
        assert r.status == 201 and draft["ready"], draft
    files = f"{intake}/drafts/{draft['draft_id']}/files"
    async with http.post(files, params={"filename": "recu.png"}, data=PNG, headers=headers) as r:
        stored = await r.json()
        assert r.status == 201, stored
    async with http.post(f"{intake}/drafts/{draft['draft_id']}/submit", headers=headers) as r:
        assert r.status == 201
    return stored["id"]


async def request_in_queue(ctx) -> dict[str, str]:
    """``{code}``: a request waiting in triage's queue; ``{attachment_id}``: the file of a
    request to ministere-budget."""
    stack = ctx.stack
    submission = {
        "nature": "reclamation",
        "body_id": "ministere-budget",
        "message": "L'accueil du guichet est fermé depuis lundi.",
        "contact": {"last_name": "KONE", "phone": "0707123456", "email": "acces@example.ci"},
    }
    who = Identity(staff_id="acces", role=Role.ANALYST)
    async with signed_session() as http:
        async with http.post(f"{stack.gateway}/api/v1/requests", json=submission) as resp:
            body = await resp.json()
            assert resp.status == 201, body
        code = body["code"]

        async def queued() -> bool:
            headers = as_staff(who)
            async with http.get(f"{stack.url('triage')}/queue/{code}", headers=headers) as r:
                return r.status == 200

        await eventually(queued)
        attachment_id = await _file_of_a_request(http, stack.url("intake"))
    return {"code": code, "attachment_id": attachment_id}
