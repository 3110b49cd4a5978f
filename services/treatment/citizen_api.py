"""What a citizen reads from treatment (internal: the gateway calls it, signed, with no staff
identity, once intake has checked the code and the email).

- ``GET /citizen/documents/{document_id}?code=``: a document of an answer the body sent on the
  request with that code, as a download; 404 for anything else (a document of another request,
  one uploaded for an answer not sent yet, a malformed id or code), the same answer each time.
- ``GET /citizen/opinion-until?code=``: ``{"opinion_until"}``, until when the citizen may give
  an opinion on the answer before the clock closes the request « sans retour »
  (:func:`services.treatment.clock.opinion_until`: a day, a moment, or None when no opinion is
  awaited); 404 for an unknown or malformed code.
"""

from __future__ import annotations

import uuid

import asyncpg
from aiohttp import web

from services.treatment import clock, repository
from services.treatment.settings import SETTINGS
from shared import attachments, codes
from shared.service import connection
from shared.web import json_error

routes = web.RouteTableDef()

# A document is the citizen's to read once the answer naming it was sent (answer_id set).
_SENT_DOCUMENT = """
    SELECT d.filename, d.content_type, d.data
    FROM documents d JOIN treatments t USING (request_id)
    WHERE d.id = $1 AND t.code = $2 AND d.answer_id IS NOT NULL"""


async def sent_document(
    conn: asyncpg.Connection, document_id: uuid.UUID, code: str
) -> asyncpg.Record | None:
    return await conn.fetchrow(_SENT_DOCUMENT, document_id, code)


def _not_found() -> web.Response:
    return json_error(404, "not_found", "Document introuvable.")


@routes.get("/citizen/documents/{document_id}")
async def document(request: web.Request) -> web.StreamResponse:
    code = codes.normalize(request.query.get("code", ""))
    try:
        document_id = uuid.UUID(request.match_info["document_id"])
    except ValueError:
        return _not_found()
    if not codes.is_well_formed(code):
        return _not_found()
    async with connection(request) as conn:
        doc = await sent_document(conn, document_id, code)
    if doc is None:
        return _not_found()
    # The content type was found in the bytes at upload.
    return web.Response(
        body=doc["data"], headers=attachments.download_headers(doc["filename"], doc["content_type"])
    )


@routes.get("/citizen/opinion-until")
async def opinion_until(request: web.Request) -> web.Response:
    code = codes.normalize(request.query.get("code", ""))
    if not codes.is_well_formed(code):
        return json_error(404, "not_found", "Requête introuvable.")
    async with connection(request) as conn:
        row = await repository.by_code(conn, code)
    if row is None:
        return json_error(404, "not_found", "Requête introuvable.")
    until = clock.opinion_until(row, request.app[SETTINGS].no_opinion_days)
    return web.json_response({"opinion_until": until.isoformat() if until else None})
