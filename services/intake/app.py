"""Intake: requests, citizen contacts, codes, the catalogue, the citizen's tracking view."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from services.intake import catalogue
from services.intake.api import routes
from services.intake.handlers import HANDLERS
from services.intake.settings import IntakeSettings
from shared.service import POOL, ServiceSpec, create_service_app
from shared.topology import EVENTS

SPEC = ServiceSpec(
    name="intake",
    sql_dir=Path(__file__).parent / "sql",
    handlers=HANDLERS,
    bindings=[(EVENTS, "request.#")],
)


async def _load_catalogue(app: web.Application) -> AsyncIterator[None]:
    async with app[POOL].acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('milie.intake.catalogue'))")
        await catalogue.load(conn)
    yield


def create_app(settings: IntakeSettings) -> web.Application:
    app = create_service_app(settings, SPEC)
    app.cleanup_ctx.append(_load_catalogue)
    app.add_routes(routes)
    return app
