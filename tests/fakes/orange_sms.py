"""A local HTTP server speaking Orange's SMS API (« SMS Côte d'Ivoire »), for the tests: the real
provider is an edge nobody here can reach.

- ``POST /oauth/v3/token``: client credentials in Basic auth, ``grant_type=client_credentials``
  (form) → ``{"token_type": "Bearer", "access_token": …, "expires_in": …}``; 401 otherwise.
- ``POST /smsmessaging/v1/outbound/tel%3A%2B{sender}/requests``: a bearer token it issued (401
  otherwise, as Orange answers an expired one), the sender percent-encoded in the path as Orange
  documents it, and the ``outboundSMSMessageRequest`` JSON (400 with Orange's ``requestError``
  otherwise) → 201 with a ``resourceURL``; the message is recorded.

It can be told to answer the next sends with an error (``fail_next(2, 503)``) and to forget the
tokens it issued (``revoke_tokens()``), as when Orange expires one early.
"""

from __future__ import annotations

import base64
import re
import secrets
from dataclasses import dataclass, field
from urllib.parse import quote

from aiohttp import web

from tests.support import eventually, free_port


@dataclass
class Sms:
    address: str
    sender_address: str
    sender_name: str | None
    message: str
    raw_path: str


@dataclass
class FakeOrangeSms:
    client_id: str = "milie-test-client"
    client_secret: str = "milie-test-secret"
    sender: str = "2250700000000"
    token_lifetime: int = 3600
    host: str = "127.0.0.1"
    port: int = field(default_factory=free_port)
    messages: list[Sms] = field(default_factory=list)
    tokens_issued: int = 0
    send_attempts: int = 0
    unauthorized: int = 0
    _tokens: set[str] = field(default_factory=set)
    _failures: list[int] = field(default_factory=list)
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def settings(self) -> dict[str, str | bool]:
        """Notify's settings (``NotifySettings``) that send its SMS here."""
        return {
            "sms_enabled": True,
            "sms_base_url": self.url,
            "sms_client_id": self.client_id,
            "sms_client_secret": self.client_secret,
            "sms_sender": self.sender,
        }

    # -- control -----------------------------------------------------------------------------

    def fail_next(self, count: int, status: int = 503) -> None:
        """Answer the next ``count`` sends (with a valid token) with ``status``."""
        self._failures.extend([status] * count)

    def revoke_tokens(self) -> None:
        """Forget every token issued: the next send with one gets 401."""
        self._tokens.clear()

    def to(self, phone: str) -> list[Sms]:
        return [m for m in self.messages if m.address == f"tel:{phone}"]

    async def wait_for(self, phone: str, count: int = 1, timeout: float = 30.0) -> list[Sms]:
        async def probe():
            found = self.to(phone)
            return found if len(found) >= count else None

        return await eventually(probe, timeout=timeout)

    # -- server ------------------------------------------------------------------------------

    async def start(self) -> FakeOrangeSms:
        app = web.Application()
        app.router.add_post("/oauth/v3/token", self._token)
        app.router.add_post("/smsmessaging/v1/outbound/{sender}/requests", self._outbound)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeOrangeSms:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _token(self, request: web.Request) -> web.Response:
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if request.headers.get("Authorization") != f"Basic {expected}":
            return web.json_response(
                {
                    "error": "invalid_client",
                    "error_description": "The requested service needs "
                    "credentials, but the ones provided were invalid.",
                },
                status=401,
            )
        form = await request.post()
        if form.get("grant_type") != "client_credentials":
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        token = secrets.token_urlsafe(24)
        self._tokens.add(token)
        self.tokens_issued += 1
        return web.json_response(
            {"token_type": "Bearer", "access_token": token, "expires_in": self.token_lifetime}
        )

    async def _outbound(self, request: web.Request) -> web.Response:
        self.send_attempts += 1
        bearer = request.headers.get("Authorization", "")
        if not bearer.startswith("Bearer ") or bearer.removeprefix("Bearer ") not in self._tokens:
            self.unauthorized += 1
            return web.json_response(
                {
                    "code": 42,
                    "message": "Expired credentials",
                    "description": "The requested service needs credentials, and the ones "
                    "provided were out-of-date.",
                },
                status=401,
            )
        if self._failures:
            status = self._failures.pop(0)
            return web.json_response(
                {"code": 5, "message": "Service unavailable", "description": "Try later."},
                status=status,
            )
        encoded = quote(f"tel:+{self.sender}", safe="")
        if f"/outbound/{encoded}/requests".lower() not in request.raw_path.lower():
            return _service_exception("SVC0004", f"senderAddress in the path: {request.raw_path}")
        try:
            payload = await request.json()
            body = payload["outboundSMSMessageRequest"]
            address = body["address"]
            sender_address = body["senderAddress"]
            text = body["outboundSMSTextMessage"]["message"]
            sender_name = body.get("senderName")
        except (ValueError, KeyError, TypeError):
            return _service_exception("SVC0002", "outboundSMSMessageRequest")
        if not (isinstance(address, str) and re.fullmatch(r"tel:\+\d{8,15}", address)):
            return _service_exception("SVC0004", f"address {address!r}")
        if sender_address != f"tel:+{self.sender}":
            return _service_exception("SVC0004", f"senderAddress {sender_address!r}")
        if not isinstance(text, str) or not text:
            return _service_exception("SVC0002", "message")
        if sender_name is not None and not isinstance(sender_name, str):
            return _service_exception("SVC0002", "senderName")
        self.messages.append(Sms(address, sender_address, sender_name, text, request.raw_path))
        resource = f"{self.url}/smsmessaging/v1/outbound/{encoded}/requests/{secrets.token_hex(8)}"
        return web.json_response(
            {"outboundSMSMessageRequest": {**body, "resourceURL": resource}}, status=201
        )


def _service_exception(message_id: str, variables: str) -> web.Response:
    return web.json_response(
        {
            "requestError": {
                "serviceException": {
                    "messageId": message_id,
                    "text": "Invalid input value for message part %1",
                    "variables": variables,
                }
            }
        },
        status=400,
    )
