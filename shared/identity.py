"""The staff member's identity, signed by the gateway and checked by every service.

The gateway authenticates staff (sessions) and names who is calling in the envelope of the signed
call (``shared.signing``: HMAC-SHA256 with the secret the processes share, a minute's life, a
one-time id). The service's middleware verifies the envelope and keeps its identity at
:data:`IDENTITY`; :func:`check` and :func:`requires` read it there. Each service still enforces
the role and the body itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from aiohttp import web


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


IDENTITY = web.RequestKey("milie.identity", Identity)  # where services find the caller

# The staff id the gateway signs for a ministry's system (the ministry API): ``cle-api:<key id>``,
# a focal point of the key's body that is no person.
API_KEY_PREFIX = "cle-api:"


def api_key_staff_id(key_id: str) -> str:
    return f"{API_KEY_PREFIX}{key_id}"


def is_api_key(staff_id: str | None) -> bool:
    """Whether ``staff_id`` is a body's information system's rather than an agent's."""
    return staff_id is not None and staff_id.startswith(API_KEY_PREFIX)


def identity_of(request: web.Request) -> Identity | None:
    return request.get(IDENTITY)


def check(request: web.Request, *roles: Role) -> Identity:
    """The staff identity of the signed call (``shared.signing``); raises 401 when the call names
    none and 403 for a role not in ``roles`` (any role when empty)."""
    identity = request.get(IDENTITY)
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
