"""The gateway: the only public HTTP entry (citizen pages, back office, /api routing)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import aiohttp_jinja2
import jinja2
from aiohttp import web

from gateway import (
    api,
    backoffice,
    catalogue_client,
    citizen,
    csrf,
    dev,
    directory,
    form_parts,
    info_pages,
    open311,
    operator_pages,
    public_stats,
    static_files,
    submission,
    tracking_api,
    tracking_pages,
    triage_pages,
)
from gateway.clients import Services
from gateway.errors import answer_errors
from gateway.keys import GATEWAY_SETTINGS, SERVICES
from gateway.settings import GatewaySettings
from shared.service import ServiceSpec, create_service_app

HERE = Path(__file__).parent
SPEC = ServiceSpec(name="gateway", sql_dir=HERE / "sql", uses_broker=False)


async def _service_client(app: web.Application) -> AsyncIterator[None]:
    settings = app[GATEWAY_SETTINGS]
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=settings.service_connections),
        timeout=aiohttp.ClientTimeout(total=settings.service_timeout),
    )
    app[SERVICES] = Services(
        session,
        {
            "intake": settings.intake_url,
            "triage": settings.triage_url,
            "treatment": settings.treatment_url,
            "notify": settings.notify_url,
            "stats": settings.stats_url,
        },
        identity_secret=settings.identity_secret.get_secret_value().encode(),
    )
    yield
    await session.close()


SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; form-action 'self'",
}


@web.middleware
async def security_headers(request: web.Request, handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        # Raised answers (redirects, refusals) are sent too: they get the same headers.
        _secure(exc.headers)
        raise
    _secure(response.headers)
    return response


def _secure(headers) -> None:
    # setdefault: a route that needs stricter ones (attachments: a sandbox) sets its own.
    for name, value in SECURITY_HEADERS.items():
        headers.setdefault(name, value)


def create_app(settings: GatewaySettings) -> web.Application:
    # Outermost first: every answer gets the security headers, error pages included.
    middlewares = (security_headers, answer_errors, csrf.protect)
    app = create_service_app(settings, SPEC, middlewares=middlewares)
    form_parts.install()  # the submission form's part headers parsed once each
    app[GATEWAY_SETTINGS] = settings
    app[csrf.SECRET] = settings.form_secret.get_secret_value().encode()
    app[csrf.SECURE] = settings.env == "production"
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
    )
    app[catalogue_client.KEPT] = catalogue_client.Kept()
    app.cleanup_ctx.append(_service_client)
    app.add_routes(citizen.routes)
    app.add_routes(submission.routes)
    app.add_routes(directory.routes)
    app.add_routes(public_stats.routes)
    app.add_routes(info_pages.routes)  # « À propos », « Informations », « Le guide »
    app.add_routes(tracking_pages.routes)
    app.add_routes(tracking_api.routes)
    app.add_routes(api.routes)
    app.add_routes(open311.routes)  # Open311 GeoReport v2 under /open311/v2/
    backoffice.setup(app)  # staff sessions, sign-in, the /admin pages
    app.add_routes(triage_pages.routes)  # « Traitements »: the analysts' queue, decisions
    app.add_routes(operator_pages.routes)  # the call centre's form (channel phone)
    if settings.env == "development":
        app.add_routes(dev.routes)
    static_files.add_routes(app, HERE / "static")
    return app
