"""Intake's typed app state, beside what every service has (shared.service)."""

from aiohttp import web

from services.intake.catalogue.cache import CatalogueCache

CATALOGUE_CACHE = web.AppKey("catalogue_cache", CatalogueCache)
# The key of the purged requests' email HMAC (services/intake/purge.py).
PURGE_KEY = web.AppKey("purge_key", bytes)
