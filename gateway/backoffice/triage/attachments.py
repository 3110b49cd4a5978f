"""A request's attachment, for an analyst or the focal point of its body, streamed from intake."""

from __future__ import annotations

import logging

import aiohttp
from aiohttp import web

from gateway.backoffice import access, shell
from gateway.backoffice.triage.common import STAFF, unavailable
from gateway.clients.intake import INTAKE
from gateway.staff import auth
from gateway.web import downloads
from shared.identity import Role

log = logging.getLogger(__name__)
routes = web.RouteTableDef()


@routes.get("/admin/pieces-jointes/{attachment_id:[0-9a-fA-F-]{36}}", name="bo-piece-jointe")
# A focal point opens the files of its body's requests (« Traiter »); intake refuses the others.
@access.staff_required(*STAFF, Role.FOCAL_POINT)
async def attachment(request: web.Request) -> web.StreamResponse:
    """A request's file, from intake (which checks the role and the body), streamed through."""
    intake = request.app[INTAKE]
    try:
        async with intake.attachment(
            request.match_info["attachment_id"], identity=access.staff_identity(request)
        ) as resp:
            if resp.status == 404:
                return await shell.render(
                    request,
                    "backoffice/triage_not_found.html",
                    {"title": "Pièce jointe introuvable", "code": None},
                    status=404,
                )
            if resp.status == 403:
                staff = auth.current_staff(request)
                assert staff is not None
                return await access.refuse(request, staff, "pièce jointe d'un autre organisme")
            if resp.status != 200:
                return await unavailable(request, "La pièce jointe")
            return await downloads.relay(request, resp, downloads.passed_on(resp))
    except (aiohttp.ClientError, TimeoutError):
        return await unavailable(request, "La pièce jointe")
