"""The stats service: consumes every request event, serves the aggregates."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from services.stats import api, body_dashboard, deliveries, general
from services.stats.handlers import COUNTERS_LOCK, HANDLERS, PARKING
from services.stats.settings import SETTINGS, StatsSettings
from shared.service import ServiceSpec, create_service_app
from shared.topology import EVENTS

SQL_DIR = Path(__file__).parent / "sql"


def create_app(settings: StatsSettings) -> web.Application:
    spec = ServiceSpec(
        name="stats",
        sql_dir=SQL_DIR,
        # Bound to the request events it counts and notify's delivery outcomes, nothing else.
        handlers={**HANDLERS, **deliveries.HANDLERS},
        # Until 2026-12 stats took every request and notification event; a queue declared then
        # keeps those bindings.
        obsolete_bindings=[(EVENTS, "request.#"), (EVENTS, "notification.#")],
        lock_first=COUNTERS_LOCK,
    )
    app = create_service_app(settings, spec)
    app[SETTINGS] = settings
    app.add_routes(api.routes)
    app.add_routes(deliveries.routes)
    app.add_routes(general.routes)
    app.add_routes(body_dashboard.routes)
    app.cleanup_ctx.append(PARKING.sweeping())  # events parked before their request
    return app
