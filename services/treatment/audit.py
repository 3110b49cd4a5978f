"""Treatment's audit log: who did what, when, from where.

Actions are written in their own transaction (``actions``); this module adds every call
refused for want of a valid signature or identity (401) or of the right role (403). The gateway
says where the staff member is in the signed call (``shared.signing``); a call that did not come
signed through it is recorded with its peer address.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiohttp import web

from services.treatment import repository
from shared.identity import identity_of
from shared.service import transaction
from shared.signing import CALL

log = logging.getLogger(__name__)

# Routes anyone may ask (operations): never staff business, never audited.
_OPEN = ("/metrics", "/health/")


def address_of(request: web.Request) -> str:
    call = request.get(CALL)
    given = ((call.client_address if call else None) or "").strip()
    peer = request.remote or "inconnue"
    return f"{given[:60]} (via {peer})" if given else peer


@web.middleware
async def record_refusals(request: web.Request, handler: Callable) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status in (401, 403) and not request.path.startswith(_OPEN):
            await _record(request, exc.status)
        raise


async def _record(request: web.Request, status: int) -> None:
    who = identity_of(request)
    code = request.match_info.get("code")

    async def work(conn) -> None:
        await repository.audit(
            conn,
            action=f"{request.method} {request.path}"[:200],
            outcome="refused",
            address=address_of(request),
            actor_id=who.staff_id if who else None,
            actor_login=(who.login or who.staff_id) if who else None,
            actor_role=who.role.value if who else None,
            request_code=code if code and code.isdigit() else None,
            detail="identité signée absente ou invalide" if status == 401 else "rôle non autorisé",
        )

    try:
        await transaction(request, work)
    except Exception:
        # The refusal stands even when it cannot be written down; say so in the logs.
        log.exception("could not write a refused call to the audit log")
