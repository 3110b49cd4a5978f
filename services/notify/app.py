"""Notify: tells citizens by email and SMS and keeps the delivery log."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
from aiohttp import web

from services.notify import retention, staff, staff_digests
from services.notify.api import routes
from services.notify.delivery import DeliveryLoop, Medium
from services.notify.handlers import citizen_parking, make_handlers
from services.notify.settings import SETTINGS, NotifySettings
from services.notify.sms import OrangeSms, SmsMedium
from services.notify.smtp import EmailMedium
from shared import early
from shared.service import POOL, ServiceSpec, create_service_app
from shared.web import READY_CHECKS

NAME = "notify"
SQL_DIR = Path(__file__).parent / "sql"
SENDER = web.AppKey("sender", DeliveryLoop)
log = logging.getLogger(__name__)


def spec(settings: NotifySettings, parking: early.Parking | None = None) -> ServiceSpec:
    return ServiceSpec(
        name=NAME,
        sql_dir=SQL_DIR,
        # Bound to what the handlers name.
        handlers=make_handlers(
            settings.public_url,
            sms_enabled=settings.sms_enabled,
            decision_days=settings.decision_days(),
            parking=parking,
        ),
    )


async def _deliveries(app: web.Application) -> AsyncIterator[None]:
    """The delivery loop with email, and SMS where a provider is configured."""
    settings = app[SETTINGS]
    media: list[Medium] = [EmailMedium(settings)]
    session = None
    if settings.sms_enabled:
        session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=settings.sms_timeout))
        client = OrangeSms(
            session,
            base_url=settings.sms_base_url,
            client_id=settings.sms_client_id,
            client_secret=settings.sms_client_secret.get_secret_value(),
            sender=settings.sms_sender,
            sender_name=settings.sms_sender_name,
            countries=frozenset(settings.sms_country_codes),
        )
        media.append(SmsMedium(client, settings.sms_batch))
        log.info("SMS enabled", extra={"sms_base_url": settings.sms_base_url})
    else:
        log.warning("SMS disabled: MILIE_SMS_ENABLED is off, no SMS will be sent")
    loop = DeliveryLoop(app[POOL], settings, media)
    loop.start(NAME)
    app[SENDER] = loop

    async def running() -> bool:
        return loop.is_running

    app[READY_CHECKS]["sender"] = running
    yield
    await loop.stop()
    if session is not None:
        await session.close()


def create_app(settings: NotifySettings) -> web.Application:
    # Events parked before their request.submitted (shared.early): the handlers park them, the
    # sweep applies what a racing copy left.
    parking = citizen_parking(settings.public_url, sms_enabled=settings.sms_enabled)
    app = create_service_app(settings, spec(settings, parking))
    app[SETTINGS] = settings
    app.cleanup_ctx.append(_deliveries)
    app.cleanup_ctx.append(staff_digests.ticking())
    app.cleanup_ctx.append(parking.sweeping())
    app.cleanup_ctx.append(retention.ticking())  # rows past their keeping time
    app.add_routes(routes)
    app.add_routes(staff.routes)  # the staff directory and staff emails (issue 13)
    return app
