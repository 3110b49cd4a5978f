"""Notify: tells citizens by email (SMS later) and keeps the delivery log."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from services.notify.api import routes
from services.notify.handlers import make_handlers
from services.notify.sender import Sender
from services.notify.settings import NotifySettings
from shared.messages import CodesReminderRequestedV1
from shared.service import POOL, ServiceSpec, create_service_app
from shared.topology import EVENTS
from shared.web import READY_CHECKS

NAME = "notify"
SQL_DIR = Path(__file__).parent / "sql"
SENDER = web.AppKey("sender", Sender)
# The shared SETTINGS key is typed as the base class; this one gives the notify fields.
SETTINGS_KEY = web.AppKey("notify_settings", NotifySettings)


def spec(settings: NotifySettings) -> ServiceSpec:
    return ServiceSpec(
        name=NAME,
        sql_dir=SQL_DIR,
        handlers=make_handlers(settings.public_url),
        bindings=[(EVENTS, "request.submitted"), (EVENTS, CodesReminderRequestedV1.name)],
    )


async def _sender(app: web.Application) -> AsyncIterator[None]:
    sender = Sender(app[POOL], app[SETTINGS_KEY])
    sender.start(NAME)
    app[SENDER] = sender

    async def running() -> bool:
        return sender.is_running

    app[READY_CHECKS]["sender"] = running
    yield
    await sender.stop()


def create_app(settings: NotifySettings) -> web.Application:
    app = create_service_app(settings, spec(settings))
    app[SETTINGS_KEY] = settings
    app.cleanup_ctx.append(_sender)
    app.add_routes(routes)
    return app
