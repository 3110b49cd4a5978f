"""CSRF protection of the HTML forms: a signed token, in a cookie and in a hidden field.

Every POST to a page (not to /api, which takes no cookies) must carry both, matching; otherwise
403. The token is an HMAC of a random value, so a forged cookie is refused too.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable

from aiohttp import web

COOKIE = "milie_csrf"
FIELD = "csrf_token"
SECRET = web.AppKey("form_secret", bytes)
SECURE = web.AppKey("secure_cookies", bool)
EXEMPT_PREFIXES = ("/api/", "/metrics", "/health/")


def _sign(secret: bytes, nonce: str) -> str:
    return hmac.new(secret, nonce.encode(), hashlib.sha256).hexdigest()[:32]


def _valid(secret: bytes, token: str) -> bool:
    nonce, _, mac = token.partition(".")
    return bool(nonce and mac) and hmac.compare_digest(mac, _sign(secret, nonce))


def token_for(request: web.Request) -> str:
    """The token to put in a form; reuses the visitor's cookie when it is valid."""
    secret = request.app[SECRET]
    existing = request.cookies.get(COOKIE, "")
    if existing and _valid(secret, existing):
        return existing
    if "csrf_new" not in request:
        nonce = secrets.token_urlsafe(16)
        request["csrf_new"] = f"{nonce}.{_sign(secret, nonce)}"
    return request["csrf_new"]


@web.middleware
async def protect(request: web.Request, handler: Callable) -> web.StreamResponse:
    if request.method == "POST" and not request.path.startswith(EXEMPT_PREFIXES):
        form = await request.post()
        sent = str(form.get(FIELD, ""))
        cookie = request.cookies.get(COOKIE, "")
        secret = request.app[SECRET]
        if not (sent and cookie and hmac.compare_digest(sent, cookie) and _valid(secret, sent)):
            raise web.HTTPForbidden(
                text="Formulaire expiré ou invalide : rechargez la page et recommencez.",
                content_type="text/plain",
            )
    response = await handler(request)
    if "csrf_new" in request:
        response.set_cookie(
            COOKIE,
            request["csrf_new"],
            httponly=True,
            samesite="Strict",
            secure=request.app[SECURE],
            path="/",
        )
    return response
