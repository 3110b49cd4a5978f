"""Helpers for tests that need staff: make an account, sign in with a browser or with aiohttp.

await create_account(database_url, Role.ANALYST, "awa.analyste", "un mot de passe sûr")
await sign_in(page, stack.gateway, "awa.analyste", "un mot de passe sûr")
await follow_menu(page, "Traitements")          # opens « Menu » first where it is folded
async with await signed_in_session(stack.gateway, "awa.analyste", "…") as http:
    token = await form_token(http, stack.gateway + "/admin/…")   # for a POST
    await http.post(url, data={"csrf_token": token, ...})
"""

from __future__ import annotations

import html as html_text
import re
from pathlib import Path

import aiohttp
import asyncpg
import pyotp

from gateway.staff import accounts, passwords
from shared.identity import Role
from shared.migrations import migrate
from tests.support import signed_session

GATEWAY_SQL = Path(__file__).resolve().parents[2] / "gateway" / "sql"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
_SECRET = re.compile(r'<code id="secret">([^<]+)</code>')
# The TOTP secrets of the accounts enrolled by complete_second_factor, by login.
ENROLLED: dict[str, str] = {}
# One argon2 hash per password for the run: a hash costs 0.24 s of CPU here (on purpose), the
# tests give one password to many accounts, and a hash carries its own salt, so it verifies for
# any account that stores it.
_HASHES: dict[str, str] = {}


async def create_account(
    database_url: str,
    role: Role | str,
    login: str,
    password: str,
    body_id: str | None = None,
    display_name: str | None = None,
    email: str | None = None,
) -> accounts.Account:
    """An account in the gateway's schema, made as `milie users create` makes it (migrations
    applied first if the gateway has not started yet), with ``password`` already chosen — as if
    the agent had followed the first sign-in link: a shortcut of the tests only, which production
    code does not offer (tests/staff/test_first_sign_in.py goes through the link). No check of
    the body against intake; notify's directory is not told."""
    conn = await asyncpg.connect(database_url)
    try:
        await migrate(conn, "gateway", GATEWAY_SQL)
        await conn.execute("SET search_path TO gateway, public")
        if problem := passwords.problem(password, login):
            raise accounts.AccountRefused({"password": problem})
        account = await accounts.provision(
            conn,
            role=Role(role).value,
            login=login,
            email=email or agent_email(login),
            body_id=body_id,
            display_name=display_name,
        )
        if password not in _HASHES:
            _HASHES[password] = await passwords.hash_password(password)
        await accounts.set_password_hash(conn, account.id, _HASHES[password])
        found = await accounts.by_id(conn, account.id)
        assert found is not None
        return found
    finally:
        await conn.close()


def agent_email(login: str) -> str:
    """The address the tests give an agent: one per login."""
    return login.strip().lower().replace("@", ".") + "@agents.milie.ci"


async def sign_in(page, gateway_url: str, login: str, password: str) -> None:
    """Sign in through the real page (Playwright); fails if the dashboard does not show."""
    await page.goto(f"{gateway_url}/admin/connexion")
    await page.get_by_label("Login").fill(login)
    await page.get_by_label("Mot de passe").fill(password)
    # The answer's page, not the form still shown before the POST has been answered.
    async with page.expect_navigation():
        await page.get_by_role("button", name="Se connecter").click()
    if "/admin/connexion" in page.url:
        raise AssertionError(f"sign-in of {login} failed: {await page.inner_text('main')}")


MENU = "Menu de l'administration"


async def open_menu(page):
    """The back office's menu (a Playwright locator), opened first where a small screen folds
    it behind « Menu » (under 48em); on a wide screen it is in sight already."""
    menu = page.get_by_role("navigation", name=MENU)
    await menu.wait_for()
    fold, toggle = menu.locator("details.menu-fold"), menu.locator("summary")
    if await toggle.is_visible() and await fold.get_attribute("open") is None:
        await toggle.click()
        await fold.and_(page.locator("[open]")).wait_for()
    return menu


async def follow_menu(page, name: str) -> None:
    """Click the menu's link ``name`` as a user would (« Menu » first on a small screen)."""
    menu = await open_menu(page)
    await menu.get_by_role("link", name=name).click()


async def form_token(session: aiohttp.ClientSession, url: str) -> str:
    """GET a page with a form and return its CSRF token (the cookie lands in the session)."""
    async with session.get(url) as resp:
        html = await resp.text()
    match = _TOKEN.search(html)
    if match is None:
        raise AssertionError(f"no csrf_token on {url} (status {resp.status})")
    return match.group(1)


FORM_VERSION = re.compile(r'name="version" value="(\d+)"')


async def page_of(http: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    """(status, HTML unescaped) of a back-office page."""
    async with http.get(url) as resp:
        return resp.status, html_text.unescape(await resp.text())


async def post_form(
    http: aiohttp.ClientSession, url: str, page_url: str, data: dict, *, version: str | None = None
) -> tuple[int, str, str]:
    """POST to ``url`` a form of the page at ``page_url`` as the browser would (its token and
    the request's version, read there): (status, Location, HTML unescaped)."""
    token = await form_token(http, page_url)
    if version is None:
        _, page = await page_of(http, page_url)
        version = FORM_VERSION.search(page).group(1)
    form = {"csrf_token": token, "version": version, **data}
    async with http.post(url, data=form, allow_redirects=False) as resp:
        return resp.status, resp.headers.get("Location", ""), html_text.unescape(await resp.text())


def new_session(secure_origin: str | None = None, **headers: str) -> aiohttp.ClientSession:
    """An HTTP client that keeps cookies for 127.0.0.1 (aiohttp refuses IP cookies by default);
    ``secure_origin``: a gateway in production, whose Secure cookies go back over plain http."""
    jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=secure_origin)
    return signed_session(cookie_jar=jar, headers=headers)


async def signed_in_session(
    gateway_url: str,
    login: str,
    password: str,
    secure: bool = False,
    second_factor_at: str | None = None,
    **headers: str,
) -> aiohttp.ClientSession:
    """An aiohttp session signed in as ``login`` (the caller closes it: ``async with``);
    ``secure`` for a gateway in production (Secure cookies); ``second_factor_at``: the gateway
    the second factor is given to (another copy of it), ``gateway_url`` by default."""
    session = new_session(gateway_url if secure else None, **headers)
    try:
        location = await give_password(session, gateway_url, login, password)
        if location.startswith("/admin/double-authentification"):
            await complete_second_factor(
                session, (second_factor_at or gateway_url) + location, login
            )
    except BaseException:
        await session.close()
        raise
    return session


async def give_password(
    session: aiohttp.ClientSession, gateway_url: str, login: str, password: str
) -> str:
    """Sign in with the password on « Connexion »: where the gateway sends the agent next (the
    second factor's page, until it is given)."""
    token = await form_token(session, f"{gateway_url}/admin/connexion")
    async with session.post(
        f"{gateway_url}/admin/connexion",
        data={"csrf_token": token, "login": login, "password": password, "next": "/admin/"},
        allow_redirects=False,
    ) as resp:
        if resp.status != 303:
            raise AssertionError(f"sign-in of {login} refused: {resp.status} {await resp.text()}")
        return resp.headers["Location"]


async def complete_second_factor(
    session: aiohttp.ClientSession, page_url: str, login: str
) -> list[str]:
    """Give the second factor on its page: enrol (reading the key the page shows) or give the
    code of the secret enrolled before; the recovery codes shown at enrolment, else []."""
    async with session.get(page_url) as resp:
        page = await resp.text()
    shown = _SECRET.search(page)
    if shown:
        ENROLLED[login] = html_text.unescape(shown.group(1)).replace(" ", "")
    token = _TOKEN.search(page).group(1)
    code = pyotp.TOTP(ENROLLED[login]).now()
    async with session.post(
        page_url, data={"csrf_token": token, "code": code}, allow_redirects=False
    ) as resp:
        answer = await resp.text()
        if resp.status == 200 and "Vos codes de secours" in answer:
            return re.findall(r"<li><code>([a-z0-9-]+)</code></li>", answer)
        if resp.status != 303:
            raise AssertionError(f"second factor of {login} refused: {resp.status} {answer}")
    return []


def assert_private_answer(resp: aiohttp.ClientResponse, *, hsts: bool) -> None:
    """The headers of every answer with personal data: the gateway's security headers, not kept
    by a cache, HSTS in production."""
    from gateway.web.security_headers import HSTS, SECURITY_HEADERS

    for name, value in SECURITY_HEADERS.items():
        assert resp.headers.get(name) == value, (resp.url, name)
    assert resp.headers.get("Cache-Control") == "no-store", resp.url
    assert resp.headers.get("Strict-Transport-Security") == (HSTS if hsts else None), resp.url


_LINK = re.compile(r"https?://\S+/admin/premiere-connexion/[A-Za-z0-9_-]+")


async def sign_in_link(smtp_server, address: str, count: int = 1) -> str:
    """The first sign-in link of the ``count``-th email that reached ``address`` at the test's
    SMTP server (tests.conftest.SmtpInbox), taken from its text part."""
    messages = await smtp_server.wait_for(address, count)
    message = messages[count - 1]
    text = message.get_body(("plain",)).get_content()
    match = _LINK.search(text)
    if match is None:
        raise AssertionError(f"no sign-in link in the email to {address}: {text}")
    return match.group(0)


async def choose_password(page, link: str, password: str) -> None:
    """Follow a first sign-in link in the browser and choose ``password``: signed in after."""
    await page.goto(link)
    await page.get_by_role("heading", name="Choisissez votre mot de passe").wait_for()
    await page.get_by_label("Nouveau mot de passe").fill(password)
    await page.get_by_label("Confirmation du mot de passe").fill(password)
    async with page.expect_navigation():
        await page.get_by_role("button", name="Enregistrer mon mot de passe").click()
    if "/admin/premiere-connexion" in page.url:
        raise AssertionError(f"password refused: {await page.inner_text('main')}")


async def password_through_link(
    gateway_url: str, link: str, password: str
) -> tuple[int, aiohttp.ClientSession]:
    """Choose ``password`` through a first sign-in link over HTTP (at ``gateway_url``, whatever
    public address the link names): (status of the POST, the session, signed in when 303; the
    caller closes it)."""
    path = "/admin/premiere-connexion/" + link.rsplit("/", 1)[-1]
    session = new_session()
    try:
        async with session.get(gateway_url + path) as resp:
            html = await resp.text()
            if resp.status != 200:
                return resp.status, session
        match = _TOKEN.search(html)
        assert match is not None, html
        async with session.post(
            gateway_url + path,
            data={
                "csrf_token": match.group(1),
                "password": password,
                "password_confirmation": password,
            },
            allow_redirects=False,
        ) as resp:
            await resp.read()
            return resp.status, session
    except BaseException:
        await session.close()
        raise
