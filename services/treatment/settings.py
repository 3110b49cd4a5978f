from shared.settings import ServiceSettings


class TreatmentSettings(ServiceSettings):
    http_port: int = 8083
