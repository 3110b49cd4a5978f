"""The form's body read as a stream by the gateway, with hostile input: no token or a file before
the token, a body over the limit (declared or not), too many files, a broken multipart, a file
part declaring over 5 Mo; and a citizen's connection that stalls or drops in a file."""

from __future__ import annotations

import asyncio
import logging
import re

import aiohttp
import asyncpg

from gateway.citizen import uploads
from gateway.web import form_parts
from shared import attachments as files
from tests.front.conftest import PDF, PNG, big_pdf, running_front
from tests.support import RunningApp, eventually, signed_session

FORM = "/soumettre/formulaire"


async def _token(http: aiohttp.ClientSession, base: str) -> str:
    async with http.get(base + FORM + "?nature=reclamation&organisme=ministere-budget") as resp:
        assert resp.status == 200
        html = await resp.text()
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _form(token: str | None, parts: list[tuple[str, bytes, str | None]]) -> aiohttp.FormData:
    """A multipart form: the token first (unless None), then ``(name, value, filename)``."""
    form = aiohttp.FormData()
    if token is not None:
        form.add_field("csrf_token", token)
    for name, value, filename in parts:
        if filename is None:
            form.add_field(name, value.decode())
        else:
            form.add_field(name, value, filename=filename, content_type="application/pdf")
    return form


FIELDS = [
    ("body_id", b"ministere-budget", None),
    ("nature", b"reclamation", None),
    ("message", b"Le guichet ferme avant l'heure.", None),
    ("phone", b"0707123456", None),
    ("email", b"awa@example.ci", None),
    ("terms_accepted", b"on", None),
]


async def _declared_too_large(base: str, token: str) -> tuple[int, str]:
    """Headers only, announcing a body over the limit (a raw socket: clients fix the length)."""
    host, port = base.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(
            (
                f"POST {FORM} HTTP/1.1\r\nHost: {host}\r\n"
                "Content-Type: multipart/form-data; boundary=b\r\n"
                f"Content-Length: {uploads.MAX_BODY + 1}\r\n"
                f"Cookie: milie_csrf={token}\r\n\r\n"
            ).encode()
        )
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ")[1])
        length = int(re.search(rb"Content-Length: (\d+)", head).group(1))
        return status, (await reader.readexactly(length)).decode()
    finally:
        writer.close()


async def _counts(database_url: str) -> tuple[int, int]:
    conn = await asyncpg.connect(database_url)
    try:
        return (
            await conn.fetchval("SELECT count(*) FROM intake.drafts"),
            await conn.fetchval("SELECT count(*) FROM intake.draft_files"),
        )
    finally:
        await conn.close()


async def test_hostile_bodies_are_refused_before_anything_is_kept(front, database_url):
    async with signed_session(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        token = await _token(http, front)

        # No token, a wrong one, or a file before the token: 403, nothing kept.
        async with http.post(front + FORM, data=_form(None, [*FIELDS])) as resp:
            assert resp.status == 403
        async with http.post(front + FORM, data=_form("x.y", [*FIELDS])) as resp:
            assert resp.status == 403
        early = aiohttp.FormData()
        early.add_field("attachments", PDF, filename="a.pdf", content_type="application/pdf")
        early.add_field("csrf_token", token)
        async with http.post(front + FORM, data=early) as resp:
            assert resp.status == 403
        assert await _counts(database_url) == (0, 0)

        # Declared too large: answered before the body is sent at all.
        status, text = await _declared_too_large(front, token)
        assert status == 413 and "Envoi trop volumineux" in text

        # Not declared (chunked), every file under 5 Mo, but the whole over the limit: refused
        # once the stream passes it, and the file cut short there is not kept.
        four_mo = 4 * 1024 * 1024

        async def endless():
            yield (
                f'--b\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}'
            ).encode()
            for i in range(4):  # 16 Mio: past MAX_BODY in the fourth file
                yield (
                    f'\r\n--b\r\nContent-Disposition: form-data; name="attachments"; '
                    f'filename="scan{i}.pdf"\r\nContent-Type: application/pdf\r\n\r\n'
                ).encode()
                yield b"%PDF-" + b"0" * (1024 * 1024 - 5)
                for _ in range(3):
                    yield b"0" * 1024 * 1024
            yield b"\r\n--b--\r\n"

        # The page is sent as soon as the limit is passed, then the connection is closed (after
        # aiohttp's lingering read of what the client still sends): the client gets the page.
        async with http.post(
            front + FORM,
            data=endless(),
            headers={"Content-Type": "multipart/form-data; boundary=b"},
        ) as resp:
            text = await resp.text()
            assert resp.status == 413, text
            assert "Envoi trop volumineux" in text and resp.headers["Connection"] == "close"
        conn = await asyncpg.connect(database_url)
        try:
            sizes = [r["size"] for r in await conn.fetch("SELECT size FROM intake.draft_files")]
        finally:
            await conn.close()
        assert len(sizes) <= files.MAX_FILES and set(sizes) <= {four_mo}

        # A broken multipart body.
        async with http.post(
            front + FORM,
            data=b"--b\r\nnonsense",
            headers={"Content-Type": "multipart/form-data; boundary=b"},
        ) as resp:
            assert resp.status in (400, 403)


async def test_more_than_three_files_keeps_three_and_says_so(front, database_url):
    async with signed_session(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        token = await _token(http, front)
        parts = [*FIELDS] + [
            ("attachments", data, name)
            for name, data in (("a.pdf", PDF), ("b.png", PNG), ("c.pdf", PDF), ("d.png", PNG))
        ]
        async with http.post(front + FORM, data=_form(token, parts)) as resp:
            html = await resp.text()
        assert resp.status == 422
        assert files.problem(files.TOO_MANY, "d.png").replace("'", "&#39;") in html
        for name in ("a.pdf", "b.png", "c.pdf"):
            assert f"Retirer « {name} »" in html
        assert await _counts(database_url) == (1, 3)

        # An urlencoded post (no file possible) is refused clearly, not crashed on.
        async with http.post(
            front + FORM, data={"csrf_token": token, "message": "Bonjour"}
        ) as resp:
            assert resp.status == 415


def _raw_form(token: str, file_name: str, file_headers: str = "") -> tuple[bytes, bytes]:
    """The form's body as a browser sends it, cut around one file: what comes before the file's
    bytes (the token, the fields the form puts first, the file part's headers) and what comes
    after them (« Vos coordonnées »)."""

    def field(name: str, value: str) -> str:
        return f'--b\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'

    before = (
        field("csrf_token", token)
        + "".join(field(name, value.decode()) for name, value, _ in FIELDS[:3])
        + f'--b\r\nContent-Disposition: form-data; name="attachments"; filename="{file_name}"'
        f"\r\nContent-Type: application/pdf\r\n{file_headers}\r\n"
    )
    after = (
        "\r\n" + "".join(field(name, value.decode()) for name, value, _ in FIELDS[3:]) + "--b--\r\n"
    )
    return before.encode(), after.encode()


async def _answer(reader: asyncio.StreamReader) -> tuple[int, str]:
    head = await reader.readuntil(b"\r\n\r\n")
    length = int(re.search(rb"Content-Length: (\d+)", head).group(1))
    return int(head.split(b" ")[1]), (await reader.readexactly(length)).decode()


async def _send_then(base: str, token: str, sent: bytes, declared: int, then: str):
    """Send ``sent`` of a body declared ``declared`` bytes long, then stall (and wait for the
    answer) or drop the connection."""
    host, port = base.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(
            (
                f"POST {FORM} HTTP/1.1\r\nHost: {host}\r\n"
                "Content-Type: multipart/form-data; boundary=b\r\n"
                f"Content-Length: {declared}\r\nCookie: milie_csrf={token}\r\n\r\n"
            ).encode()
            + sent
        )
        await writer.drain()
        if then == "stall":
            return await _answer(reader)
    finally:
        if then == "drop":
            writer.transport.abort()
        else:
            writer.close()


async def test_a_stalled_or_dropped_upload_is_the_citizens_connection_not_the_service(
    settings_for, database_url, caplog
):
    caplog.set_level(logging.INFO, logger="gateway.citizen.uploads")
    async with running_front(settings_for, upload_idle_timeout=1.0) as base:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            token = await _token(http, base)
        before, after = _raw_form(token, "scan.pdf")
        # Half of a 2 Mo scan, then nothing more: the form comes back with what was typed
        # before the file and why beside the file field, not « Service indisponible ».
        half = big_pdf(1024 * 1024)
        declared = len(before) + 2 * len(half) + len(after)
        status, html = await _send_then(base, token, before + half, declared, then="stall")
        assert status == 422, html
        assert "Service momentanément indisponible" not in html
        message = files.problem(files.INTERRUPTED, "scan.pdf").replace("'", "&#39;")
        assert re.search(rf'<p class="error" id="[^"]*attachments[^"]*">[^<]*{message}', html)
        assert "Le guichet ferme avant l&#39;heure." in html  # the message typed is kept
        assert (await _counts(database_url))[1] == 0  # nothing kept of the cut file

        # Stalled before a field could be read whole: a page saying so, with the way back.
        cut = before.index(b"Le guichet")
        status, html = await _send_then(base, token, before[:cut], declared, then="stall")
        assert status == 400 and "L&#39;envoi du formulaire s&#39;est interrompu" in html
        assert "Service momentanément indisponible" not in html

        # The connection dropped in the middle of the file: nothing kept, and the gateway's
        # logs put it on the citizen's connection, not on intake.
        caplog.clear()
        await _send_then(base, token, before + half, declared, then="drop")

        async def classified():
            return any("interrupted by the citizen" in r.getMessage() for r in caplog.records)

        await eventually(classified)
        assert (await _counts(database_url))[1] == 0
        assert not any("intake took nothing" in r.getMessage() for r in caplog.records)


async def test_a_file_declaring_over_5_mo_is_refused_without_reaching_intake(front, database_url):
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        token = await _token(http, front)
        size = files.MAX_BYTES + 1
        before, after = _raw_form(token, "gros.pdf", f"Content-Length: {size}\r\n")
        async with http.post(
            front + FORM,
            data=before + big_pdf(size) + after,
            headers={"Content-Type": "multipart/form-data; boundary=b"},
        ) as resp:
            html = await resp.text()
    assert resp.status == 422
    message = files.problem(files.TOO_LARGE, "gros.pdf")
    assert re.search(rf'<p class="error" id="[^"]*attachments[^"]*">[^<]*{message}', html)
    assert 'value="awa@example.ci"' in html  # typed after the file, kept
    assert (await _counts(database_url))[1] == 0


async def _pump(reader, writer, stall_on: bytes | None = None) -> None:
    """Copy bytes one way; with ``stall_on``, stop reading for good once it passes (the other
    side's writes then pile up and block, as with a process that hangs)."""
    try:
        while data := await reader.read(65536):
            if stall_on is not None and stall_on in data:
                await asyncio.Event().wait()
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def test_intake_that_stops_taking_a_file_is_the_service_being_down(
    settings_for, database_url, caplog
):
    """The other side of the idle timer: the citizen sends, intake stops reading the file."""
    from gateway.app import create_app as gateway_app
    from gateway.settings import GatewaySettings
    from services.intake.app import create_app as intake_app
    from services.intake.settings import IntakeSettings

    tasks: set[asyncio.Task] = set()

    async def relay(client_reader, client_writer):
        upstream_reader, upstream_writer = await asyncio.open_connection(host, port)
        for pump in (
            _pump(client_reader, upstream_writer, stall_on=b"/files?filename="),
            _pump(upstream_reader, client_writer),
        ):
            tasks.add(asyncio.create_task(pump))

    async with RunningApp(intake_app(settings_for(IntakeSettings, db_pool_min=1))) as intake:
        host, port = intake.url.removeprefix("http://").split(":")
        relay_server = await asyncio.start_server(relay, "127.0.0.1", 0)
        relay_url = f"http://127.0.0.1:{relay_server.sockets[0].getsockname()[1]}"
        settings = settings_for(
            GatewaySettings, db_pool_min=1, intake_url=relay_url, service_timeout=2.0
        )
        try:
            async with RunningApp(gateway_app(settings)) as gateway:
                async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
                    token = await _token(http, gateway.url)
                    parts = [*FIELDS, ("attachments", big_pdf(files.MAX_BYTES), "scan.pdf")]
                    async with http.post(gateway.url + FORM, data=_form(token, parts)) as resp:
                        html = await resp.text()
        finally:
            for task in tasks:
                task.cancel()
            relay_server.close()
    assert resp.status == 503 and "Service momentanément indisponible" in html
    assert any("intake took nothing of the file" in r.getMessage() for r in caplog.records)
    assert (await _counts(database_url))[1] == 0


async def test_a_small_form_read_whole_keeps_the_streamed_forms_answers(settings_for, database_url):
    """A body of ``form_parts.SMALL_BODY`` or less is read whole and split in memory: a small
    file in it is kept in the draft, and a citizen whose connection stalls in the middle of it
    gets the same answers as with a larger body (the typed values back and why beside the file
    field, or « interrompu » before the fields)."""
    async with running_front(settings_for, upload_idle_timeout=1.0) as base:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            token = await _token(http, base)
        before, after = _raw_form(token, "scan.pdf")
        small = big_pdf(8 * 1024)
        declared = len(before) + len(small) + len(after)
        assert declared <= form_parts.SMALL_BODY

        # Whole: the file goes to the draft, and the form on to the confirmation.
        host, port = base.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            writer.write(
                (
                    f"POST {FORM} HTTP/1.1\r\nHost: {host}\r\n"
                    "Content-Type: multipart/form-data; boundary=b\r\n"
                    f"Content-Length: {declared}\r\nCookie: milie_csrf={token}\r\n\r\n"
                ).encode()
                + before
                + small
                + after
            )
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
        finally:
            writer.close()
        assert int(head.split(b" ")[1]) == 303, head
        assert b"/soumettre/confirmer?brouillon=" in head
        assert await _counts(database_url) == (1, 1)

        # Stalled in the file: the typed values back, why beside the file field, nothing kept.
        status, html = await _send_then(base, token, before + small[:4096], declared, "stall")
        assert status == 422, html
        message = files.problem(files.INTERRUPTED, "scan.pdf").replace("'", "&#39;")
        assert re.search(rf'<p class="error" id="[^"]*attachments[^"]*">[^<]*{message}', html)
        assert "Le guichet ferme avant l&#39;heure." in html
        assert (await _counts(database_url))[1] == 1

        # Stalled in the message: the fields before it are whole in memory, so the form comes
        # back with them and says so (a streamed body gives the 400 page there: its reader
        # holds back the end of what came until it sees more).
        cut = before.index(b"Le guichet")
        status, html = await _send_then(base, token, before[:cut], declared, then="stall")
        assert status == 422 and "L&#39;envoi du formulaire s&#39;est interrompu" in html
        assert "Service momentanément indisponible" not in html
        # Stalled before the body named the body: the page saying so, with the way back.
        status, html = await _send_then(base, token, before[:40], declared, then="stall")
        assert status == 400 and "L&#39;envoi du formulaire s&#39;est interrompu" in html
