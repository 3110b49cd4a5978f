from pydantic import Field

from shared.settings import ServiceSettings


class TriageSettings(ServiceSettings):
    http_port: int = 8082
    # Days the analysts have to rule on a request's admissibility (chikaya.ma: 15).
    admissibility_days: int = Field(15, ge=1, le=365)
