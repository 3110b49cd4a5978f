"""``python -m services.triage``: settings from the environment, then serve."""

from services.triage.app import create_app
from services.triage.settings import TriageSettings
from shared.service import run
from shared.settings import load


def main() -> None:
    settings = load(TriageSettings, "triage")
    run(create_app(settings), settings, "triage")


if __name__ == "__main__":
    main()
