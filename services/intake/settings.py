from shared.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    http_port: int = 8081
