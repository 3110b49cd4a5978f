"""``python -m services.treatment``: settings from the environment, then serve."""

from services.treatment.app import create_app
from services.treatment.settings import TreatmentSettings
from shared.service import run
from shared.settings import load


def main() -> None:
    settings = load(TreatmentSettings, "treatment")
    run(create_app(settings), settings, "treatment")


if __name__ == "__main__":
    main()
