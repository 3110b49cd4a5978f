"""The treatment service: a skeleton for now (schema, outbox relay, health and metrics)."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from services.treatment.handlers import HANDLERS
from services.treatment.settings import TreatmentSettings
from shared.service import ServiceSpec, create_service_app

SQL_DIR = Path(__file__).parent / "sql"


def create_app(settings: TreatmentSettings) -> web.Application:
    # No bindings until request.validated has a contract: the relay runs, no consumer does.
    spec = ServiceSpec(name="treatment", sql_dir=SQL_DIR, handlers=HANDLERS, bindings=[])
    return create_service_app(settings, spec)
