"""SMS: a client of Orange's SMS API as used in Côte d'Ivoire (Orange Developer « SMS Côte
d'Ivoire »). Which numbers take an SMS: shared.reach. The texts are in sms_texts.py.

The API: an OAuth2 client-credentials token (``POST {base}/oauth/v3/token``, Basic auth), then
``POST {base}/smsmessaging/v1/outbound/tel%3A%2B{sender}/requests`` with the bearer token and
``{"outboundSMSMessageRequest": {...}}``, answered 201 with a ``resourceURL``. The token is
kept until shortly before it expires; a 401 gets a fresh one, once.

The SMS medium of the delivery loop (delivery.py) is :class:`SmsMedium`. How a failed send is
retried (:meth:`SmsMedium.classify`):
- :class:`SmsRefused` (4xx but 401, 408, 429): this message or number is refused — permanent;
- :class:`SmsTemporary` (5xx, 408, 429, a timeout once the request was sent): retried with the
  emails' backoff, up to ``max_attempts``;
- :class:`SmsProviderUnavailable` (cannot connect, no token, a 401 with a fresh token): the
  provider or our configuration, not this message — retried without limit, never lost.

The provider takes no idempotency key: a resend after a crash or a timeout can reach the citizen
twice (at least once). The delivery log keeps every other case to one send.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import Callable
from urllib.parse import quote

import aiohttp
import asyncpg
import phonenumbers
import yarl

from services.notify.delivery import PERMANENT, TEMPORARY, UNAVAILABLE

log = logging.getLogger(__name__)

# A token is renewed this long before the provider said it expires (clocks and transit).
TOKEN_MARGIN_SECONDS = 60.0


def country_code(phone: str | None) -> int | None:
    """The country calling code of an E.164 number (None when unreadable)."""
    try:
        return phonenumbers.parse(phone or "", None).country_code
    except phonenumbers.NumberParseException:
        return None


class SmsRefused(Exception):
    """The provider refused this message for good (4xx)."""


class SmsTemporary(Exception):
    """The provider failed this time (5xx, 429, a timeout): try again later."""


class SmsProviderUnavailable(Exception):
    """No answer from the provider, or it refuses our credentials: nothing to do with the
    message, which waits."""


class OrangeSms:
    """One process's client: shares its token between the sends."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        base_url: str,
        client_id: str,
        client_secret: str,
        sender: str,
        sender_name: str,
        countries: frozenset[int] = frozenset({225}),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")
        credentials = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
        self.basic_auth = f"Basic {credentials}"
        self.sender = sender
        self.sender_name = sender_name
        self.countries = countries
        self.clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()
        # The sender's address is a path segment: "tel:+225…" percent-encoded, as documented.
        self.outbound_url = yarl.URL(
            f"{self.base_url}/smsmessaging/v1/outbound/{quote('tel:+' + sender, safe='')}/requests",
            encoded=True,
        )

    async def send(self, phone: str, text: str) -> str | None:
        """Send ``text`` to ``phone`` (E.164); returns the provider's ``resourceURL``. A number
        of a country not allowed is refused for good, before the provider is asked."""
        if country_code(phone) not in self.countries:
            raise SmsRefused(f"country code of {phone[:5]}… not allowed for SMS")
        token = await self.token()
        status, body = await self._post(token, phone, text)
        if status == 401:
            # Revoked or expired early: one fresh token, one more try.
            self.forget(token)
            token = await self.token()
            status, body = await self._post(token, phone, text)
            if status == 401:
                raise SmsProviderUnavailable("401 with a fresh token: check the credentials")
        if 200 <= status < 300:
            answer = body.get("outboundSMSMessageRequest") if isinstance(body, dict) else None
            return answer.get("resourceURL") if isinstance(answer, dict) else None
        detail = f"{status} {_short(body)}"
        if status in (408, 429) or status >= 500:
            raise SmsTemporary(detail)
        raise SmsRefused(detail)

    async def token(self) -> str:
        """The current token, fetched when there is none or it is about to expire."""
        async with self._lock:
            if self._token is not None and self.clock() < self._expires_at:
                return self._token
            try:
                async with self.session.post(
                    f"{self.base_url}/oauth/v3/token",
                    data={"grant_type": "client_credentials"},
                    headers={"Authorization": self.basic_auth, "Accept": "application/json"},
                ) as resp:
                    body = await _json(resp)
                    status = resp.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise SmsProviderUnavailable(f"token: {type(exc).__name__}: {exc}") from exc
            token = body.get("access_token") if isinstance(body, dict) else None
            if status != 200 or not isinstance(token, str) or not token:
                raise SmsProviderUnavailable(f"token: {status} {_short(body)}")
            try:
                lifetime = float(body.get("expires_in", 3600))
            except (TypeError, ValueError):
                lifetime = 3600.0
            self._token = token
            self._expires_at = self.clock() + max(0.0, lifetime - TOKEN_MARGIN_SECONDS)
            log.info("SMS provider token obtained", extra={"expires_in": lifetime})
            return token

    def forget(self, token: str) -> None:
        """Drop ``token`` (unless another send already replaced it)."""
        if self._token == token:
            self._token = None

    async def _post(self, token: str, phone: str, text: str) -> tuple[int, object]:
        payload = {
            "outboundSMSMessageRequest": {
                "address": f"tel:{phone}",
                "senderAddress": f"tel:+{self.sender}",
                "senderName": self.sender_name,
                "outboundSMSTextMessage": {"message": text},
            }
        }
        try:
            async with self.session.post(
                self.outbound_url,
                json=payload,
                headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            ) as resp:
                return resp.status, await _json(resp)
        except aiohttp.ClientConnectorError as exc:
            # Never reached the provider: the message was certainly not sent.
            raise SmsProviderUnavailable(f"{type(exc).__name__}: {exc}") from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            # Sent, maybe received: retrying may send it twice (at least once).
            raise SmsTemporary(f"{type(exc).__name__}: {exc}") from exc


async def _json(resp: aiohttp.ClientResponse) -> object:
    try:
        return await resp.json(content_type=None)
    except ValueError:
        return (await resp.text())[:500]


def _short(body: object) -> str:
    return str(body)[:300]


class SmsMedium:
    """SMS for the delivery loop: one worker (the provider limits the rate anyway), the
    process's one client as its way of sending — it holds nothing of its own to open or close."""

    name = "sms"
    provider = "SMS provider"
    workers = 1
    linger = 0.0

    def __init__(self, client: OrangeSms, batch: int) -> None:
        self.client = client
        self.batch = max(1, batch)

    def open(self) -> SmsMedium:
        return self

    async def send(self, row: asyncpg.Record) -> str | None:
        return await self.client.send(row["recipient"], row["body_text"])

    def failed(self, kind: str, exc: BaseException) -> None:
        pass

    def idle(self) -> None:
        pass

    async def close(self) -> None:
        pass

    @staticmethod
    def classify(exc: BaseException) -> str:
        if isinstance(exc, SmsRefused):
            return PERMANENT
        if isinstance(exc, SmsProviderUnavailable):
            return UNAVAILABLE
        return TEMPORARY

    @staticmethod
    def describe(exc: BaseException) -> str:
        return f"{type(exc).__name__}: {exc}"[:1000]
