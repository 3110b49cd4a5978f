"""Intake: requests, citizen contacts, codes, the catalogue, the citizen's tracking view."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from services.intake import attachments_api, config_api, limits, purge
from services.intake.api import routes
from services.intake.catalogue import api as catalogue_api
from services.intake.catalogue import cache as catalogue_cache
from services.intake.catalogue import files as catalogue
from services.intake.channels import commands, open311_api
from services.intake.drafts import api as drafts_api
from services.intake.drafts import store as drafts
from services.intake.handlers import HANDLERS
from services.intake.keys import CATALOGUE_CACHE, PURGE_KEY
from services.intake.settings import SETTINGS, IntakeSettings
from services.intake.tracking import api as tracking_api
from shared import periodic
from shared.broker import Broker
from shared.db import run_in_transaction
from shared.lock_order import requests_in_order
from shared.service import BROKER, POOL, ServiceSpec, create_service_app
from shared.topology import EVENTS

log = logging.getLogger(__name__)


SPEC = ServiceSpec(
    name="intake",
    sql_dir=Path(__file__).parent / "sql",
    # Bound to what HANDLERS names: intake is not sent the events it ignores, request.submitted
    # first, which it publishes.
    handlers=HANDLERS,
    # Until 2026-11 intake took every request.* event; a queue declared then keeps that binding.
    obsolete_bindings=[(EVENTS, "request.#")],
    # Each event's handler locks its request's row.
    lock_first=requests_in_order("requests", key="id"),
)


async def _load_catalogue(app: web.Application) -> AsyncIterator[None]:
    async with app[POOL].acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('milie.intake.catalogue'))")
        await catalogue.load(conn)
    yield


async def _catalogue_cache(app: web.Application) -> AsyncIterator[None]:
    cache = catalogue_cache.CatalogueCache(app[POOL], SPEC.name)
    app[CATALOGUE_CACHE] = cache
    task = asyncio.create_task(cache.listen(), name="intake-catalogue-listener")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _config_cache(app: web.Application) -> AsyncIterator[None]:
    defaults = limits.parse(app[SETTINGS].submission_limits)
    app[limits.CONFIG_CACHE] = limits.ConfigCache(app[POOL], defaults)
    yield


async def _purge_drafts(app: web.Application) -> None:
    """Remove expired drafts and their files (every copy may: deletes commute)."""
    gone = await run_in_transaction(app[POOL], drafts.purge)
    if gone:
        log.info("expired drafts purged", extra={"drafts": gone})


def create_app(settings: IntakeSettings) -> web.Application:
    def broker() -> Broker:
        return app[BROKER]  # set before the consumer starts, so before any message arrives

    # Commands only from the channels' RabbitMQ users; a dead-lettered intake.submit is answered
    # on its reply_to when that is the channel's own (see channels/commands.py).
    spec = dataclasses.replace(
        SPEC,
        on_poison=commands.unreadable_replier(broker, settings.channel_users),
        command_senders=settings.channel_users,
    )
    app = create_service_app(settings, spec)
    app[SETTINGS] = settings
    app[PURGE_KEY] = purge.hash_key(settings)
    app.cleanup_ctx.append(_load_catalogue)
    app.cleanup_ctx.append(_catalogue_cache)
    app.cleanup_ctx.append(_config_cache)
    app.cleanup_ctx.append(
        periodic.every(
            "intake-draft-purge", lambda app: app[SETTINGS].draft_purge_seconds, _purge_drafts
        )
    )
    app.cleanup_ctx.append(purge.ticking())
    app.add_routes(routes)
    app.add_routes(catalogue_api.routes)
    app.add_routes(drafts_api.routes)
    app.add_routes(attachments_api.routes)
    app.add_routes(tracking_api.routes)
    app.add_routes(open311_api.routes)
    app.add_routes(config_api.routes)
    return app
