from aiohttp import web
from pydantic import Field

from shared.settings import ServiceSettings


class TreatmentSettings(ServiceSettings):
    http_port: int = 8083
    # The clock (services/treatment/clock.py). A treated request without the citizen's opinion
    # this many days after its last answer is closed « sans retour » (MILIE_NO_OPINION_DAYS).
    no_opinion_days: int = Field(default=30, ge=1)
    # A document uploaded for an answer and joined to none is deleted after this many hours.
    unused_document_hours: float = Field(default=24, gt=0)
    # How often the clock looks; 0: never (a test calls clock.sweep itself).
    clock_interval_seconds: float = Field(default=300, ge=0)


# The app's settings as this service's class: its handlers read its own fields through this key
# (shared.service.SETTINGS, typed with the base class, serves the shared code).
SETTINGS = web.AppKey("treatment_settings", TreatmentSettings)
