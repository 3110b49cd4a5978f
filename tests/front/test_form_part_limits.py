"""A crafted multipart form of many parts (issue 14): the gateway stops reading past the allowed
number of parts and of file parts, answers a French 413 page saying the limits, and calls intake
a few times at most — never once per part (counted by the signed calls intake recorded)."""

from __future__ import annotations

import html
import re

import aiohttp
import asyncpg

from gateway.citizen import uploads
from shared import attachments as files
from tests.front.conftest import PDF, PNG
from tests.support import signed_session

FORM = "/soumettre/formulaire"


async def _token(http: aiohttp.ClientSession, base: str) -> str:
    async with http.get(base + FORM + "?nature=reclamation&organisme=ministere-budget") as resp:
        return re.search(r'name="csrf_token" value="([^"]+)"', await resp.text()).group(1)


async def _intake_calls(database_url: str) -> tuple[int, int]:
    """Signed calls intake answered, and files it keeps in drafts."""
    conn = await asyncpg.connect(database_url)
    try:
        return (
            await conn.fetchval("SELECT count(*) FROM intake.seen_calls"),
            await conn.fetchval("SELECT count(*) FROM intake.draft_files"),
        )
    finally:
        await conn.close()


def _body(token: str, parts: list[tuple[str, str | None, bytes]]) -> bytes:
    """A multipart body written by hand: the token, then ``(name, filename, value)`` parts."""
    out = [f'--b\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'.encode()]
    for name, filename, value in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"\r\nContent-Type: application/octet-stream'
        out.append(f"--b\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + value + b"\r\n")
    out.append(b"--b--\r\n")
    return b"".join(out)


async def _post(http, base: str, body: bytes) -> tuple[int, str]:
    async with http.post(
        base + FORM, data=body, headers={"Content-Type": "multipart/form-data; boundary=b"}
    ) as resp:
        return resp.status, html.unescape(await resp.text())


LIMIT_TEXT = f"{uploads.MAX_FILE_PARTS} fichiers et {uploads.MAX_PARTS} parties au plus"


async def test_many_parts_stop_the_reading_with_a_413_page(front, database_url):
    async with signed_session(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        token = await _token(http, front)
        calls, kept = await _intake_calls(database_url)

        # Thousands of tiny text parts in a small body (read whole), then in a streamed one.
        for count, size in ((3000, 1), (20_000, 8)):
            parts = [(f"f{i}", None, b"x" * size) for i in range(count)]
            status, page = await _post(http, front, _body(token, parts))
            assert status == 413, page[:500]
            assert "Formulaire trop long" in page and LIMIT_TEXT in page
        assert await _intake_calls(database_url) == (calls, kept)

        # Hundreds of good files: the first three go to intake, reading stops at the limit.
        parts = [("attachments", f"p{i}.png", PNG) for i in range(500)]
        status, page = await _post(http, front, _body(token, parts))
        assert status == 413 and LIMIT_TEXT in page
        now_calls, now_kept = await _intake_calls(database_url)
        # A draft created, then one call per file kept: never one per part.
        assert now_calls - calls <= 1 + files.MAX_FILES
        assert now_kept - kept <= files.MAX_FILES

        # Hundreds of empty file parts (no file chosen) are parts too.
        calls = now_calls
        status, page = await _post(http, front, _body(token, [("attachments", "", b"")] * 400))
        assert status == 413 and LIMIT_TEXT in page
        assert (await _intake_calls(database_url))[0] == calls


async def test_files_past_the_allowed_number_are_not_sent_to_intake(front, database_url):
    async with signed_session(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        token = await _token(http, front)
        calls, _ = await _intake_calls(database_url)
        names = [f"piece-{i}.pdf" for i in range(uploads.MAX_FILE_PARTS)]
        parts = [
            ("body_id", None, b"ministere-budget"),
            ("nature", None, b"reclamation"),
            ("message", None, "Le guichet ferme tôt.".encode()),
        ]
        parts += [("attachments", name, PDF) for name in names]
        status, page = await _post(http, front, _body(token, parts))
        assert status in (200, 422)  # the form shown again, with what was refused
        for name in names[files.MAX_FILES :]:
            assert files.problem(files.TOO_MANY, name) in page
        now_calls, kept = await _intake_calls(database_url)
        assert kept == files.MAX_FILES
        # The draft created, the files kept, the values saved: a handful, whatever the count.
        assert now_calls - calls <= files.MAX_FILES + 3
