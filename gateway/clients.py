"""Calls from the gateway to the services, forwarding the correlation id."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp

from shared import logs
from shared.web import CORRELATION_HEADER

log = logging.getLogger(__name__)


class ServiceUnavailable(Exception):
    """A service did not answer (down, or too slow)."""


class Services:
    def __init__(self, session: aiohttp.ClientSession, urls: dict[str, str]) -> None:
        self.session = session
        self.urls = urls

    def _headers(self) -> dict[str, str]:
        cid = logs.correlation_id.get()
        return {CORRELATION_HEADER: cid} if cid else {}

    async def call(
        self, method: str, service: str, path: str, *, json: Any = None, params: Any = None
    ) -> tuple[int, Any]:
        """(status, JSON body) of the service's answer; raises ServiceUnavailable."""
        url = self.urls[service].rstrip("/") + path
        try:
            async with self.session.request(
                method, url, json=json, params=params, headers=self._headers()
            ) as resp:
                if resp.content_type == "application/json":
                    return resp.status, await resp.json()
                return resp.status, {"error": "unexpected_answer", "message": await resp.text()}
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("service %s unavailable: %r", service, exc)
            raise ServiceUnavailable(service) from exc
