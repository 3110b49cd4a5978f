from gateway.app import create_app
from gateway.settings import GatewaySettings
from shared.service import run

if __name__ == "__main__":
    settings = GatewaySettings()
    run(create_app(settings), settings, "gateway")
