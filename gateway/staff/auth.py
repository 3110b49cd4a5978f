"""Who is signed in: the session middleware, the session cookie, the sign-in and sign-out.

Back-office pages read the signed-in staff member with :func:`current_staff`; who may open which
page is the back office's (``gateway.backoffice.access.staff_required``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

import asyncpg
from aiohttp import web

from gateway.staff import accounts, audit, passwords, sessions, sign_in_links, throttle
from gateway.staff.sessions import Staff
from gateway.web.client_address import client_address
from gateway.web.keys import GATEWAY_SETTINGS
from shared import french
from shared.db import run_in_transaction
from shared.service import POOL

log = logging.getLogger(__name__)

# The signed-in staff member, or None; handlers read it through current_staff().
STAFF = web.RequestKey("staff", object)
SESSION_ENDED = web.RequestKey("staff_session_ended", bool)  # a cookie came, its session is over
# Signed in by password, the second factor not yet given: no back-office page but that one.
PENDING_STAFF = web.RequestKey("staff_pending_second_factor", object)
SECOND_FACTOR_PATH = "/admin/double-authentification"
SIGN_IN_PATH = "/admin/connexion"
HOME_PATH = "/admin/"
WRONG_CREDENTIALS = "Login ou mot de passe incorrect."
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def current_staff(request: web.Request) -> Staff | None:
    return request.get(STAFF)


def pending_staff(request: web.Request) -> Staff | None:
    """The agent who gave the password but not yet the second factor, in this session."""
    return request.get(PENDING_STAFF)


def secure_cookies(request: web.Request) -> bool:
    return request.app[GATEWAY_SETTINGS].env not in ("development", "test")


def _cookie(request: web.Request) -> tuple[str, str]:
    """The session cookie's (name, path): ``__Host-`` prefixed outside development and tests."""
    if secure_cookies(request):
        return sessions.HOST_COOKIE, "/"
    return sessions.COOKIE, sessions.COOKIE_PATH


def session_binding(request: web.Request) -> str:
    """What a staff form's CSRF token is bound to: the live session (signed in, or pending its
    second factor) that ``load_staff`` found; "" without one."""
    staff = request.get(STAFF) or request.get(PENDING_STAFF)
    return staff.session_hash.hex() if staff is not None else ""


def ended_session_binding(request: web.Request) -> str:
    """What :func:`session_binding` said while the session the cookie names was live, once it
    has ended ("" otherwise): a form posted just after the end is still recognised as this
    browser's own (its text is given back, nothing is done with it)."""
    token = session_token(request)
    return sessions.hash_of(token).hex() if token and request.get(SESSION_ENDED) else ""


def session_token(request: web.Request) -> str:
    """The session cookie's value as the browser sent it ("" for none)."""
    return request.cookies.get(_cookie(request)[0], "")


def set_session_cookie(request: web.Request, response: web.StreamResponse, token: str) -> None:
    name, path = _cookie(request)
    response.set_cookie(
        name,
        token,
        path=path,
        httponly=True,
        # Lax: a link from an agent's webmail opens the page signed in, while a form posted from
        # another site arrives without the session (and without the CSRF cookie, which is Strict).
        samesite="Lax",
        secure=secure_cookies(request),
    )


def clear_session_cookie(request: web.Request, response: web.StreamResponse) -> None:
    name, path = _cookie(request)
    response.del_cookie(name, path=path)


@web.middleware
async def load_staff(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Put the signed-in staff member (or None) in ``request[STAFF]``; drop a dead cookie."""
    request[STAFF] = None
    request[PENDING_STAFF] = None
    token = session_token(request)
    ended = False
    if token:
        settings = request.app[GATEWAY_SETTINGS]
        async with request.app[POOL].acquire(timeout=settings.db_acquire_timeout) as conn:
            staff = await sessions.load(conn, token, settings.staff_idle_timeout_seconds)
        ended = staff is None
        request[SESSION_ENDED] = ended
        if staff is not None and settings.second_factor_required and not staff.second_factor_done:
            request[PENDING_STAFF] = staff
        else:
            request[STAFF] = staff
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        if ended:
            clear_session_cookie(request, exc)
        raise
    if ended and _cookie(request)[0] not in response.cookies:
        clear_session_cookie(request, response)
    return response


async def no_store_for_staff(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: pages with a staff member's data, streamed exports included,
    must not be kept by a shared computer's cache."""
    if request.get(STAFF) is not None or request.get(SESSION_ENDED):
        response.headers.setdefault("Cache-Control", "no-store")


def safe_next(target: str | None) -> str:
    """A place in the back office to go back to; anything else (another site) → home."""
    if not target or not target.startswith("/admin") or "\\" in target or "//" in target:
        return HOME_PATH
    # A control character (CR/LF: %0d%0a in the address) cannot go into a Location header:
    # aiohttp would refuse to write it and the agent would get no answer at all.
    if any(char < " " or char == "\x7f" for char in target):
        return HOME_PATH
    return target


def session_ended(request: web.Request) -> bool:
    """A session cookie came, and its session is over (idle, too old, signed out elsewhere)."""
    return bool(request.get(SESSION_ENDED)) and pending_staff(request) is None


def sign_in_url(request: web.Request) -> str:
    """Where a page sends who is not signed in: the sign-in form, or the second factor's page
    for a session that gave only the password; back to this page afterwards."""
    target = request.path_qs if request.method == "GET" else HOME_PATH
    if pending_staff(request) is not None:
        return f"{SECOND_FACTOR_PATH}?next={quote(target, safe='/')}"
    url = f"{SIGN_IN_PATH}?next={quote(target, safe='/')}"
    if request.get(SESSION_ENDED):
        url += "&fin=1"
    return url


@dataclass(frozen=True)
class SignInResult:
    token: str | None  # the new session's cookie value when signed in
    error: str | None  # French message otherwise
    account: accounts.Account | None = None
    throttled: bool = False  # refused without checking the password: too many failures


def _policy(request: web.Request) -> throttle.Policy:
    s = request.app[GATEWAY_SETTINGS]
    return throttle.Policy(
        free_failures=s.sign_in_free_failures,
        max_wait_seconds=s.sign_in_max_wait_seconds,
        address_free_failures=s.sign_in_address_free_failures,
        account_slow_after=s.sign_in_account_slow_after,
        account_max_delay_seconds=s.sign_in_account_max_delay_seconds,
    )


def _retry_message(until: datetime) -> str:
    minutes = throttle.minutes_until(until, datetime.now(UTC))
    clock = french.spoken_clock(until)
    return (
        "Trop de tentatives de connexion. Par sécurité, réessayez après "
        f"{clock} (dans {minutes} minute{'s' if minutes > 1 else ''} environ)."
    )


async def sign_in(request: web.Request, login: str, password: str) -> SignInResult:
    """Check a login and password (throttled, audited) and open a new session."""
    settings = request.app[GATEWAY_SETTINGS]
    pool = request.app[POOL]
    address = client_address(request)
    policy = _policy(request)
    login = accounts.normalize_login(login)[:64]
    async with pool.acquire(timeout=settings.db_acquire_timeout) as conn:
        verdict = await throttle.before_attempt(conn, login, address, policy)
        if verdict.blocked_until is not None:
            await audit.record(
                conn, "sign_in_refused", actor_login=login or "(vide)", address=address
            )
            return SignInResult(None, _retry_message(verdict.blocked_until), throttled=True)
        account = await accounts.by_login(conn, login) if login else None
    if verdict.delay_seconds:
        await asyncio.sleep(verdict.delay_seconds)
    # Unknown login: the same verification against a dummy hash, the same answer.
    right = await passwords.verify(account.password_hash if account else None, password)
    if not (right and account is not None and account.active):
        if account is None:
            why = "login inconnu"
        elif not right:
            why = "mot de passe incorrect"
        else:
            why = "compte désactivé"

        async def failed(conn):
            await audit.record(
                conn,
                "sign_in_failed",
                actor_login=login or "(vide)",
                actor_id=account.id if account else None,
                address=address,
                detail=why,
            )

        await run_in_transaction(pool, failed)
        return SignInResult(None, WRONG_CREDENTIALS)
    new_hash = (
        await passwords.hash_password(password)
        if passwords.needs_rehash(account.password_hash)
        else None
    )
    old_token = session_token(request)

    async def succeeded(conn) -> str:
        await throttle.succeeded(conn, login, address, policy)
        if old_token:
            # A new id at each sign-in: a session id planted before sign-in is worth nothing.
            await sessions.close(conn, old_token)
        token = await sessions.open_session(
            conn, account.id, address, settings.staff_absolute_timeout_seconds
        )
        await accounts.mark_signed_in(conn, account.id)
        await audit.record(
            conn, "sign_in", actor_login=account.login, actor_id=account.id, address=address
        )
        if new_hash:
            await accounts.set_password_hash(conn, account.id, new_hash)
            await audit.record(
                conn,
                "password_rehashed",
                actor_login=account.login,
                actor_id=account.id,
                address=address,
                target=account.login,
            )
        await forget_ended(conn, settings.staff_idle_timeout_seconds)
        return token

    token = await run_in_transaction(pool, succeeded)
    return SignInResult(token, None, account)


async def forget_ended(conn: asyncpg.Connection, idle_seconds: float) -> None:
    """Forget the sessions nobody can use any more, the failed sign-ins past their window and
    the first sign-in links long dead: at each sign-in, and on the gateway's clock (days without
    one, or a run of failed tries from many addresses, would keep them meanwhile; they hold the
    staff's addresses)."""
    await sessions.purge_ended(conn, idle_seconds)
    await throttle.purge_old(conn)
    await sign_in_links.forget_dead(conn)


async def sign_out(request: web.Request) -> None:
    staff = current_staff(request)
    token = session_token(request)

    async def work(conn):
        if token:
            await sessions.close(conn, token)
        if staff is not None:
            await audit.record(
                conn,
                "sign_out",
                actor_login=staff.login,
                actor_id=staff.account_id,
                address=client_address(request),
            )

    await run_in_transaction(request.app[POOL], work)
