from aiohttp import web

from gateway.settings import GatewaySettings

# The clients' key (SERVICES) is gateway.clients.transport's.
GATEWAY_SETTINGS = web.AppKey("gateway_settings", GatewaySettings)
# The address the metrics listener is bound to, as http://host:port (its port when 0 was asked).
METRICS_URL = web.AppKey("metrics_url", str)
