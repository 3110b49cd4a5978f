"""Intake on real PostgreSQL: the rewrite of a request sent back for reformulation takes the
documents kept in the citizen's draft (checked there by content, as the submission form's) in
its transaction — the request's attachments, the draft gone, ``citizen.documents_added`` in the
outbox beside ``request.resubmitted``; another browser's draft, or one gone, is refused beside
« Documents » and nothing is rewritten."""

from __future__ import annotations

import asyncpg

from shared.messages import CitizenDocumentsAddedV1
from tests.front.conftest import OWNER, PDF, submission_fields

HEADERS = {"X-Draft-Owner": OWNER}


async def _post(http, url, payload, headers=HEADERS):
    async with http.post(url, json=payload, headers=headers) as resp:
        return resp.status, await resp.json()


async def test_the_rewrite_takes_the_drafts_documents_in_its_transaction(
    intake, http, database_url
):
    base = intake.url
    email = "aya.rewrite@example.ci"
    status, stored = await _post(http, base + "/requests", submission_fields(email))
    assert status == 201, stored
    code = stored["code"]
    db = await asyncpg.connect(database_url, server_settings={"search_path": "intake"})
    try:
        request_id = await db.fetchval("SELECT id FROM requests WHERE code = $1", code)
        # As request.reformulation_requested leaves it (applied by intake's handler elsewhere).
        await db.execute(
            "UPDATE requests SET status = 'reformulation_requested' WHERE id = $1", request_id
        )
        status, draft = await _post(http, base + "/drafts", {})
        draft_id = draft["draft_id"]
        async with http.post(
            f"{base}/drafts/{draft_id}/files",
            params={"filename": "reçu.pdf"},
            data=PDF,
            headers={**HEADERS, "Content-Type": "application/octet-stream"},
        ) as resp:
            assert resp.status == 201
        rewrite = {
            "code": code,
            "email": email,
            "message": "Le reçu est joint.",
            "draft_id": draft_id,
        }

        # Another browser's draft: refused beside « Documents », nothing rewritten.
        status, body = await _post(
            http, base + "/tracking/rewrite", rewrite, headers={"X-Draft-Owner": "x" * 32}
        )
        assert status == 422 and [e["field"] for e in body["errors"]] == ["attachments"]
        assert body["view"]["status"] == "reformulation_requested"

        status, view = await _post(http, base + "/tracking/rewrite", rewrite)
        assert status == 200 and view["status"] == "submitted"
        files = await db.fetch(
            "SELECT id, filename, content_type FROM attachments WHERE request_id = $1", request_id
        )
        assert [(f["filename"], f["content_type"]) for f in files] == [
            ("reçu.pdf", "application/pdf")
        ]
        assert not await db.fetchval("SELECT true FROM drafts WHERE id = $1::uuid", draft_id)
        sent = await db.fetchval(
            "SELECT body::text FROM outbox WHERE message_type = $1 AND body->>'code' = $2",
            CitizenDocumentsAddedV1.type_name(),
            code,
        )
        event = CitizenDocumentsAddedV1.model_validate_json(sent)
        assert [a.attachment_id for a in event.attachments] == [files[0]["id"]]
        assert any("Document ajouté : reçu.pdf." in str(line) for line in view["history"])
    finally:
        await db.close()
