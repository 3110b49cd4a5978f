from services.notify.app import create_app
from services.notify.settings import NotifySettings
from shared.service import run
from shared.settings import load

if __name__ == "__main__":
    settings = load(NotifySettings, "notify")
    run(create_app(settings), settings, "notify")
