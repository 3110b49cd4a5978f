"""Intake's typed app state, beside what every service has (shared.service)."""

from aiohttp import web

from services.intake.catalogue.cache import CatalogueCache

CATALOGUE_CACHE = web.AppKey("catalogue_cache", CatalogueCache)
