"""Download of a request's attachment: by staff (the back office links to it through the
gateway), and by the citizen who sent it.

Administrators and analysts see every file; a focal point only those of requests indexed under
its own body. The citizen's ``GET /citizen/attachments/{id}?code=`` is called by the gateway,
signed, once the look-up (code and email, throttled) has found the request and listed the file;
here the file must be the request's and not purged — 404 otherwise, the same answer each time.
The answer never lets a browser guess or run the content: the type found in the bytes at upload,
``nosniff``, always a download, a sandboxing policy, no caching on the way.
"""

from __future__ import annotations

import uuid

from aiohttp import web

from services.intake import attachments
from shared import attachments as files
from shared import codes
from shared.identity import Role, identity_of, requires
from shared.service import connection
from shared.web import json_error, not_found

routes = web.RouteTableDef()


@routes.get("/attachments/{attachment_id}")
@requires(Role.ADMINISTRATOR, Role.ANALYST, Role.FOCAL_POINT)
async def download(request: web.Request) -> web.Response:
    try:
        attachment_id = uuid.UUID(request.match_info["attachment_id"])
    except ValueError:
        return not_found("Cette pièce jointe n'existe pas.")
    async with connection(request) as conn:
        row = await attachments.for_staff(conn, attachment_id)
    if row is None:
        return not_found("Cette pièce jointe n'existe pas.")
    identity = identity_of(request)
    if identity is None or not identity.can_see_body(row["body_id"]):
        return json_error(403, "forbidden", "Cette pièce jointe concerne un autre organisme.")
    return _file(row)


@routes.get("/citizen/attachments/{attachment_id}")
async def citizen_download(request: web.Request) -> web.Response:
    code = codes.normalize(request.query.get("code", ""))
    try:
        attachment_id = uuid.UUID(request.match_info["attachment_id"])
    except ValueError:
        return not_found("Cette pièce jointe n'existe pas.")
    if not codes.is_well_formed(code):
        return not_found("Cette pièce jointe n'existe pas.")
    async with connection(request) as conn:
        row = await attachments.for_citizen(conn, attachment_id, code)
    if row is None:
        return not_found("Cette pièce jointe n'existe pas.")
    return _file(row)


def _file(row) -> web.Response:
    # Stored types come from the content check; anything else is served as opaque bytes.
    content_type = row["content_type"]
    if content_type not in files.EXTENSIONS:
        content_type = "application/octet-stream"
    return web.Response(
        body=row["data"], headers=files.download_headers(row["filename"], content_type)
    )
