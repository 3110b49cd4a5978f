"""A proof of work, asked of the web form past the suspicion threshold (``limits``), instead of
refusing every citizen behind one operator's NAT address.

A challenge is a signed line — ``id.client.issued.bits.wait.expires.mac`` — bound to the client
address it was issued to (a hash of its key), good once (its id claimed in ``used_proofs`` in the
submission's transaction) and until it expires. It is met either way:

- a ``nonce`` such that SHA-256(``challenge:nonce``) starts with ``bits`` zero bits (hashcash: the
  page's few lines of plain JavaScript find one in a second or two on a cheap phone);
- or, without JavaScript, by waiting: a challenge sent back ``wait`` seconds after it was issued
  is good without a nonce (the page says how long in a ``<noscript>``).

A wrong nonce, another address's challenge, an expired or forged one, or one used already gets a
new challenge; one sent back too early without a nonce keeps its own (the wait goes on).
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from dataclasses import dataclass

import asyncpg

from services.intake.limits import Config

NONCE_MAX = 32


def key_of(identity_secret: str) -> bytes:
    """The proofs' own key, derived from the identity secret every process has."""
    return hmac.new(identity_secret.encode(), b"milie:proof-of-work", hashlib.sha256).digest()


def _mac(key: bytes, body: str) -> str:
    return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()[:32]


def _client_tag(key: bytes, client: str) -> str:
    return hmac.new(key, f"client:{client}".encode(), hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True)
class Challenge:
    id: uuid.UUID
    issued: int
    bits: int
    wait: int
    expires: int
    token: str


def issue(key: bytes, client: str, config: Config, now: float | None = None) -> Challenge:
    issued = int(now if now is not None else time.time())
    challenge_id = uuid.uuid4()
    bits, wait = config.proof_difficulty_bits, config.proof_wait_seconds
    expires = issued + max(config.proof_lifetime_seconds, wait + 60)
    body = f"{challenge_id.hex}.{_client_tag(key, client)}.{issued}.{bits}.{wait}.{expires}"
    return Challenge(challenge_id, issued, bits, wait, expires, f"{body}.{_mac(key, body)}")


def read(key: bytes, token: str, client: str, now: float | None = None) -> Challenge | None:
    """The challenge ``token`` names, if it is ours, this client's, and not expired."""
    parts = (token or "").split(".")
    if len(parts) != 7 or len(token) > 200:
        return None
    body, mac = ".".join(parts[:6]), parts[6]
    if not hmac.compare_digest(mac.encode(), _mac(key, body).encode()):
        return None
    hex_id, tag, *numbers = parts[:6]
    if not hmac.compare_digest(tag.encode(), _client_tag(key, client).encode()):
        return None
    try:
        issued, bits, wait, expires = (int(n) for n in numbers)
        challenge_id = uuid.UUID(hex=hex_id)
    except ValueError:
        return None
    if (now if now is not None else time.time()) >= expires:
        return None
    return Challenge(challenge_id, issued, bits, wait, expires, token)


def zero_bits(digest: bytes) -> int:
    count = 0
    for byte in digest:
        if byte == 0:
            count += 8
            continue
        return count + 8 - byte.bit_length()
    return count


def solves(challenge: Challenge, nonce: str) -> bool:
    if not nonce or len(nonce) > NONCE_MAX or not nonce.isascii():
        return False
    digest = hashlib.sha256(f"{challenge.token}:{nonce}".encode()).digest()
    return zero_bits(digest) >= challenge.bits


def solve(token: str, bits: int) -> str:
    """A nonce for ``token`` (what the page's script does; for tests and programs)."""
    n = 0
    while True:
        digest = hashlib.sha256(f"{token}:{n}".encode()).digest()
        if zero_bits(digest) >= bits:
            return str(n)
        n += 1


def waited_left(challenge: Challenge, now: float | None = None) -> int:
    """Seconds still to wait before the challenge is good without a nonce."""
    return max(0, challenge.issued + challenge.wait - int(now if now is not None else time.time()))


class ProofRequired(Exception):
    """The submission needs a proof of work: ``challenge`` to meet, ``reason`` why the one sent
    (if any) was not enough (``required``, ``wrong``, ``reused``, ``early``)."""

    def __init__(self, challenge: Challenge, reason: str, wait_left: int) -> None:
        super().__init__(reason)
        self.challenge = challenge
        self.reason = reason
        self.wait_left = wait_left


async def check(
    conn: asyncpg.Connection,
    key: bytes,
    client: str,
    config: Config,
    token: str | None,
    nonce: str | None,
) -> None:
    """Accept the proof sent with a suspicious submission (its challenge claimed, in the
    caller's transaction), or raise :class:`ProofRequired`."""

    def fresh(reason: str) -> ProofRequired:
        challenge = issue(key, client, config)
        return ProofRequired(challenge, reason, waited_left(challenge))

    if not token:
        raise fresh("required")
    challenge = read(key, token, client)
    if challenge is None:
        raise fresh("wrong")
    if nonce:
        if not solves(challenge, nonce):
            raise fresh("wrong")
    elif (left := waited_left(challenge)) > 0:
        raise ProofRequired(challenge, "early", left)
    claimed = await conn.fetchval(
        """WITH gone AS (DELETE FROM used_proofs WHERE expires_at < now())
           INSERT INTO used_proofs (challenge_id, expires_at) VALUES ($1, to_timestamp($2))
           ON CONFLICT (challenge_id) DO NOTHING RETURNING true""",
        challenge.id,
        challenge.expires,
    )
    if not claimed:
        raise fresh("reused")
