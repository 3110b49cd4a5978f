"""``python -m services.stats``: settings from the environment, then serve."""

from services.stats.app import create_app
from services.stats.settings import StatsSettings
from shared.service import run
from shared.settings import load


def main() -> None:
    settings = load(StatsSettings, "stats")
    run(create_app(settings), settings, "stats")


if __name__ == "__main__":
    main()
