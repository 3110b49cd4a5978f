"""The treatment service: a skeleton for now (schema, outbox relay, health and metrics)."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from services.treatment.handlers import HANDLERS
from services.treatment.settings import SETTINGS, TreatmentSettings
from shared.service import ServiceSpec, create_service_app

SQL_DIR = Path(__file__).parent / "sql"


def create_app(settings: TreatmentSettings) -> web.Application:
    # Bound to what HANDLERS names; while it is empty the relay runs and no consumer does.
    spec = ServiceSpec(name="treatment", sql_dir=SQL_DIR, handlers=HANDLERS)
    app = create_service_app(settings, spec)
    app[SETTINGS] = settings
    return app
