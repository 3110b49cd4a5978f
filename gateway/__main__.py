from gateway.app import create_app
from gateway.settings import GatewaySettings
from shared.service import run
from shared.settings import load

if __name__ == "__main__":
    settings = load(GatewaySettings, "gateway")
    run(create_app(settings), settings, "gateway")
