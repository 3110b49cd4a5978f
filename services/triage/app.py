"""The triage service: keeps the analysts' queue from request.submitted events."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from services.triage import api
from services.triage.handlers import build_handlers
from services.triage.settings import TriageSettings
from shared.service import ServiceSpec, create_service_app
from shared.topology import EVENTS

SQL_DIR = Path(__file__).parent / "sql"


def create_app(settings: TriageSettings) -> web.Application:
    spec = ServiceSpec(
        name="triage",
        sql_dir=SQL_DIR,
        handlers=build_handlers(settings),
        bindings=[(EVENTS, "request.submitted")],
    )
    app = create_service_app(settings, spec)
    app.router.add_get("/queue", api.queue)
    app.router.add_get("/queue/{code}", api.item)
    return app
