from services.intake.app import create_app
from services.intake.settings import IntakeSettings
from shared.service import run
from shared.settings import load

if __name__ == "__main__":
    settings = load(IntakeSettings, "intake")
    run(create_app(settings), settings, "intake")
