from aiohttp import web

from shared.settings import ServiceSettings


class TreatmentSettings(ServiceSettings):
    http_port: int = 8083


# The app's settings as this service's class: its handlers read its own fields through this key
# (shared.service.SETTINGS, typed with the base class, serves the shared code).
SETTINGS = web.AppKey("treatment_settings", TreatmentSettings)
