"""The transport of every call from the gateway to a service (the typed clients beside this
module are built on it): every one signed (``shared.signing``) with the client's
address, the channel it came in by, and the staff member's identity when there is one; the
correlation id forwarded."""

from __future__ import annotations

import contextlib
import json as jsonlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from aiohttp import web
from yarl import URL

from gateway.web.client_address import CALLER
from gateway.web.errors import ServiceUnavailable
from shared import logs
from shared.identity import Identity
from shared.signing import sign_call
from shared.web import CORRELATION_HEADER

log = logging.getLogger(__name__)


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

    def url(self, service: str, path: str, params: Any = None) -> URL:
        url = URL(self.urls[service].rstrip("/") + path)
        return url.extend_query(params) if params else url

    def headers(
        self,
        service: str,
        method: str,
        url: URL,
        body: bytes | None,
        *,
        identity: Identity | None = None,
        channel: str | None = None,
        channel_name: str | None = None,
        signed_headers: dict[str, str] | None = None,
    ) -> dict[str, str]:
        """The headers of one call to ``service``: the signature of ``body`` (None: streamed)
        at ``url``, and the correlation id."""
        if not self.identity_secret:
            raise RuntimeError("Services was built without the identity secret")
        caller = CALLER.get()
        headers = sign_call(
            self.identity_secret,
            service,
            method,
            url.raw_path_qs,
            body,
            client_address=caller.client_address if caller else None,
            channel=channel or (caller.channel if caller else None),
            channel_name=channel_name,
            identity=identity,
            headers=signed_headers,
        )
        if cid := logs.correlation_id.get():
            headers[CORRELATION_HEADER] = cid
        return headers

    @contextlib.asynccontextmanager
    async def request(
        self,
        method: str,
        service: str,
        path: str,
        *,
        json: Any = None,
        params: Any = None,
        stream: Any = None,
        identity: Identity | None = None,
        channel: str | None = None,
        channel_name: str | None = None,
        signed_headers: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        timeout: aiohttp.ClientTimeout | None = None,
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """One signed call, its answer open for reading; aiohttp's errors pass through.

        ``json``: the body, sent as JSON; ``stream``: an async iterator of bytes, sent as it
        comes (signed ``UNSIGNED-STREAM``, see shared/signing.py)."""
        url = self.url(service, path, params)
        body: bytes | None = b""
        extra = dict(headers or {})
        if stream is not None:
            body = None
        elif json is not None:
            body = jsonlib.dumps(json).encode()
            extra["Content-Type"] = "application/json"
        signed = self.headers(
            service,
            method,
            url,
            body,
            identity=identity,
            channel=channel,
            channel_name=channel_name,
            signed_headers=signed_headers,
        )
        kwargs: dict[str, Any] = {"timeout": timeout} if timeout is not None else {}
        async with self.session.request(
            method,
            url,
            data=stream if body is None else (body or None),
            headers={**extra, **signed},
            **kwargs,
        ) as resp:
            yield resp

    async def call(
        self,
        method: str,
        service: str,
        path: str,
        *,
        json: Any = None,
        params: Any = None,
        identity: Identity | None = None,
        channel: str | None = None,
        channel_name: str | None = None,
        json_only: bool = False,
    ) -> tuple[int, Any]:
        """(status, JSON body) of the service's answer; raises ServiceUnavailable.

        ``identity``: the staff member on whose behalf the gateway calls (``current_staff(request)
        .identity``); the service checks its signature and enforces role and body itself.
        ``channel`` overrides the one of the page or API the client came by (``phone`` for the
        call centre's form); ``channel_name``: the partner behind it (an Open311 key's).
        ``json_only``: an answer that is not JSON (a proxy's HTML error page) is the service being
        unavailable, for the back office's clients, whose every answer is JSON."""
        try:
            async with self.request(
                method,
                service,
                path,
                json=json,
                params=params,
                identity=identity,
                channel=channel,
                channel_name=channel_name,
            ) as resp:
                if resp.content_type == "application/json":
                    return resp.status, await resp.json()
                if json_only:
                    raise ServiceUnavailable(service)
                # Not JSON (a file, an HTML error page): never decoded as text, it may be bytes.
                kind = resp.content_type
                return resp.status, {"error": "unexpected_answer", "content_type": kind}
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("service %s unavailable: %r", service, exc)
            raise ServiceUnavailable(service) from exc


# A file streamed through the gateway (an attachment, an answer's document): up to 5 Mo to
# someone on mobile data takes longer than the calls' total timeout, so only a silence of the
# service (a minute without bytes) is a failure; the wait pauses while the reader's side is slow.
STREAMED_FILE = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=60)

SERVICES = web.AppKey("services", Services)
