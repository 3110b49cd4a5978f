from aiohttp import web
from pydantic import Field, field_validator

from shared.messages import Nature
from shared.settings import ServiceSettings


class TriageSettings(ServiceSettings):
    http_port: int = 8082
    # Days the analysts have to rule on a request's admissibility (chikaya.ma: 15).
    admissibility_days: int = Field(15, ge=1, le=365)
    # The same per nature where it differs, as JSON:
    # MILIE_ADMISSIBILITY_DAYS_BY_NATURE='{"demande_information": 5}'.
    admissibility_days_by_nature: dict[Nature, int] = Field(default_factory=dict)
    # Intake's catalogue: a re-index names a body and theme intake knows (GET /catalogue/...).
    intake_url: str = "http://127.0.0.1:8081"
    intake_timeout: float = 5.0
    # Rows of one CSV export at most.
    export_limit: int = Field(100_000, ge=1)

    @field_validator("admissibility_days_by_nature")
    @classmethod
    def _days_in_range(cls, value: dict[Nature, int]) -> dict[Nature, int]:
        for nature, days in value.items():
            if not 1 <= days <= 365:
                raise ValueError(f"{nature.value}: between 1 and 365 days, not {days}")
        return value

    def days_by_nature(self) -> dict[str, int]:
        return {nature.value: days for nature, days in self.admissibility_days_by_nature.items()}


# The app's settings as this service's class: its handlers read its own fields through this key
# (shared.service.SETTINGS, typed with the base class, serves the shared code).
SETTINGS = web.AppKey("triage_settings", TriageSettings)
