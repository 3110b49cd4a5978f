"""``python -m services.stats``: settings from the environment, then serve."""

from services.stats.app import create_app
from services.stats.settings import StatsSettings
from shared.service import run


def main() -> None:
    settings = StatsSettings()
    run(create_app(settings), settings, "stats")


if __name__ == "__main__":
    main()
