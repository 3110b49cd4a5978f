"""``python -m services.treatment``: settings from the environment, then serve."""

from services.treatment.app import create_app
from services.treatment.settings import TreatmentSettings
from shared.service import run


def main() -> None:
    settings = TreatmentSettings()
    run(create_app(settings), settings, "treatment")


if __name__ == "__main__":
    main()
