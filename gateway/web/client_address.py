"""The client's address, believing ``X-Forwarded-For`` only from a trusted proxy.

Behind a load balancer the peer address is the proxy's; the client is the last address in
``X-Forwarded-For`` that is not itself a trusted proxy (addresses further left were written by
the client and can be anything). Without a trusted proxy the header is ignored.

The gateway signs that address into every call it makes to a service for the client
(:func:`know_the_caller`), with the channel the client came by.
"""

from __future__ import annotations

import contextvars
import ipaddress
from dataclasses import dataclass
from functools import lru_cache

from aiohttp import web

from gateway.web.keys import GATEWAY_SETTINGS
from shared.messages import Channel

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Caller:
    """Who the gateway is serving: set per request by :func:`know_the_caller`, read by the
    transport (``gateway.clients.transport``) to sign each call."""

    client_address: str
    channel: str


CALLER: contextvars.ContextVar[Caller | None] = contextvars.ContextVar("caller", default=None)


@lru_cache(maxsize=32)
def _networks(cidrs: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def resolve(peer: str | None, forwarded_for: str | None, trusted: tuple[str, ...]) -> str:
    """The client address given the peer, the header and the trusted CIDRs (pure, for tests)."""
    peer = peer or "inconnue"
    networks = _networks(trusted)
    if not networks or not forwarded_for or not _trusted(peer, networks):
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return peer  # a garbled header: fall back to what we know
        if not _trusted(hop, networks):
            return hop
    return hops[0] if hops else peer


def client_address(request: web.Request) -> str:
    """The address the request came from (for throttling and the audit log)."""
    trusted = tuple(request.app[GATEWAY_SETTINGS].trusted_proxies)
    return resolve(request.remote, request.headers.get("X-Forwarded-For"), trusted)


def channel_of(path: str) -> str:
    """The channel a client comes by, from the part of the site it asks (the call centre's
    form says ``phone`` itself)."""
    if path.startswith("/api/"):
        return Channel.API.value
    if path.startswith("/open311/"):
        return Channel.OPEN311.value
    return Channel.WEB.value


@web.middleware
async def know_the_caller(request: web.Request, handler) -> web.StreamResponse:
    """Keep the client's address and channel for the calls this request makes to the services
    (``clients.Services`` signs them into each call)."""
    token = CALLER.set(Caller(client_address(request), channel_of(request.path)))
    try:
        return await handler(request)
    finally:
        CALLER.reset(token)
