from aiohttp import web
from pydantic import Field

from shared.settings import ServiceSettings


class StatsSettings(ServiceSettings):
    http_port: int = 8085
    # How often events parked before their request was known are looked at again (early.py),
    # and after how many days one whose request never came is dropped.
    parked_sweep_seconds: float = Field(default=60, ge=0)
    parked_days: int = Field(default=30, ge=1)


# The app's settings as this service's class: its handlers read its own fields through this key
# (shared.service.SETTINGS, typed with the base class, serves the shared code).
SETTINGS = web.AppKey("stats_settings", StatsSettings)
