"""The staff member's identity, signed by the gateway and checked by every service.

The gateway authenticates staff (sessions) and passes who is calling in the ``X-Milie-Identity``
header: base64url JSON ``{staff_id, role, body_id, exp}`` and an HMAC-SHA256 of it with the secret
the services share (``MILIE_IDENTITY_SECRET``). A service reached without the gateway, or with a
forged or expired identity, refuses. Each service still enforces the role and the body itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from aiohttp import web

HEADER = "X-Milie-Identity"
LIFETIME_SECONDS = 60


class Role(StrEnum):
    ADMINISTRATOR = "administrator"
    ANALYST = "analyst"
    FOCAL_POINT = "focal-point"
    OPERATOR = "operator"


@dataclass(frozen=True)
class Identity:
    staff_id: str
    role: Role
    body_id: str | None = None  # set for a focal point: the one public body they act for
    login: str | None = None

    def can_see_body(self, body_id: str) -> bool:
        return self.role != Role.FOCAL_POINT or self.body_id == body_id


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(identity: Identity, secret: bytes, now: float | None = None) -> str:
    payload = {
        "staff_id": identity.staff_id,
        "role": identity.role.value,
        "body_id": identity.body_id,
        "login": identity.login,
        "exp": int((now or time.time()) + LIFETIME_SECONDS),
    }
    body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    mac = _b64(hmac.new(secret, body.encode(), hashlib.sha256).digest())
    return f"{body}.{mac}"


def verify(token: str, secret: bytes, now: float | None = None) -> Identity | None:
    """The identity in ``token``, or None when it is malformed, forged or expired."""
    body, _, mac = token.partition(".")
    if not body or not mac:
        return None
    expected = _b64(hmac.new(secret, body.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(mac, expected):
        return None
    try:
        payload = json.loads(_unb64(body))
        if payload["exp"] < (now or time.time()):
            return None
        return Identity(
            staff_id=str(payload["staff_id"]),
            role=Role(payload["role"]),
            body_id=payload.get("body_id"),
            login=payload.get("login"),
        )
    except (ValueError, KeyError, TypeError):
        return None


IDENTITY = web.RequestKey("milie.identity", Identity)  # where services find the caller


def identity_of(request: web.Request) -> Identity | None:
    return request.get(IDENTITY)


def check(request: web.Request, *roles: Role) -> Identity:
    """The caller's signed identity, kept on the request; raises 401 without a valid one and
    403 for a role not in ``roles`` (any role when empty). The secret comes from the app's
    settings (``identity_secret``)."""
    from shared.service import SETTINGS  # late: service imports web which imports us

    secret = request.app[SETTINGS].identity_secret.get_secret_value().encode()
    identity = verify(request.headers.get(HEADER, ""), secret)
    if identity is None:
        raise web.HTTPUnauthorized(
            text='{"error":"unauthenticated","message":"signed staff identity required"}',
            content_type="application/json",
        )
    if roles and identity.role not in roles:
        raise web.HTTPForbidden(
            text='{"error":"forbidden","message":"this role may not do this"}',
            content_type="application/json",
        )
    request[IDENTITY] = identity
    return identity


def requires(*roles: Role) -> Callable:
    """Decorator for a service's staff endpoint: :func:`check` before the handler."""

    def decorate(handler: Callable) -> Callable:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            check(request, *roles)
            return await handler(request)

        wrapped.__name__ = handler.__name__
        wrapped.__doc__ = handler.__doc__
        wrapped.required_roles = roles  # type: ignore[attr-defined]  # read by the access tests
        return wrapped

    return decorate
