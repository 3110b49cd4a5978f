"""``python -m services.triage``: settings from the environment, then serve."""

from services.triage.app import create_app
from services.triage.settings import TriageSettings
from shared.service import run


def main() -> None:
    settings = TriageSettings()
    run(create_app(settings), settings, "triage")


if __name__ == "__main__":
    main()
