"""CSRF protection of the HTML forms: a signed token, in a cookie and in a hidden field.

Every POST to a page (not to /api, which takes no cookies) must carry both, matching; otherwise
403. The token is an HMAC of a random value, so a forged cookie is refused too.

For staff, the HMAC also covers their live session (what the function the app puts in
``BOUND_TO`` answers, after the session middleware ran): a token obtained before sign-in, or in
another session, is worth nothing in this one, and a new token is issued at sign-in, when the
session changes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from urllib.parse import urlsplit

import aiohttp_jinja2
from aiohttp import web

from gateway.web import form_parts

COOKIE = "milie_csrf"
FIELD = "csrf_token"
SECRET = web.AppKey("form_secret", bytes)
SECURE = web.AppKey("secure_cookies", bool)
# The staff session of a request ("" for none): what a token is bound to.
BOUND_TO = web.AppKey("csrf_bound_to", Callable[[web.Request], str])
_NEW_TOKEN = web.RequestKey("csrf_new", str)  # the token issued during this request
# /open311/ is an API too (form-encoded, per the spec): it takes no cookies, its api_key is
# what a forged cross-site request could not know.
EXEMPT_PREFIXES = ("/api/", "/open311/", "/metrics", "/health/")


def _binding(request: web.Request, session: str | None = None) -> str:
    if session is None:
        session = request.app[BOUND_TO](request) if BOUND_TO in request.app else ""
    return hashlib.sha256(session.encode()).hexdigest() if session else ""


def _sign(secret: bytes, nonce: str, binding: str) -> str:
    message = f"{nonce}|{binding}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:32]


def _valid(secret: bytes, token: str, binding: str) -> bool:
    nonce, _, mac = token.partition(".")
    # Bytes, not str: compare_digest raises TypeError on a str holding non-ASCII characters,
    # and a forged cookie or field may hold any.
    return bool(nonce and mac) and hmac.compare_digest(
        mac.encode(), _sign(secret, nonce, binding).encode()
    )


def token_for(request: web.Request) -> str:
    """The token to put in a form; reuses the visitor's cookie when it is valid for this
    session (none, or the staff member's)."""
    secret, binding = request.app[SECRET], _binding(request)
    existing = request.cookies.get(COOKIE, "")
    if existing and _valid(secret, existing, binding):
        return existing
    if _NEW_TOKEN not in request:
        nonce = secrets.token_urlsafe(16)
        request[_NEW_TOKEN] = f"{nonce}.{_sign(secret, nonce, binding)}"
    return request[_NEW_TOKEN]


def verify(request: web.Request, sent: str, session: str | None = None) -> bool:
    """Whether ``sent`` (the form's hidden field) is a valid token matching the cookie;
    ``session``: the one it must be bound to, when not the live one (a form posted after its
    session ended)."""
    cookie = request.cookies.get(COOKIE, "")
    secret = request.app[SECRET]
    return bool(
        sent
        and cookie
        and hmac.compare_digest(sent.encode(), cookie.encode())
        and _valid(secret, sent, _binding(request, session))
    )


def reads_own_body(handler: Callable) -> Callable:
    """Mark a page handler that streams its ``multipart/form-data`` body itself (file uploads):
    the middleware then leaves the body unread — ``request.post()`` would load it whole — and
    the handler must call :func:`verify` on the token before it keeps anything."""
    handler.csrf_checked_by_handler = True  # type: ignore[attr-defined]
    return handler


def streams_itself(request: web.Request) -> bool:
    """Whether the handler reads this body itself (see :func:`reads_own_body`)."""
    return form_parts.is_form_data(request) and getattr(
        request.match_info.handler, "csrf_checked_by_handler", False
    )


def _page_before(request: web.Request) -> str:
    """The path of the page the form was on (a same-site Referer), else the home page."""
    referer = urlsplit(request.headers.get("Referer", ""))
    if referer.netloc != request.host or not referer.path.startswith("/"):
        return "/"
    return referer.path + (f"?{referer.query}" if referer.query else "")


def _refused(request: web.Request) -> web.Response:
    """403 for a form without its token: a page of the site with the way back. Its token is
    issued here (the cookie set below), so the form reloaded from that page goes through."""
    token_for(request)
    return aiohttp_jinja2.render_template(
        "form_refused.html", request, {"back": _page_before(request)}, status=403
    )


@web.middleware
async def protect(request: web.Request, handler: Callable) -> web.StreamResponse:
    if (
        request.method == "POST"
        and not request.path.startswith(EXEMPT_PREFIXES)
        and not streams_itself(request)
    ):
        form = await request.post()
        if verify(request, str(form.get(FIELD, ""))):
            response = await handler(request)
        else:
            response = _refused(request)
    else:
        response = await handler(request)
    if _NEW_TOKEN in request:
        # Lax, not Strict: a Strict cookie is not sent with a page opened from a link on another
        # site (an SMS, an email), which then issued a new one over it — and a citizen's form
        # open in another tab was refused, its draft (owned through this cookie: see
        # citizen.uploads.draft_owner) and its documents lost. Lax is still never sent with a
        # cross-site POST; the token in the form is what proves a form is ours.
        response.set_cookie(
            COOKIE,
            request[_NEW_TOKEN],
            httponly=True,
            samesite="Lax",
            secure=request.app[SECURE],
            path="/",
        )
    return response
