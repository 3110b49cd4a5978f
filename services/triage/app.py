"""The triage service: the analysts' queue (from request.submitted and request.resubmitted),
their decisions (published through the outbox), the history and the audit log."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
from aiohttp import web

from services.triage import api, reasons
from services.triage.catalogue import Catalogue
from services.triage.handlers import build_handlers
from services.triage.settings import SETTINGS, TriageSettings
from shared import audit
from shared.lock_order import requests_in_order
from shared.service import ServiceSpec, create_service_app

SQL_DIR = Path(__file__).parent / "sql"


def _catalogue(settings: TriageSettings):
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=settings.intake_timeout)
        )
        secret = settings.identity_secret.get_secret_value().encode()
        app[api.CATALOGUE] = Catalogue(session, settings.intake_url, secret)
        yield
        await session.close()

    return ctx


def create_app(settings: TriageSettings) -> web.Application:
    spec = ServiceSpec(
        name="triage",
        sql_dir=SQL_DIR,
        handlers=build_handlers(settings),  # bound to what they handle
        # Each event's handler locks its request's row.
        lock_first=requests_in_order("queue_items"),
    )
    app = create_service_app(settings, spec, middlewares=(audit.record_refusals,))
    app[SETTINGS] = settings
    app.cleanup_ctx.append(_catalogue(settings))
    app.add_routes(api.routes)
    app.add_routes(reasons.routes)  # ready-made reasons (issue 12)
    return app
