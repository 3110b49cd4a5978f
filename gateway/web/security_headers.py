"""The gateway's security headers: one home for what every answer carries, whoever makes it —
the pages and APIs (:func:`on_prepare`, hooked on every answer as it is prepared) and aiohttp's
parser refusing malformed HTTP before any route (``malformed_http``, which calls :func:`add`)."""

from __future__ import annotations

from aiohttp import web
from multidict import CIMultiDict

from gateway.web.keys import GATEWAY_SETTINGS

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ),
}
# Outside development and test (plain http on 127.0.0.1): browsers come back over https only.
HSTS = "max-age=31536000; includeSubDomains"


def add(headers: CIMultiDict[str], production: bool) -> None:
    """The security headers into ``headers``, HSTS in production. setdefault: a route that needs
    stricter ones (attachments: a sandbox) sets its own."""
    for name, value in SECURITY_HEADERS.items():
        headers.setdefault(name, value)
    if production:
        headers.setdefault("Strict-Transport-Security", HSTS)


async def on_prepare(request: web.Request, response: web.StreamResponse) -> None:
    """On every answer as it is prepared (``app.on_response_prepare``): pages, raised redirects
    and refusals, error pages, and the streamed exports and attachments (their headers are sent
    before a middleware sees them)."""
    add(response.headers, request.app[GATEWAY_SETTINGS].env == "production")
