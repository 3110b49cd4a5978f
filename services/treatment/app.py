"""The treatment service: the bodies' work on validated requests (handlers of the analysts'
events, the focal point's actions and API, the clock, the outbox relay, health and metrics)."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from services.treatment import (
    changes,
    citizen_api,
    clock,
    focal_api,
    policy,
    policy_api,
    reminders_api,
)
from services.treatment.handlers import HANDLERS
from services.treatment.settings import SETTINGS, TreatmentSettings
from shared import audit
from shared.identity import Role, requires
from shared.lock_order import beside_others, in_turn, requests_in_order
from shared.service import ServiceSpec, create_service_app

SQL_DIR = Path(__file__).parent / "sql"
# What a transaction of the consumer locks first (shared.lock_order): a change of « Délais »
# waits for it and it for a change (a validation inserts a request the change must see), then
# the rows of its requests, which each event's handler locks.
LOCK_FIRST = in_turn(beside_others(policy.CHANGES), requests_in_order("treatments"))


def create_app(settings: TreatmentSettings) -> web.Application:
    spec = ServiceSpec(
        name="treatment",
        sql_dir=SQL_DIR,
        handlers=HANDLERS,
        lock_first=LOCK_FIRST,
    )
    app = create_service_app(settings, spec, middlewares=(audit.record_refusals,))
    app[SETTINGS] = settings
    app.add_routes(focal_api.routes)
    app.add_routes(citizen_api.routes)
    # « Journal d'audit »: this service's lines, for administrators (filters: shared.audit).
    app.router.add_get("/audit", requires(Role.ADMINISTRATOR)(audit.listing))
    app.add_routes(changes.routes)  # the ministry API's feed (issue 13)
    app.add_routes(reminders_api.routes)
    app.add_routes(policy_api.routes)  # « Délais » (issue 13)
    # After the database's context: the clock sweeps with the pool, and stops before it closes.
    app.cleanup_ctx.append(clock.ticking())
    return app
