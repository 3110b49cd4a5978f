"""What travels: pages gzipped when the browser accepts it (never the exports), the stylesheets
under versioned names kept a year, the favicon. Read off the wire: aiohttp's client is told not
to decompress, so the bytes counted are the bytes sent."""

from __future__ import annotations

import gzip
import re

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from gateway.web import compression, static_files
from gateway.web.security_headers import SECURITY_HEADERS
from shared.identity import Role
from tests.staff.helpers import create_account, signed_in_session
from tests.support import signed_session

FORM = "/soumettre/formulaire?nature=reclamation&organisme=ministere-budget"
GZIP = {"Accept-Encoding": "gzip, deflate, br"}
PASSWORD = "correct horse battery staple"
VERSIONED = re.compile(r'<link rel="stylesheet" href="(/static/milie\.([0-9a-f]{12})\.css)">')
ICON = re.compile(r'<link rel="icon" href="(/static/favicon\.[0-9a-f]{12}\.svg)" type="image/svg')


def raw_session() -> aiohttp.ClientSession:
    """A client that sends no Accept-Encoding of its own and never decompresses."""
    return signed_session(auto_decompress=False, skip_auto_headers=("Accept-Encoding",))


async def fetch(http, url: str, **headers: str) -> tuple[aiohttp.ClientResponse, bytes]:
    async with http.get(url, headers=headers, allow_redirects=False) as resp:
        return resp, await resp.read()


def sent_whole(resp: aiohttp.ClientResponse, body: bytes) -> None:
    """Content-Length, when given, is what came."""
    if "Content-Length" in resp.headers:
        assert int(resp.headers["Content-Length"]) == len(body), resp.url


async def test_the_form_is_gzipped_for_a_browser_that_accepts_it_and_only_then(front):
    async with raw_session() as http:
        plain_resp, plain = await fetch(http, front + FORM)
        zipped_resp, zipped = await fetch(http, front + FORM, **GZIP)
        refused_resp, refused = await fetch(http, front + FORM, **{"Accept-Encoding": "gzip;q=0"})

    assert plain_resp.status == zipped_resp.status == refused_resp.status == 200
    assert "Content-Encoding" not in plain_resp.headers
    assert "Content-Encoding" not in refused_resp.headers
    assert zipped_resp.headers["Content-Encoding"] == "gzip"
    for resp, body in ((plain_resp, plain), (zipped_resp, zipped), (refused_resp, refused)):
        sent_whole(resp, body)
        assert "Accept-Encoding" in resp.headers["Vary"]
        for name, value in SECURITY_HEADERS.items():
            assert resp.headers[name] == value, name
    html = gzip.decompress(zipped).decode()
    assert "Exprimez votre préoccupation" in html
    assert html.count("csrf_token") == plain.decode().count("csrf_token")
    # The figure of the issue: 21 KB of HTML, under 6 KB on the wire.
    print(f"\nform page: {len(plain)} bytes, {len(zipped)} gzipped")
    assert len(zipped) < len(plain) / 3


async def test_the_pages_name_versioned_stylesheets_kept_a_year(front):
    async with raw_session() as http:
        _, page = await fetch(http, front + "/")
        [(href, digits)] = VERSIONED.findall(page.decode())
        resp, css = await fetch(http, front + href)
        assert resp.status == 200 and resp.content_type == "text/css"
        assert resp.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert "Content-Encoding" not in resp.headers
        sent_whole(resp, css)

        zipped_resp, zipped = await fetch(http, front + href, **GZIP)
        assert zipped_resp.headers["Content-Encoding"] == "gzip"
        assert zipped_resp.headers["Vary"] == "Accept-Encoding"
        assert gzip.decompress(zipped) == css
        sent_whole(zipped_resp, zipped)

        # The old name still answers, the same rules, without the year's promise.
        old_resp, old = await fetch(http, front + "/static/milie.css")
        assert old_resp.status == 200 and old == css
        assert "immutable" not in old_resp.headers.get("Cache-Control", "")
        again, _ = await fetch(
            http, front + "/static/milie.css", **{"If-None-Match": old_resp.headers["ETag"]}
        )
        assert again.status == 304
        # A page cached before a deployment names last version's digits: sent to today's.
        stale = "0" * 12 if digits != "0" * 12 else "1" * 12
        moved, _ = await fetch(http, front + f"/static/milie.{stale}.css")
        assert moved.status == 302 and moved.headers["Location"] == href
        missing, _ = await fetch(http, front + "/static/rien.000000000000.css")
        assert missing.status == 404

        # The back office's sign-in page: both of its stylesheets versioned.
        _, sign_in = await fetch(http, front + "/admin/connexion")
        hrefs = re.findall(r'rel="stylesheet" href="([^"]+)"', sign_in.decode())
        assert [re.sub(r"\.[0-9a-f]{12}\.", ".", h) for h in hrefs] == [
            "/static/milie.css",
            "/static/backoffice.css",
        ]
        for h in hrefs:
            resp, _ = await fetch(http, front + h)
            assert resp.headers["Cache-Control"] == "public, max-age=31536000, immutable", h


async def test_the_favicon_answers_where_browsers_look_for_it(front):
    async with raw_session() as http:
        _, page = await fetch(http, front + "/suivre")
        [svg_href] = ICON.findall(page.decode())
        resp, svg = await fetch(http, front + svg_href)
        assert resp.status == 200 and resp.content_type == "image/svg+xml"
        assert svg.startswith(b"<svg") and resp.headers["Cache-Control"].endswith("immutable")
        resp, icon = await fetch(http, front + "/favicon.ico")
        assert resp.status == 200 and resp.content_type in (
            "image/vnd.microsoft.icon",
            "image/x-icon",
        )
        assert icon[:4] == b"\x00\x00\x01\x00"  # an ICO file's header
        assert resp.headers["Cache-Control"] == "public, max-age=86400"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"


async def test_exports_are_never_gzipped(front, database_url):
    await create_account(database_url, Role.ADMINISTRATOR, "admin.kouassi", PASSWORD)
    async with await signed_in_session(front, "admin.kouassi", PASSWORD) as http:
        for path in ("/admin/comptes/export.csv", "/admin/comptes/export.xlsx"):
            async with http.get(front + path, headers=GZIP, auto_decompress=False) as resp:
                body = await resp.read()
                assert resp.status == 200, path
                assert "Content-Encoding" not in resp.headers, path
                assert resp.headers["Content-Disposition"].startswith("attachment"), path
                sent_whole(resp, body)
        # The back office's own pages are gzipped like the citizen's.
        async with http.get(front + "/admin/comptes", headers=GZIP, auto_decompress=False) as resp:
            assert resp.headers["Content-Encoding"] == "gzip"
            assert resp.headers["Cache-Control"] == "no-store"


async def test_what_the_middleware_leaves_alone():
    """Small answers, downloads, streamed answers and binary types keep their bytes as they are."""
    big = "<p>Miliê</p>" * 200

    async def page(request):
        return web.Response(text=big, content_type="text/html")

    async def small(request):
        return web.Response(text="<p>ok</p>", content_type="text/html")

    async def download(request):
        return web.Response(
            text=big, content_type="text/html", headers={"Content-Disposition": "attachment"}
        )

    async def streamed(request):
        out = web.StreamResponse(headers={"Content-Type": "text/html"})
        await out.prepare(request)
        await out.write(big.encode())
        return out

    async def binary(request):
        return web.Response(body=bytes(4096), content_type="application/pdf")

    app = web.Application(middlewares=[compression.gzip_pages])
    for path, handler in (
        ("/page", page),
        ("/small", small),
        ("/download", download),
        ("/streamed", streamed),
        ("/binary", binary),
    ):
        app.router.add_get(path, handler)
    async with TestClient(TestServer(app), auto_decompress=False) as client:
        resp = await client.get("/page", headers=GZIP)
        body = await resp.read()
        assert resp.headers["Content-Encoding"] == "gzip"
        assert gzip.decompress(body).decode() == big
        sent_whole(resp, body)
        head = await client.head("/page", headers=GZIP)
        assert head.headers["Content-Encoding"] == "gzip"
        for path in ("/small", "/download", "/streamed", "/binary"):
            resp = await client.get(path, headers=GZIP)
            assert "Content-Encoding" not in resp.headers, path
            assert len(await resp.read()) in (9, len(big.encode()), 4096), path


def test_accept_encoding_is_read_as_browsers_write_it():
    from aiohttp.test_utils import make_mocked_request

    def accepts(value: str | None) -> bool:
        headers = {} if value is None else {"Accept-Encoding": value}
        return compression.accepts_gzip(make_mocked_request("GET", "/", headers=headers))

    assert accepts("gzip, deflate, br, zstd")
    assert accepts("GZIP")
    assert accepts("br;q=1.0, gzip;q=0.8, *;q=0.1")
    assert accepts("*")
    assert accepts("x-gzip")
    assert not accepts(None)
    assert not accepts("")
    assert not accepts("identity")
    assert not accepts("br, deflate")
    assert not accepts("gzip;q=0")
    assert not accepts("gzip;q=0.0, *")
    assert not accepts("*;q=0")


def test_a_static_files_versioned_name_follows_its_content(tmp_path):
    (tmp_path / "milie.css").write_text("body { color: #123; }")
    first = static_files.add_routes(web.Application(), tmp_path)("milie.css")
    (tmp_path / "milie.css").write_text("body { color: #456; }")
    second = static_files.add_routes(web.Application(), tmp_path)("milie.css")
    assert re.fullmatch(r"/static/milie\.[0-9a-f]{12}\.css", first)
    assert first != second


async def test_chromium_gets_the_form_gzipped_and_keeps_the_stylesheet(front, browser):
    """What a phone's browser transfers: the form page gzipped, the versioned stylesheet once,
    then taken from its cache without asking the gateway again."""
    from tests.front.pages import new_page

    context, page = await new_page(browser)
    try:
        await page.goto(front + FORM)
        sizes = """() => {
            const nav = performance.getEntriesByType('navigation')[0];
            const css = performance.getEntriesByType('resource')
                .filter(r => r.name.includes('/static/milie.'))
                .map(r => ({name: r.name, transfer: r.transferSize, body: r.encodedBodySize,
                            whole: r.decodedBodySize}));
            return {page: {transfer: nav.transferSize, body: nav.encodedBodySize,
                           whole: nav.decodedBodySize}, css};
        }"""
        first = await page.evaluate(sizes)
        [css] = first["css"]
        assert VERSIONED.search(await page.content())
        assert first["page"]["body"] < first["page"]["whole"] / 3, first  # gzipped
        assert css["body"] < css["whole"] / 2, first
        await page.goto(front + "/suivre")
        again = await page.evaluate(sizes)
        [cached] = again["css"]
        assert cached["name"] == css["name"] and cached["transfer"] == 0, again
        print(f"\nChromium, form page: {first}\nthen « Suivre »: {again}")
    finally:
        await context.close()
