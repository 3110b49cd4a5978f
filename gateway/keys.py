from aiohttp import web

from gateway.clients import Services
from gateway.settings import GatewaySettings

SERVICES = web.AppKey("services", Services)
GATEWAY_SETTINGS = web.AppKey("gateway_settings", GatewaySettings)
# The address the metrics listener is bound to, as http://host:port (its port when 0 was asked).
METRICS_URL = web.AppKey("metrics_url", str)
