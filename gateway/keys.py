from aiohttp import web

from gateway.clients import Services
from gateway.settings import GatewaySettings

SERVICES = web.AppKey("services", Services)
GATEWAY_SETTINGS = web.AppKey("gateway_settings", GatewaySettings)
