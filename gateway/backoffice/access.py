"""Who may open a back-office page: ``staff_required``, and the 403 page it answers with.

For back-office page handlers::

    from gateway.backoffice.access import staff_required
    from gateway.staff.auth import current_staff
    from shared.identity import Identity, Role

    @routes.get("/admin/traitements", name="bo-traitements")
    @staff_required(Role.ANALYST)
    async def queue(request):
        staff = current_staff(request)  # gateway.staff.sessions.Staff
        status, body = await request.app[TRIAGE].queue(..., identity=staff.identity)

No session → 303 to the sign-in page with ``next``; another role → 403 page in French, written to
the audit log. The body of a focal point is the handler's (and the service's) business. A form
handler may give ``ended``: what answers a form posted after its session ended (the text typed
given back rather than lost).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

from aiohttp import web

from gateway.backoffice import shell
from gateway.staff import audit
from gateway.staff.auth import current_staff, session_ended, sign_in_url
from gateway.staff.sessions import Staff
from gateway.web.client_address import client_address
from shared.db import run_in_transaction
from shared.identity import Identity, Role
from shared.service import POOL

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def staff_required(*roles: Role, ended: Handler | None = None) -> Callable[[Handler], Handler]:
    """Decorator for a back-office handler: only signed-in staff, of one of ``roles`` if given;
    ``ended`` answers a POST whose session has just ended."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def wrapped(request: web.Request) -> web.StreamResponse:
            staff = current_staff(request)
            if staff is None and ended and request.method == "POST" and session_ended(request):
                return await ended(request)
            if staff is None:
                raise web.HTTPSeeOther(sign_in_url(request))
            if roles and staff.role not in roles:
                return await refuse(request, staff)
            return await handler(request)

        wrapped.staff_roles = roles  # type: ignore[attr-defined]  # read by the access tests
        return wrapped

    return decorate


def staff_identity(request: web.Request) -> Identity:
    """The signed-in staff member's identity, for a handler behind :func:`staff_required`."""
    staff = current_staff(request)
    assert staff is not None, "behind staff_required"
    return staff.identity


async def record_action(
    request: web.Request, action: str, target: str, detail: str = "", staff: Staff | None = None
) -> None:
    """One line of the gateway's « Journal d'audit » for what the signed-in staff member (or
    ``staff``) did, from the client's address, in a transaction of its own."""
    who = staff or current_staff(request)
    assert who is not None, "behind staff_required"

    async def work(conn):
        await audit.record(
            conn,
            action,
            actor_login=who.login,
            actor_id=who.account_id,
            address=client_address(request),
            target=target,
            detail=detail,
        )

    await run_in_transaction(request.app[POOL], work)


async def refuse(request: web.Request, staff: Staff, reason: str = "") -> web.Response:
    """The 403 page, recorded in the audit log (handlers call it for a body they may not see)."""
    target = f"{request.method} {request.path}"[:200]
    await record_action(request, "access_refused", target, reason, staff=staff)
    return await shell.render(
        request, "backoffice/forbidden.html", {"title": "Accès refusé"}, status=403
    )
