"""The administrators' lists: accounts and the audit log — search, sorting, pages, CSV export."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import datetime

import asyncpg
import openpyxl

from gateway.staff import accounts, passwords
from gateway.web import xlsx
from shared.identity import Role
from tests.staff.helpers import (
    assert_private_answer,
    create_account,
    new_session,
    signed_in_session,
)
from tests.staff.test_sign_in import _attempt
from tests.support import PRODUCTION_SECRETS

PASSWORD = "correct horse battery staple"


def _logins(html: str) -> list[str]:
    return re.findall(r'<td><a href="/admin/comptes/[0-9a-f-]+(?:\?[^"]*)?">([^<]+)</a></td>', html)


def _csv(body: bytes) -> list[list[str]]:
    assert body.startswith("\ufeff".encode()), "Excel needs the byte-order mark"
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))


async def test_the_account_list_searches_sorts_pages_and_exports(gateway_alone, database_url):
    gw = await gateway_alone()
    await create_account(database_url, Role.ADMINISTRATOR, "admin.kouassi", PASSWORD)
    # Many accounts at once, with one hash (argon2 is slow on purpose).
    conn = await asyncpg.connect(database_url, server_settings={"search_path": "gateway"})
    try:
        some_hash = await passwords.hash_password(PASSWORD)
        for n in range(30):
            await accounts.create(
                conn,
                login=f"analyste.{n:02d}",
                display_name=f"Agent {n}",
                email=f"analyste.{n:02d}@osep.gouv.ci",
                role=Role.ANALYST,
                body_id=None,
                password_hash=some_hash,
            )
        # A name a spreadsheet would run as a formula.
        await accounts.create(
            conn,
            login="operateur.x",
            display_name='=HYPERLINK("http://evil.example","clic")',
            email=None,  # an account made before issue 13: no address yet
            role=Role.OPERATOR,
            body_id=None,
            password_hash=some_hash,
        )
    finally:
        await conn.close()
    async with await signed_in_session(gw.url, "admin.kouassi", PASSWORD) as http:
        async with http.get(f"{gw.url}/admin/comptes") as resp:
            first = await resp.text()
        assert _logins(first)[:3] == ["admin.kouassi", "analyste.00", "analyste.01"]
        assert len(_logins(first)) == 25
        assert "Affichage 1 à 25 sur 32 lignes" in first
        assert 'href="/admin/comptes?page=2" rel="next"' in first

        async with http.get(f"{gw.url}/admin/comptes?page=2") as resp:
            second = await resp.text()
        assert _logins(second) == [f"analyste.{n}" for n in range(24, 30)] + ["operateur.x"]
        # Past the last page (the list shrank since): said so, with the way back.
        async with http.get(f"{gw.url}/admin/comptes?page=9") as resp:
            past = await resp.text()
        assert "Aucune ligne sur cette page : la liste compte 32 lignes." in past
        assert "Affichage" not in past
        assert '<a href="/admin/comptes?page=2">Aller à la dernière page (2)</a>' in past

        async with http.get(f"{gw.url}/admin/comptes?tri=login&ordre=desc") as resp:
            html = await resp.text()
        assert _logins(html)[:2] == ["operateur.x", "analyste.29"]
        assert 'aria-sort="descending"' in html

        async with http.get(f"{gw.url}/admin/comptes?q=ANALYSTE.1&filtre-role=analyst") as resp:
            found = _logins(await resp.text())
        assert found == [f"analyste.1{n}" for n in range(10)]
        # Words are words, not patterns.
        async with http.get(f"{gw.url}/admin/comptes?q=%25") as resp:
            assert _logins(await resp.text()) == []
        # Nonsense parameters fall back instead of failing.
        async with http.get(
            f"{gw.url}/admin/comptes?tri=password_hash&page=-4&filtre-role=root"
        ) as r:
            assert r.status == 200

        async with http.get(f"{gw.url}/admin/comptes/export.csv?filtre-role=operator") as resp:
            assert resp.headers["Content-Type"] == "text/csv; charset=utf-8"
            assert "attachment" in resp.headers["Content-Disposition"]
            rows = _csv(await resp.read())
        async with http.get(f"{gw.url}/admin/comptes/export.xlsx?filtre-role=operator") as resp:
            assert resp.headers["Content-Type"] == xlsx.CONTENT_TYPE
            data = await resp.read()
            sheet = _sheet_text(data)
    assert rows[0] == [
        "Login",
        "Nom",
        "Adresse électronique",
        "Rôle",
        "Organisme",
        "État",
        "Créé le",
        "Dernière connexion",
    ]
    # The creation date is a date cell (Abidjan's time), the same moment the CSV writes.
    book = openpyxl.load_workbook(io.BytesIO(data)).active
    created = book["G2"]
    assert isinstance(created.value, datetime) and created.number_format == "dd/mm/yyyy hh:mm"
    assert created.value.strftime("%d/%m/%Y %H:%M") == rows[1][6]
    assert book["H2"].value is None and book.freeze_panes == "A2"
    # The spreadsheet holds the same rows; a formula stays text (inline strings never run).
    assert "operateur.x" in sheet and "HYPERLINK" in sheet and sheet.count("<row ") == 2
    assert rows[1][:6] == [
        "operateur.x",
        '\'=HYPERLINK("http://evil.example","clic")',
        "",  # made before issue 13: no address
        "Opérateur du centre d'appels",
        "",
        "Actif",
    ]
    assert len(rows) == 2


async def test_the_audit_log_lists_sign_ins_and_failures_with_their_address(
    gateway_alone, database_url
):
    gw = await gateway_alone(trusted_proxies=["127.0.0.1/32"])
    await create_account(database_url, Role.ADMINISTRATOR, "admin.kouassi", PASSWORD)
    await create_account(database_url, Role.ANALYST, "awa.kone", PASSWORD)
    async with new_session(**{"X-Forwarded-For": "198.51.100.4"}) as http:
        assert (await _attempt(http, gw.url, "awa.kone", "a wrong password!")).status == 401
        assert (await _attempt(http, gw.url, "-@=cmd|' /C calc'!A0", "whatever")).status == 401
        assert (await _attempt(http, gw.url, "awa.kone", PASSWORD)).status == 303
    async with await signed_in_session(gw.url, "admin.kouassi", PASSWORD) as admin:
        async with admin.get(f"{gw.url}/admin/journal?q=198.51.100.4") as resp:
            html = await resp.text()
        assert html.count("<td>198.51.100.4</td>") == 3
        assert "Échec de connexion" in html and "Connexion" in html
        async with admin.get(f"{gw.url}/admin/journal?action=sign_in_failed") as resp:
            html = await resp.text()
        assert "Affichage 1 à 2 sur 2 lignes" in html
        async with admin.get(
            f"{gw.url}/admin/journal/export.csv?action=sign_in_failed&tri=date&ordre=asc"
        ) as resp:
            rows = _csv(await resp.read())
        async with admin.get(f"{gw.url}/admin/journal/export.xlsx?action=sign_in_failed") as resp:
            sheet = _sheet_text(await resp.read())
        assert sheet.count("Échec de connexion") == 2 and "mot de passe incorrect" in sheet
        # A period in the past holds nothing.
        async with admin.get(f"{gw.url}/admin/journal?du=2019-01-01&au=2019-12-31") as resp:
            assert "Pas d'enregistrement" in await resp.text()
    assert rows[0] == [
        "Date (UTC)",
        "Login",
        "Action",
        "Compte visé",
        "Adresse",
        "Détail",
        "Requête",
        "Origine",
    ]
    assert [(r[1], r[2], r[4], r[5]) for r in rows[1:]] == [
        ("awa.kone", "Échec de connexion", "198.51.100.4", "mot de passe incorrect"),
        ("'-@=cmd|' /c calc'!a0", "Échec de connexion", "198.51.100.4", "login inconnu"),
    ]
    conn = await asyncpg.connect(database_url)
    try:
        passwords_logged = await conn.fetchval(
            "SELECT count(*) FROM gateway.audit_log WHERE detail LIKE '%wrong password%'"
        )
    finally:
        await conn.close()
    assert passwords_logged == 0


def _sheet_text(data: bytes) -> str:
    """The text of a workbook's only sheet."""
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        return book.read("xl/worksheets/sheet1.xml").decode()


async def test_exports_in_production_carry_the_headers_of_private_pages(
    gateway_alone, database_url
):
    """Streamed answers (CSV, .xlsx) are prepared before a middleware sees them: the headers
    come from on_response_prepare, HSTS included in production."""
    from gateway.web.security_headers import SECURITY_HEADERS

    csp = SECURITY_HEADERS["Content-Security-Policy"]
    for directive in ("frame-ancestors 'none'", "base-uri 'none'", "object-src 'none'"):
        assert directive in csp
    gw = await gateway_alone(env="production", **PRODUCTION_SECRETS)
    await create_account(database_url, Role.ADMINISTRATOR, "admin.kouassi", PASSWORD)
    async with await signed_in_session(gw.url, "admin.kouassi", PASSWORD, secure=True) as http:
        for path in (
            "/admin/comptes",
            "/admin/comptes/export.csv",
            "/admin/comptes/export.xlsx",
            "/admin/journal/export.csv",
            "/admin/journal/export.xlsx",
        ):
            async with http.get(gw.url + path) as resp:
                assert resp.status == 200, path
                await resp.read()
                assert_private_answer(resp, hsts=True)
    async with new_session() as anonymous, anonymous.get(gw.url + "/") as resp:
        assert resp.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
        assert "Cache-Control" not in resp.headers  # public pages may be cached
    # Malformed HTTP, refused by aiohttp's parser before any route: HSTS all the same.
    from tests.front.test_pages import MALFORMED, malformed_answer

    status, headers, _ = await malformed_answer(gw.port, MALFORMED)
    assert status == 400
    assert headers.get("strict-transport-security") == "max-age=31536000; includeSubDomains"


async def test_the_bodies_lists_say_so_when_treatment_does_not_answer(gateway_alone, database_url):
    gw = await gateway_alone()  # treatment (and every service) on the discard port
    await create_account(database_url, Role.FOCAL_POINT, "pf.budget", PASSWORD, "ministere-budget")
    async with await signed_in_session(gw.url, "pf.budget", PASSWORD) as http:
        for path in (
            "/admin/traitements/en-cours",
            "/admin/traitements/retraitement/export.csv",
            "/admin/traitements/insatisfaits/export.xlsx",
            "/admin/pf/consultations?liste=satisfaits",
        ):
            async with http.get(gw.url + path) as resp:
                assert resp.status == 503, path
                assert "Service momentanément indisponible" in await resp.text()
