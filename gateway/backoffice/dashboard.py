"""The back office's first pages: the dashboard (« Tableau de bord ») and « Document d'aide »."""

from __future__ import annotations

from aiohttp import web

from gateway.backoffice.access import staff_required
from gateway.backoffice.shell import period_of, render
from gateway.clients.stats import STATS
from gateway.clients.transport import ServiceUnavailable
from gateway.staff import auth
from gateway.web.keys import GATEWAY_SETTINGS
from shared.identity import Role
from shared.messages import NATURE_LABELS, Nature

routes = web.RouteTableDef()


@routes.get("/admin", name="bo-root")
async def root(request: web.Request) -> web.Response:
    raise web.HTTPMovedPermanently("/admin/")


@routes.get("/admin/", name="bo-dashboard")
@staff_required()
async def dashboard(request: web.Request) -> web.Response:
    staff = auth.current_staff(request)
    assert staff is not None
    period = period_of(request)
    summary = None
    # Stats' summary counts every body: a focal point must not see it (their own comes later).
    if staff.role in (Role.ANALYST, Role.ADMINISTRATOR):
        try:
            status, body = await request.app[STATS].summary(
                period.start, period.end, identity=staff.identity
            )
            if status == 200:
                summary = body
        except ServiceUnavailable:
            summary = None
    natures = [(n.value, NATURE_LABELS[n]) for n in Nature]
    return await render(
        request,
        "backoffice/dashboard.html",
        {"title": "Tableau de bord", "summary": summary, "natures": natures},
    )


@routes.get("/admin/aide", name="bo-aide")
@staff_required()
async def help_page(request: web.Request) -> web.Response:
    settings = request.app[GATEWAY_SETTINGS]
    return await render(
        request,
        "backoffice/help.html",
        {
            "title": "Document d'aide",
            "idle_minutes": round(settings.staff_idle_timeout_seconds / 60),
            "absolute_hours": round(settings.staff_absolute_timeout_seconds / 3600),
        },
    )
