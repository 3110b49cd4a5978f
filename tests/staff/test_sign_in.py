"""Sign-in, sessions and their end, throttling, CSRF: the gateway alone, over real HTTP and a real
PostgreSQL (the back office's pages in a browser are in test_browser.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import aiohttp
import asyncpg
from yarl import URL

from shared.identity import Role
from tests.staff.helpers import create_account, form_token, new_session, signed_in_session
from tests.support import PRODUCTION_SECRETS, eventually, signed_session

PASSWORD = "correct horse battery staple"
COOKIE = "milie_staff"


@dataclass
class Answer:
    status: int
    text: str
    location: str
    set_cookie: list[str]


async def _attempt(
    http: aiohttp.ClientSession, base: str, login: str, password: str, **headers: str
) -> Answer:
    token = await form_token(http, f"{base}/admin/connexion")
    async with http.post(
        f"{base}/admin/connexion",
        data={"csrf_token": token, "login": login, "password": password, "next": "/admin/"},
        headers=headers,
        allow_redirects=False,
    ) as resp:
        return Answer(
            resp.status,
            await resp.text(),
            resp.headers.get("Location", ""),
            resp.headers.getall("Set-Cookie", []),
        )


def _session_cookie(http: aiohttp.ClientSession, base: str) -> str | None:
    cookie = http.cookie_jar.filter_cookies(URL(f"{base}/admin/")).get(COOKIE)
    return cookie.value if cookie else None


async def _get_with_cookie(base: str, path: str, value: str) -> aiohttp.ClientResponse:
    """A request carrying only this session cookie (an old one, a stolen one)."""
    async with (
        signed_session(cookie_jar=aiohttp.DummyCookieJar()) as raw,
        raw.get(
            f"{base}{path}", headers={"Cookie": f"{COOKIE}={value}"}, allow_redirects=False
        ) as resp,
    ):
        await resp.read()
        return resp


async def _audit(database_url: str, action: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetch(
            "SELECT * FROM gateway.audit_log WHERE action = $1 ORDER BY id", action
        )
    finally:
        await conn.close()


async def test_a_next_holding_cr_lf_goes_to_the_home_page(gateway_alone, database_url):
    """Once aiohttp raised writing the Location header and the agent got no answer at all."""
    gw = await gateway_alone()
    await create_account(database_url, Role.ANALYST, "awa.kone", PASSWORD)
    injected = "/admin/%0d%0aSet-Cookie:%20planted=1"
    async with new_session() as http:
        token = await form_token(http, f"{gw.url}/admin/connexion?next={injected}")
        async with http.post(
            f"{gw.url}/admin/connexion",
            data={
                "csrf_token": token,
                "login": "awa.kone",
                "password": PASSWORD,
                "next": "/admin/\r\nSet-Cookie: planted=1",
            },
            allow_redirects=False,
        ) as resp:
            assert resp.status == 303
            assert resp.headers["Location"] == "/admin/"
            assert not [c for c in resp.headers.getall("Set-Cookie") if "planted" in c]
        # Signed in already: the sign-in page sends on to ``next`` at once.
        async with http.get(
            f"{gw.url}/admin/connexion?next={injected}", allow_redirects=False
        ) as resp:
            assert resp.status == 303
            assert resp.headers["Location"] == "/admin/"
            assert "planted" not in resp.headers.get("Set-Cookie", "")


async def test_a_wrong_password_is_answered_like_an_unknown_login(gateway_alone, database_url):
    gw = await gateway_alone()
    await create_account(database_url, Role.ANALYST, "awa.kone", PASSWORD)
    async with new_session() as http:
        wrong = await _attempt(http, gw.url, "awa.kone", "not the password at all")
        unknown = await _attempt(http, gw.url, "nobody.here", "not the password at all")
        assert _session_cookie(http, gw.url) is None
    assert wrong.status == unknown.status == 401
    assert "Login ou mot de passe incorrect." in wrong.text
    # The agent who forgot the password is told where a new one comes from.
    assert "Mot de passe oublié ?" in wrong.text
    assert "un administrateur de Miliê vous envoie un nouveau lien de connexion" in wrong.text
    # The same page, but for the login typed back into its field.
    assert wrong.text.replace("awa.kone", "L") == unknown.text.replace("nobody.here", "L")
    failures = await _audit(database_url, "sign_in_failed")
    assert [(r["actor_login"], r["detail"]) for r in failures] == [
        ("awa.kone", "mot de passe incorrect"),
        ("nobody.here", "login inconnu"),
    ]
    assert {r["address"] for r in failures} == {"127.0.0.1"}


async def test_empty_fields_are_named_next_to_them(gateway_alone):
    gw = await gateway_alone()
    async with new_session() as http:
        answer = await _attempt(http, gw.url, "", "")
    assert answer.status == 422
    assert 'id="err-login"' in answer.text and "Saisissez votre login." in answer.text
    assert re.search(r'aria-describedby="hint-password err-password"', answer.text)


async def test_repeated_failures_make_the_pair_wait_but_staff_elsewhere_get_in(
    gateway_alone, database_url
):
    gw = await gateway_alone(trusted_proxies=["127.0.0.1/32"], sign_in_free_failures=3)
    await create_account(database_url, Role.ANALYST, "awa.kone", PASSWORD)
    attacker = {"X-Forwarded-For": "203.0.113.9"}
    async with new_session() as http:
        for _ in range(4):  # three free failures, the fourth is checked and sets the wait
            answer = await _attempt(http, gw.url, "awa.kone", "guess guess guess", **attacker)
            assert answer.status == 401
        refused = await _attempt(http, gw.url, "awa.kone", PASSWORD, **attacker)
    assert refused.status == 429
    assert "Trop de tentatives de connexion" in refused.text
    assert re.search(r"réessayez après \d\d h \d\d \(dans \d+ minutes? environ\)", refused.text)
    # The real agent, at their own desk: no lockout.
    async with new_session() as http:
        answer = await _attempt(
            http, gw.url, "awa.kone", PASSWORD, **{"X-Forwarded-For": "198.51.100.20"}
        )
    assert answer.status == 303
    failed = await _audit(database_url, "sign_in_failed")
    assert [r["address"] for r in failed] == ["203.0.113.9"] * 4
    assert [r["address"] for r in await _audit(database_url, "sign_in_refused")] == ["203.0.113.9"]
    assert [r["address"] for r in await _audit(database_url, "sign_in")] == ["198.51.100.20"]


async def test_an_address_guessing_many_logins_is_made_to_wait(gateway_alone, database_url):
    gw = await gateway_alone(
        trusted_proxies=["127.0.0.1/32"], sign_in_address_free_failures=4, sign_in_free_failures=50
    )
    await create_account(database_url, Role.ANALYST, "awa.kone", PASSWORD)
    spray = {"X-Forwarded-For": "192.0.2.77"}
    async with new_session() as http:
        for n in range(5):
            answer = await _attempt(http, gw.url, f"agent{n}", "password password", **spray)
            assert answer.status == 401
        answer = await _attempt(http, gw.url, "awa.kone", PASSWORD, **spray)
        assert answer.status == 429
        # A spoofed header from an untrusted peer would be ignored; here the proxy is trusted,
        # and another client behind it is not held back.
        answer = await _attempt(
            http, gw.url, "awa.kone", PASSWORD, **{"X-Forwarded-For": "192.0.2.78"}
        )
        assert answer.status == 303


async def test_sign_in_gives_a_new_session_id_and_ignores_a_planted_one(
    gateway_alone, database_url
):
    gw = await gateway_alone()
    await create_account(database_url, Role.ANALYST, "awa.kone", PASSWORD)
    planted = "planted-by-someone-else-0123456789abcdefghij"
    async with new_session() as http:
        http.cookie_jar.update_cookies({COOKIE: planted}, URL(f"{gw.url}/admin/"))
        first = await _attempt(http, gw.url, "awa.kone", PASSWORD)
        assert first.status == 303 and first.location == "/admin/"
        one = _session_cookie(http, gw.url)
        second = await _attempt(http, gw.url, "awa.kone", PASSWORD)
        two = _session_cookie(http, gw.url)
    assert one and two and len({planted, one, two}) == 3
    (set_cookie,) = [c for c in first.set_cookie if c.startswith(f"{COOKIE}=")]
    assert "HttpOnly" in set_cookie and "SameSite=Lax" in set_cookie
    assert "Path=/admin" in set_cookie and "Secure" not in set_cookie  # MILIE_ENV=test
    assert second.status == 303
    assert (await _get_with_cookie(gw.url, "/admin/", two)).status == 200
    # The session replaced at the second sign-in is over.
    old = await _get_with_cookie(gw.url, "/admin/", one)
    assert old.status == 303 and old.headers["Location"].startswith("/admin/connexion")
    planted_answer = await _get_with_cookie(gw.url, "/admin/", planted)
    assert planted_answer.status == 303


async def test_cookies_are_secure_in_production(gateway_alone, database_url):
    gw = await gateway_alone(env="production", **PRODUCTION_SECRETS)
    await create_account(database_url, Role.ANALYST, "awa.kone", PASSWORD)
    async with signed_session(cookie_jar=aiohttp.DummyCookieJar()) as raw:
        async with raw.get(f"{gw.url}/admin/connexion") as resp:
            html = await resp.text()
            csrf_cookie = resp.cookies["milie_csrf"].value
        token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
        async with raw.post(
            f"{gw.url}/admin/connexion",
            data={"csrf_token": token, "login": "awa.kone", "password": PASSWORD},
            headers={"Cookie": f"milie_csrf={csrf_cookie}"},
            allow_redirects=False,
        ) as resp:
            assert resp.status == 303
            (set_cookie,) = [
                c for c in resp.headers.getall("Set-Cookie") if c.startswith("__Host-milie_staff=")
            ]
    # __Host-: Secure, the whole site, no Domain (the browser refuses it otherwise).
    assert "Secure" in set_cookie and "HttpOnly" in set_cookie and "Path=/;" in set_cookie
    assert "Domain" not in set_cookie


async def test_signing_out_ends_the_session_at_once(gateway_alone, database_url):
    gw = await gateway_alone()
    await create_account(database_url, Role.ANALYST, "awa.kone", PASSWORD)
    async with await signed_in_session(gw.url, "awa.kone", PASSWORD) as http:
        cookie = _session_cookie(http, gw.url)
        token = await form_token(http, f"{gw.url}/admin/")
        async with http.get(f"{gw.url}/admin/deconnexion", allow_redirects=False) as resp:
            assert resp.status == 405  # no state change over GET
        assert (await _get_with_cookie(gw.url, "/admin/", cookie)).status == 200
        async with http.post(
            f"{gw.url}/admin/deconnexion", data={"csrf_token": token}, allow_redirects=False
        ) as resp:
            assert resp.status == 303
            assert resp.headers["Location"] == "/admin/connexion?sortie=1"
        assert _session_cookie(http, gw.url) is None
    old = await _get_with_cookie(gw.url, "/admin/", cookie)
    assert old.status == 303 and old.headers["Location"].startswith("/admin/connexion")
    assert [r["actor_login"] for r in await _audit(database_url, "sign_out")] == ["awa.kone"]


async def test_disabling_an_account_ends_its_sessions_at_once(gateway_alone, database_url):
    gw = await gateway_alone()
    await create_account(database_url, Role.ADMINISTRATOR, "admin.kouassi", PASSWORD)
    analyst = await create_account(database_url, Role.ANALYST, "awa.kone", PASSWORD)
    async with (
        await signed_in_session(gw.url, "admin.kouassi", PASSWORD) as admin,
        await signed_in_session(gw.url, "awa.kone", PASSWORD) as agent,
    ):
        async with agent.get(f"{gw.url}/admin/", allow_redirects=False) as resp:
            assert resp.status == 200
        page = f"{gw.url}/admin/comptes/{analyst.id}"
        token = await form_token(admin, page)
        async with admin.post(
            f"{page}/desactiver",
            data={"csrf_token": token, "confirm": "oui"},
            allow_redirects=False,
        ) as resp:
            assert resp.status == 303
        async with agent.get(f"{gw.url}/admin/", allow_redirects=False) as resp:
            assert resp.status == 303
            assert resp.headers["Location"] == "/admin/connexion?next=/admin/&fin=1"
        async with agent.get(f"{gw.url}{resp.headers['Location']}") as resp:
            assert "Votre session a pris fin" in await resp.text()
        again = await _attempt(agent, gw.url, "awa.kone", PASSWORD)
        assert again.status == 401 and "Login ou mot de passe incorrect." in again.text
        async with admin.post(
            f"{page}/activer", data={"csrf_token": token}, allow_redirects=False
        ) as resp:
            assert resp.status == 303
        assert (await _attempt(agent, gw.url, "awa.kone", PASSWORD)).status == 303
    (disabled,) = await _audit(database_url, "account_disabled")
    assert (disabled["actor_login"], disabled["target"]) == ("admin.kouassi", "awa.kone")
    assert disabled["detail"] == "1 session(s) fermée(s)"


async def test_a_session_ends_after_the_idle_timeout(gateway_alone, database_url):
    gw = await gateway_alone(staff_idle_timeout_seconds=1)
    await create_account(database_url, Role.ANALYST, "awa.kone", PASSWORD)
    async with await signed_in_session(gw.url, "awa.kone", PASSWORD) as http:
        async with http.get(f"{gw.url}/admin/aide", allow_redirects=False) as resp:
            assert resp.status == 200
        conn = await asyncpg.connect(database_url)
        try:
            # Wait, without touching the session, until the database's clock says it is idle.
            await eventually(
                lambda: conn.fetchval(
                    """SELECT bool_and(last_seen_at < now() - interval '1 second')
                       FROM gateway.staff_sessions"""
                )
            )
        finally:
            await conn.close()
        async with http.get(f"{gw.url}/admin/aide", allow_redirects=False) as resp:
            assert resp.status == 303
            assert resp.headers["Location"] == "/admin/connexion?next=/admin/aide&fin=1"


async def test_a_session_ends_after_the_absolute_timeout_even_when_in_use(
    gateway_alone, database_url
):
    gw = await gateway_alone(staff_absolute_timeout_seconds=3600)
    await create_account(database_url, Role.ANALYST, "awa.kone", PASSWORD)
    conn = await asyncpg.connect(database_url, server_settings={"search_path": "gateway"})
    try:
        async with await signed_in_session(gw.url, "awa.kone", PASSWORD) as http:
            session = "SELECT created_at, expires_at, last_seen_at FROM staff_sessions"
            signed_in = await conn.fetchrow(session)
            # The end is fixed at sign-in: the absolute timeout after it.
            assert signed_in["expires_at"] - signed_in["created_at"] == timedelta(hours=1)
            # In use: every request answers and refreshes the idle clock, not the end.
            for _ in range(2):
                async with http.get(f"{gw.url}/admin/", allow_redirects=False) as resp:
                    assert resp.status == 200
            used = await conn.fetchrow(session)
            assert used["last_seen_at"] > signed_in["last_seen_at"]
            assert used["expires_at"] == signed_in["expires_at"]

            # The hour passes (moved, not waited for) while the session was used a moment ago,
            # far inside the idle timeout: the next request is refused all the same.
            await conn.execute("UPDATE staff_sessions SET expires_at = now()")
            async with http.get(f"{gw.url}/admin/", allow_redirects=False) as resp:
                assert resp.status == 303
                assert resp.headers["Location"] == "/admin/connexion?next=/admin/&fin=1"
            assert _session_cookie(http, gw.url) is None
            async with http.get(f"{gw.url}/admin/connexion?next=/admin/&fin=1") as resp:
                assert "Votre session a pris fin." in await resp.text()
    finally:
        await conn.close()


async def test_a_post_without_its_csrf_token_is_refused(gateway_alone, database_url):
    gw = await gateway_alone()
    await create_account(database_url, Role.ADMINISTRATOR, "admin.kouassi", PASSWORD)
    async with await signed_in_session(gw.url, "admin.kouassi", PASSWORD) as http:
        form = {"login": "new.agent", "role": "analyst", "email": "new.agent@osep.gouv.ci"}
        for path, data in (
            ("/admin/comptes/nouveau", form),
            ("/admin/deconnexion", {}),
            ("/admin/connexion", {"login": "admin.kouassi", "password": PASSWORD}),
        ):
            async with http.post(f"{gw.url}{path}", data=data, allow_redirects=False) as resp:
                assert resp.status == 403, path
            forged = {**data, "csrf_token": "abc.def"}
            async with http.post(f"{gw.url}{path}", data=forged, allow_redirects=False) as resp:
                assert resp.status == 403, path
        # Nothing happened: still signed in, no account made.
        async with http.get(f"{gw.url}/admin/comptes?q=new.agent") as resp:
            assert resp.status == 200
            assert "Pas d'enregistrement" in await resp.text()


async def test_a_new_account_without_a_valid_email_is_refused_in_french(
    gateway_alone, database_url
):
    gw = await gateway_alone()
    await create_account(database_url, Role.ADMINISTRATOR, "admin.kouassi", PASSWORD)
    async with await signed_in_session(gw.url, "admin.kouassi", PASSWORD) as http:
        token = await form_token(http, f"{gw.url}/admin/comptes/nouveau")
        async with http.post(
            f"{gw.url}/admin/comptes/nouveau",
            data={
                "csrf_token": token,
                "login": "Awa.Kone",
                "display_name": "Awa KONÉ",
                "role": "analyst",
                "email": "awa.kone@@osep",
            },
        ) as resp:
            html = await resp.text()
            assert resp.status == 422
    assert "Saisissez une adresse électronique valide" in html
    assert 'aria-describedby="hint-email err-email"' in html
    assert 'value="Awa.Kone"' in html and 'value="Awa KONÉ"' in html  # typed values kept
    assert 'type="password"' not in html  # no password passed by hand any more


async def test_parallel_guesses_cannot_slip_past_the_limit_and_ipv6_counts_by_its_64(
    gateway_alone, database_url
):
    """Forty guesses sent at once from one IPv6 /64 (each from its own address in it): the
    counting holds the counters' rows, so only the allowance and the try that crosses it have
    their password checked; the others are refused at once. The agent elsewhere gets in."""
    import asyncio

    gw = await gateway_alone(trusted_proxies=["127.0.0.1/32"], sign_in_free_failures=3)
    await create_account(database_url, Role.ANALYST, "awa.kone", PASSWORD)

    async def guess(n: int) -> int:
        async with new_session() as http:
            answer = await _attempt(
                http,
                gw.url,
                "awa.kone",
                "guess guess guess",
                **{"X-Forwarded-For": f"2001:db8:5:7::{n + 1:x}"},
            )
            return answer.status

    statuses = await asyncio.gather(*(guess(n) for n in range(40)))
    assert statuses.count(401) == 4, statuses  # three free, the fourth sets the wait
    assert statuses.count(429) == 36
    checked = await _audit(database_url, "sign_in_failed")
    assert {r["address"] for r in checked} <= {f"2001:db8:5:7::{n + 1:x}" for n in range(40)}
    async with new_session() as http:
        answer = await _attempt(
            http, gw.url, "awa.kone", PASSWORD, **{"X-Forwarded-For": "2001:db8:99::1"}
        )
    assert answer.status == 303


async def test_a_form_token_from_before_the_sign_in_or_another_session_is_refused(
    gateway_alone, database_url
):
    """Staff forms' CSRF tokens are bound to the session: renewed at sign-in, worthless in
    another session even with its cookie copied."""
    gw = await gateway_alone()
    await create_account(database_url, Role.ANALYST, "awa.kone", PASSWORD)
    async with new_session() as http:
        before = await form_token(http, f"{gw.url}/admin/connexion")
        async with http.post(
            f"{gw.url}/admin/connexion",
            data={"csrf_token": before, "login": "awa.kone", "password": PASSWORD},
            allow_redirects=False,
        ) as resp:
            assert resp.status == 303
        # The cookie still holds the token of before the sign-in: refused now.
        async with http.post(
            f"{gw.url}/admin/deconnexion", data={"csrf_token": before}, allow_redirects=False
        ) as resp:
            assert resp.status == 403
        after = await form_token(http, f"{gw.url}/admin/")
        assert after != before
        async with await signed_in_session(gw.url, "awa.kone", PASSWORD) as other:
            theirs = await form_token(other, f"{gw.url}/admin/")
        ours = _session_cookie(http, gw.url)
        async with (
            signed_session(cookie_jar=aiohttp.DummyCookieJar()) as raw,
            raw.post(
                f"{gw.url}/admin/deconnexion",
                data={"csrf_token": theirs},
                headers={"Cookie": f"milie_csrf={theirs}; {COOKIE}={ours}"},
                allow_redirects=False,
            ) as resp,
        ):
            assert resp.status == 403
        async with http.post(
            f"{gw.url}/admin/deconnexion", data={"csrf_token": after}, allow_redirects=False
        ) as resp:
            assert resp.status == 303
