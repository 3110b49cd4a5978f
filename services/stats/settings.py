from shared.settings import ServiceSettings


class StatsSettings(ServiceSettings):
    http_port: int = 8085
