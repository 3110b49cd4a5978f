"""Staff passwords: the rules, and argon2id hashing run off the event loop.

Hashing costs tens of milliseconds of CPU on purpose, so it runs in a worker thread; a sign-in
for an unknown login verifies against a dummy hash, so that it costs the same time and nobody can
tell a wrong password from an unknown login by the answer or by its delay.
"""

from __future__ import annotations

import asyncio
import bisect
import gzip
import re
from array import array
from functools import lru_cache
from itertools import accumulate
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 12
MAX_LENGTH = 256  # argon2 takes any length; a bound keeps a huge input from costing memory

# argon2-cffi's defaults are argon2id with the RFC 9106 "low memory" parameters; when a future
# version raises them, check_needs_rehash says so and the hash is renewed at the next sign-in.
_hasher = PasswordHasher()
# Each hash takes 64 MiB and a core for a moment: a flood of sign-ins queues here instead of
# exhausting the machine's memory.
_slots = asyncio.Semaphore(4)
# Breached and common passwords, offline (data/README.md says which).
COMMON = Path(__file__).parent / "data" / "common_passwords.txt.gz"
# What people add around a common password to pass a length rule: « password2024! ».
_AFFIXES = re.compile(r"^[\d\W_]{0,4}(.{8,}?)[\d\W_]{0,4}$")


class CommonPasswords:
    """The list as one sorted block of bytes and the offsets of its lines (a few MB for half a
    million entries, where a set of strings would take ten times that), searched by bisection."""

    def __init__(self, blob: bytes) -> None:
        self.blob = blob.rstrip(b"\n")
        lengths = (len(line) + 1 for line in self.blob.split(b"\n")[:-1])
        self.starts = array("I", accumulate(lengths, initial=0))

    def _line(self, start: int) -> bytes:
        end = self.blob.find(b"\n", start)
        return self.blob[start : end if end >= 0 else len(self.blob)]

    def __len__(self) -> int:
        return len(self.starts)

    def __contains__(self, word: str) -> bool:
        wanted = word.encode()
        i = bisect.bisect_left(self.starts, wanted, key=self._line)
        return i < len(self.starts) and self._line(self.starts[i]) == wanted


@lru_cache(maxsize=1)
def common_passwords() -> CommonPasswords:
    with gzip.open(COMMON, "rb") as data:
        return CommonPasswords(data.read())


def is_common(password: str) -> bool:
    """The password, or its core once up to four digits or signs are taken off each end, is in
    the list (compared in lower case)."""
    word = password.strip().lower()
    if word in common_passwords():
        return True
    core = _AFFIXES.match(word)
    return core is not None and core.group(1) != word and core.group(1) in common_passwords()


def problem(password: str, login: str | None = None) -> str | None:
    """Why ``password`` is refused (French, for the form or the terminal), or None."""
    if len(password) < MIN_LENGTH:
        return f"Le mot de passe doit compter au moins {MIN_LENGTH} caractères."
    if len(password) > MAX_LENGTH:
        return f"Le mot de passe doit compter au plus {MAX_LENGTH} caractères."
    if not password.strip():
        return "Le mot de passe ne peut pas être fait que d'espaces."
    if login and password.strip().lower() == login.strip().lower():
        return "Le mot de passe doit être différent du login."
    if is_common(password):
        return (
            "Ce mot de passe figure dans les listes de mots de passe divulgués ou trop courants : "
            "choisissez-en un autre, par exemple une phrase de plusieurs mots."
        )
    return None


async def hash_password(password: str) -> str:
    async with _slots:
        return await asyncio.to_thread(_hasher.hash, password)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash("not-a-password: unknown login")


def _verify(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _dummy_hash(), password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def verify(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored``; ``stored=None`` (unknown login) does the same
    work and answers False."""
    async with _slots:
        return await asyncio.to_thread(_verify, stored, password)


def needs_rehash(stored: str) -> bool:
    return _hasher.check_needs_rehash(stored)
