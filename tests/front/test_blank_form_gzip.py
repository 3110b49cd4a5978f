"""The blank form gzipped once around the CSRF token: each answer is one valid gzip stream
holding that browser's own token, the same page as without gzip."""

from __future__ import annotations

import gzip
import re
import zlib

import aiohttp

from gateway.web.compression import GzippedAround

FORM = "/soumettre/formulaire?nature=reclamation&organisme=ministere-budget"


def test_a_page_gzipped_around_a_hole_is_one_gzip_stream_of_the_filled_page():
    pieces = [b"<p>avant</p>", "é".encode() * 5000 + b"milieu", b"", b"fin" * 700]
    page = GzippedAround(pieces)
    for hole in (b"jeton-1", b"", b"x" * 300):
        packed = page.gzip(hole)
        assert gzip.decompress(packed) == hole.join(pieces) == page.plain(hole)
        reader = zlib.decompressobj(31)  # one member, nothing after it
        assert reader.decompress(packed) == hole.join(pieces)
        assert reader.eof and reader.unused_data == b""
    assert gzip.decompress(GzippedAround([b"seul"]).gzip(b"?")) == b"seul"
    assert len(page.gzip(b"jeton")) < page.size / 5


def _token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


async def test_the_blank_form_is_sent_gzipped_with_each_browsers_own_token(front):
    pages = []
    for _ in range(2):  # two browsers: the second one's page comes from the kept copy
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar, auto_decompress=False) as http:
            async with http.get(front + FORM, headers={"Accept-Encoding": "gzip"}) as resp:
                assert resp.status == 200
                assert resp.headers["Content-Encoding"] == "gzip"
                assert "Accept-Encoding" in resp.headers["Vary"]
                assert resp.headers["Cache-Control"] == "no-store"
                html = gzip.decompress(await resp.read()).decode()
            async with http.get(front + FORM, headers={"Accept-Encoding": "identity"}) as resp:
                assert "Content-Encoding" not in resp.headers
                plain = await resp.text()
            assert html == plain  # the same browser, the same token
            assert "Exprimez votre préoccupation" in html
            pages.append(html)
    assert _token(pages[0]) != _token(pages[1])
    assert pages[0].replace(_token(pages[0]), "") == pages[1].replace(_token(pages[1]), "")


def test_pages_of_every_size_gzip_to_what_they_were():
    """The window is fitted to the page: every size still reads back whole."""
    from gateway.web.compression import gzip_bytes

    for size in (0, 1, 511, 512, 513, 1024, 3000, 4096, 4097, 40_000, 70_000):
        body = (b"<p>Votre requ\xc3\xaate</p>" * (size // 20 + 1))[:size]
        assert gzip.decompress(gzip_bytes(body)) == body
