"""``GET /citizen/documents/{id}?code=``: what a citizen (through the gateway, signed, with no
staff identity) may download from treatment — a document of an answer the body sent on the
request with that code, nothing else: not one uploaded for an answer still being written, not
another request's, not with a malformed id or code; each refusal the same 404."""

from __future__ import annotations

import uuid

from services.treatment import actions
from shared.codes import new_code
from tests.front.conftest import PDF
from tests.treatment.conftest import AGENT


async def test_only_a_sent_answers_document_with_its_requests_code(treatment):
    mine = await treatment.validated()
    other = await treatment.validated()
    who = actions.Who(AGENT, "10.0.0.7")
    await actions.take_in_charge(treatment.pool, mine.code, who, version=None)
    doc = await actions.add_document(
        treatment.pool, mine.code, who, filename="réponse.pdf", data=PDF
    )
    path = f"/citizen/documents/{doc['document_id']}"

    async def fetch(target: str):
        return await treatment.api.get(target, identity=None)

    # Uploaded, but the answer is not sent: not the citizen's yet.
    status, body = await fetch(f"{path}?code={mine.code}")
    assert (status, body["error"]) == (404, "not_found")
    await actions.answer(
        treatment.pool,
        mine.code,
        who,
        message="Réglé.",
        document_ids=[uuid.UUID(doc["document_id"])],
        version=None,
    )
    status, body = await fetch(f"{path}?code={mine.code}")
    assert (status, body) == (200, PDF)
    refused = [
        f"{path}?code={other.code}",  # another request's code
        f"{path}?code={new_code()}",  # a code nobody has
        f"{path}?code=123",  # malformed
        path,  # none
        f"/citizen/documents/pas-un-id?code={mine.code}",
        f"/citizen/documents/{uuid.uuid4()}?code={mine.code}",
    ]
    for target in refused:
        status, body = await fetch(target)
        assert (status, body["error"]) == (404, "not_found"), target
