"""Calls from the gateway to the services, forwarding the correlation id and, for staff, their
signed identity (``X-Milie-Identity``, see shared/identity.py)."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp

from shared import identity as signed
from shared import logs
from shared.identity import Identity
from shared.web import CORRELATION_HEADER

log = logging.getLogger(__name__)


class ServiceUnavailable(Exception):
    """A service did not answer (down, or too slow)."""


class Services:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        urls: dict[str, str],
        identity_secret: bytes | None = None,
    ) -> None:
        self.session = session
        self.urls = urls
        self.identity_secret = identity_secret

    def _headers(self, identity: Identity | None) -> dict[str, str]:
        cid = logs.correlation_id.get()
        headers = {CORRELATION_HEADER: cid} if cid else {}
        if identity is not None:
            if not self.identity_secret:
                raise RuntimeError("Services was built without the identity secret")
            # Signed per call: the signature lives a minute, a leaked header soon stops working.
            headers[signed.HEADER] = signed.sign(identity, self.identity_secret)
        return headers

    async def call(
        self,
        method: str,
        service: str,
        path: str,
        *,
        json: Any = None,
        params: Any = None,
        identity: Identity | None = None,
    ) -> tuple[int, Any]:
        """(status, JSON body) of the service's answer; raises ServiceUnavailable.

        ``identity``: the staff member on whose behalf the gateway calls (``current_staff(request)
        .identity``); the service checks its signature and enforces role and body itself."""
        url = self.urls[service].rstrip("/") + path
        try:
            async with self.session.request(
                method, url, json=json, params=params, headers=self._headers(identity)
            ) as resp:
                if resp.content_type == "application/json":
                    return resp.status, await resp.json()
                # Not JSON (a file, an HTML error page): never decoded as text, it may be bytes.
                kind = resp.content_type
                return resp.status, {"error": "unexpected_answer", "content_type": kind}
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("service %s unavailable: %r", service, exc)
            raise ServiceUnavailable(service) from exc
