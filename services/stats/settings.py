from aiohttp import web

from shared.settings import ServiceSettings


class StatsSettings(ServiceSettings):
    http_port: int = 8085


# The app's settings as this service's class: its handlers read its own fields through this key
# (shared.service.SETTINGS, typed with the base class, serves the shared code).
SETTINGS = web.AppKey("stats_settings", StatsSettings)
