"""The stats service: consumes every request event, serves the aggregates."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from services.stats import api, body_dashboard, deliveries, general
from services.stats.handlers import HANDLERS, PARKING
from services.stats.settings import SETTINGS, StatsSettings
from shared.lock_order import one_at_a_time
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
        # Every batch moves the same few counters of the day (daily_counts, opinion_counts…).
        lock_first=one_at_a_time("milie.stats.counters"),
    )
    app = create_service_app(settings, spec)
    app[SETTINGS] = settings
    app.add_routes(api.routes)
    app.add_routes(deliveries.routes)
    app.add_routes(general.routes)
    app.add_routes(body_dashboard.routes)
    app.cleanup_ctx.append(PARKING.sweeping())  # events parked before their request
    return app
