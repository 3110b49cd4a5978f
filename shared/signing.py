"""Signed calls: the gateway signs every call it makes to a service, and a service answers only
those (see DESIGN.md, « Trust between processes »).

The caller puts one header, ``X-Milie-Call``: base64url JSON of the call's envelope, a dot, and
an HMAC-SHA256 of that text with the secret the processes share (``identity_secret``). The
envelope says:

- ``service``: the service it is meant for (a call for intake replayed to triage is refused);
- ``method`` and ``target``: the HTTP method, the path with its query string as sent;
- ``body``: the SHA-256 (hex) of the body's bytes, or ``UNSIGNED-STREAM`` (below);
- ``expires``: a Unix time :data:`LIFETIME_SECONDS` ahead; ``nonce``: a random one-time id;
- ``client_address``: the address of the client the gateway serves (for throttling, audit);
- ``channel``: how the request came in (``shared.messages.Channel``) when the gateway knows it,
  and ``channel_name``: the partner system behind it (an Open311 client's key name);
- ``identity``: the staff member on whose behalf the call is made, when there is one;
- ``headers``: other headers the call relies on (``X-Draft-Owner``), checked as they arrive.

A service takes the client's address, the channel and the staff identity from the verified
envelope (:func:`call_of`, ``shared.identity.check``), never from the body or the query.

Replays: every copy of a service records the nonces it accepted in its own schema's
``seen_calls`` table (unique), so a call captured on the wire and replayed — to the same copy or
to another copy of the service — is refused: an in-memory cache per process would let a replay
to another copy through during the minute the call is valid. A row is dropped a while after the
call has expired (:func:`forget_expired`): from then on the expiry alone refuses it. The cost is
one row per call, on the pool the service already has, the calls that arrive together claimed in
one insert (:class:`NonceBatcher`); the table is unlogged, so the insert does not wait for a disk
flush (shared/sql/0004 says what that gives up).

Streamed bodies (a file passed on to intake as the citizen's browser sends it) cannot be hashed
before their first byte is sent, and the gateway keeps only a chunk in memory. Such a call signs
``UNSIGNED-STREAM`` instead of a hash: only a route marked :func:`streamed` accepts it, and the
rest of the envelope still binds it to its service, method, path and query (the draft, the file
name), owner and one-time id. Someone who reads the headers on the wire cannot reuse them (the
nonce is taken as soon as the headers arrive); swapping the body of the call in flight takes an
attacker placed between the gateway and intake, against whom the network itself must be
protected (TLS, network policies) — and intake still checks the file (type, size) itself.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

import asyncpg
from aiohttp import web

from shared.identity import IDENTITY, Identity, Role
from shared.web import error_body

log = logging.getLogger(__name__)

HEADER = "X-Milie-Call"
# The longest header line a signed service reads. The envelope carries the call's path and query
# as sent: a query the gateway takes (its request line: 8 KiB, aiohttp's limit) is a third longer
# in base64, with the identity and the rest beside it. At aiohttp's 8 KiB, an Open311 search of
# 700 codes passed the gateway and was refused by intake's parser (the gateway answered 500).
MOST_HEADER_BYTES = 32 * 1024
LIFETIME_SECONDS = 60
# Clocks of two machines differ a little: a call may say it expires this much later than allowed.
CLOCK_SKEW_SECONDS = 5
UNSIGNED_STREAM = "UNSIGNED-STREAM"
# Operations routes (shared.web.add_operations_routes): probes and Prometheus, never signed.
EXEMPT_PATHS = frozenset({"/metrics", "/health/live", "/health/ready"})


@dataclass(frozen=True)
class Call:
    """A verified call's envelope."""

    service: str
    method: str
    target: str
    nonce: str
    expires: int
    client_address: str | None = None
    channel: str | None = None
    channel_name: str | None = None
    identity: Identity | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


CALL = web.RequestKey("milie.call", Call)  # where a service finds the verified envelope
# On an app that answers only signed calls: the service name they must be signed for.
SIGNED_FOR = web.AppKey("signed_for", str)


def call_of(request: web.Request) -> Call:
    """The verified envelope of the call being answered (set by the service's middleware)."""
    return request[CALL]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def sign_call(
    secret: bytes,
    service: str,
    method: str,
    target: str,
    body: bytes | None,
    *,
    client_address: str | None = None,
    channel: str | None = None,
    channel_name: str | None = None,
    identity: Identity | None = None,
    headers: Mapping[str, str] | None = None,
    now: float | None = None,
) -> dict[str, str]:
    """The header to send with one call (a new nonce each time: sign every call anew).

    ``target``: the path and query string exactly as sent (``yarl.URL.raw_path_qs``);
    ``body``: the bytes sent (``b""`` for none), or None for a streamed body (see the module)."""
    envelope = {
        "service": service,
        "method": method.upper(),
        "target": target,
        "body": UNSIGNED_STREAM if body is None else body_hash(body),
        "expires": int((now or time.time()) + LIFETIME_SECONDS),
        "nonce": secrets.token_urlsafe(18),
        "client_address": client_address,
        "channel": channel,
        "channel_name": channel_name,
        "identity": None
        if identity is None
        else {
            "staff_id": identity.staff_id,
            "role": identity.role.value,
            "body_id": identity.body_id,
            "login": identity.login,
        },
        "headers": dict(headers or {}),
    }
    text = _b64(json.dumps(envelope, separators=(",", ":"), sort_keys=True).encode())
    mac = _b64(hmac.new(secret, text.encode(), hashlib.sha256).digest())
    return {HEADER: f"{text}.{mac}", **(headers or {})}


class Refused(Exception):
    """A call that is not signed correctly; ``error`` is the code answered."""

    def __init__(self, error: str, message: str) -> None:
        super().__init__(message)
        self.error = error
        self.message = message


def _bad(message: str) -> Refused:
    return Refused("bad_signature", message)


def decode(token: str, secret: bytes) -> dict:
    """The envelope in ``token`` once its MAC is checked; raises :class:`Refused`."""
    if not token:
        raise Refused("unsigned_call", f"this service answers only calls signed in {HEADER}")
    text, _, mac = token.partition(".")
    expected = _b64(hmac.new(secret, text.encode(), hashlib.sha256).digest())
    if not text or not hmac.compare_digest(mac, expected):
        raise _bad("the signature does not match")
    try:
        envelope = json.loads(_unb64(text))
    except ValueError:
        raise _bad("unreadable envelope") from None
    if not isinstance(envelope, dict):
        raise _bad("unreadable envelope")
    return envelope


def _identity(raw: object) -> Identity | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise _bad("unreadable identity")
    try:
        return Identity(
            staff_id=str(raw["staff_id"]),
            role=Role(raw["role"]),
            body_id=raw.get("body_id"),
            login=raw.get("login"),
        )
    except (KeyError, ValueError):
        raise _bad("unreadable identity") from None


def _text_or_none(envelope: dict, key: str) -> str | None:
    value = envelope.get(key)
    if value is not None and not isinstance(value, str):
        raise _bad(f"unreadable {key}")
    return value


async def verify(
    request: web.Request, secret: bytes, service: str, now: float | None = None
) -> Call:
    """The call's envelope, checked against this request (all but the nonce, which the caller
    claims once the rest holds); raises :class:`Refused`. Reads (and keeps) a signed body."""
    envelope = decode(request.headers.get(HEADER, ""), secret)
    now = now or time.time()
    try:
        expires = int(envelope["expires"])
        nonce = str(envelope["nonce"])
        signed_for = (envelope["service"], envelope["method"], envelope["target"])
        body = envelope["body"]
        headers = dict(envelope.get("headers") or {})
    except (KeyError, TypeError, ValueError):
        raise _bad("incomplete envelope") from None
    if expires < now:
        raise Refused("expired", "the call's signature has expired")
    if expires > now + LIFETIME_SECONDS + CLOCK_SKEW_SECONDS:
        raise _bad("the call expires too far ahead")
    if signed_for != (service, request.method, request.raw_path):
        raise _bad("the call was signed for another service, method or path")
    for name, value in headers.items():
        if request.headers.get(name) != value:
            raise _bad(f"the header {name} is not the one signed")
    streamed_route = getattr(request.match_info.handler, "accepts_stream", False)
    if (body == UNSIGNED_STREAM) != streamed_route:
        # A streamed route reads its body as it comes, never whole: nothing to hash here.
        raise _bad("this route takes a streamed body" if streamed_route else "unsigned body")
    if not streamed_route and not (
        isinstance(body, str) and hmac.compare_digest(body, body_hash(await request.read()))
    ):
        raise _bad("the body is not the one signed")
    return Call(
        service=service,
        method=request.method,
        target=request.raw_path,
        nonce=nonce,
        expires=expires,
        client_address=_text_or_none(envelope, "client_address"),
        channel=_text_or_none(envelope, "channel"),
        channel_name=_text_or_none(envelope, "channel_name"),
        identity=_identity(envelope.get("identity")),
        headers=headers,
    )


def streamed(handler: Callable) -> Callable:
    """Mark a route whose body comes as a stream: its calls are signed ``UNSIGNED-STREAM`` (and
    only those), and the route reads and checks the body itself."""
    handler.accepts_stream = True  # type: ignore[attr-defined]
    return handler


# --- the one-time ids ----------------------------------------------------------------------------

Claim = Callable[[web.Request, str, int], Awaitable[bool]]


async def claim_nonce(pool: asyncpg.Pool, nonce: str, expires: int, timeout: float) -> bool:
    """Record ``nonce`` as used; False when it was already (a replay)."""
    async with pool.acquire(timeout=timeout) as conn:
        status = await conn.execute(
            """INSERT INTO seen_calls (nonce, expires_at) VALUES ($1, to_timestamp($2))
               ON CONFLICT (nonce) DO NOTHING""",
            nonce,
            expires,
        )
    return status.endswith(" 1")


async def claim_nonces(
    pool: asyncpg.Pool, nonces: list[str], expires: list[int], timeout: float
) -> set[str]:
    """Record several nonces in one statement; the ones that were not recorded before (each
    of the others is a replay)."""
    async with pool.acquire(timeout=timeout) as conn:
        rows = await conn.fetch(
            """INSERT INTO seen_calls (nonce, expires_at)
               SELECT c.nonce, to_timestamp(c.expires)
               FROM unnest($1::text[], $2::bigint[]) AS c(nonce, expires)
               ON CONFLICT (nonce) DO NOTHING
               RETURNING nonce""",
            nonces,
            expires,
        )
    return {row["nonce"] for row in rows}


class NonceBatcher:
    """Claims the one-time ids of the calls arriving together in one statement: the first call
    is claimed at once; those that arrive while its insert runs wait for it and then go in the
    next insert, together (as a database groups commits). Under load a service answers many
    calls at once, and each one's own insert (a pool connection, a round trip, a statement for
    PostgreSQL to run) cost more than its row. What each call learns is what its own insert
    would have told it: a nonce already in ``seen_calls`` — or twice in one batch, after its
    first — is a replay. The rows are the same, so replays between copies are still refused."""

    def __init__(self, timeout: float) -> None:
        self._pool: asyncpg.Pool | None = None
        self._timeout = timeout
        self._waiting: list[tuple[str, int, asyncio.Future[bool]]] = []
        self._task: asyncio.Task | None = None

    async def claim(self, pool: asyncpg.Pool, nonce: str, expires: int) -> bool:
        """Record ``nonce`` as used (in ``pool``: the service's); False when it was already."""
        self._pool = pool
        future = asyncio.get_running_loop().create_future()
        self._waiting.append((nonce, expires, future))
        if self._task is None:
            self._task = asyncio.create_task(self._insert(), name="claim-call-ids")
        return await future

    async def _insert(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                try:
                    assert self._pool is not None
                    fresh = await claim_nonces(
                        self._pool, [b[0] for b in batch], [b[1] for b in batch], self._timeout
                    )
                except Exception as exc:  # each call answers the database's fault itself
                    for _, _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for nonce, _, future in batch:
                    first = nonce in fresh
                    fresh.discard(nonce)  # the same nonce twice in a batch: once only
                    if not future.done():
                        future.set_result(first)
        finally:
            self._task = None


async def forget_expired(pool: asyncpg.Pool, timeout: float) -> int:
    """Drop the nonces of expired calls (their expiry refuses them now); returns how many.

    A row is kept a call's lifetime past its expiry: the services check the expiry on their own
    clocks, and the database's may run ahead of theirs."""
    async with pool.acquire(timeout=timeout) as conn:
        status = await conn.execute(
            "DELETE FROM seen_calls WHERE expires_at < now() - make_interval(secs => $1)",
            float(LIFETIME_SECONDS + CLOCK_SKEW_SECONDS),
        )
    return int(status.rpartition(" ")[2] or 0)


def refusal(error: str, message: str) -> web.HTTPUnauthorized:
    return web.HTTPUnauthorized(
        text=json.dumps(error_body(error, message)), content_type="application/json"
    )


def middleware(secret: bytes, service: str, claim: Claim):
    """The middleware that answers 401 to every call not signed for this service, except the
    operations routes; it puts the envelope at :data:`CALL` and the staff identity at
    ``shared.identity.IDENTITY``."""

    @web.middleware
    async def signed_calls_only(request: web.Request, handler: Callable) -> web.StreamResponse:
        if request.path in EXEMPT_PATHS:
            return await handler(request)
        try:
            call = await verify(request, secret, service)
        except Refused as exc:
            log.info("call refused: %s", exc.message, extra={"error": exc.error})
            raise refusal(exc.error, exc.message) from None
        if not await claim(request, call.nonce, call.expires):
            raise refusal("replayed", "this call was already answered; sign each call anew")
        request[CALL] = call
        if call.identity is not None:
            request[IDENTITY] = call.identity
        return await handler(request)

    return signed_calls_only
