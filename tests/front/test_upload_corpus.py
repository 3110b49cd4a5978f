"""The upload corpus (issue 14): files built here with pikepdf and Pillow, sent through intake's
real upload path (``POST /drafts/{id}/files``) and, for some, through the citizen's form page.

Refused, each with its reason: a PDF with JavaScript (in ``/OpenAction``, in the names tree, in
a form field's ``/AA``), with a launch action, with an embedded file (names tree and file
attachment annotation), an unreadable PDF, a GIF/HTML polyglot, an SVG, a renamed executable, an
empty file, 5 Mo + 1 byte, names holding ``../`` or CR/LF, an image of too many pixels.
Accepted: a good PDF, JPEG and PNG — the images kept as re-encoded, without their metadata or
what was hidden after them.
"""

from __future__ import annotations

import html
import io
import re

import aiohttp
import asyncpg
import pikepdf
from PIL import Image

from shared import attachments as files
from tests.front.conftest import big_pdf, image_bytes, pdf_bytes, with_javascript
from tests.support import signed_session

HEADERS = {"X-Draft-Owner": "o" * 32}


def _js_names_tree(pdf: pikepdf.Pdf) -> None:
    script = pdf.make_indirect(
        pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pdf.make_stream(b"this.print();"))
    )
    pdf.Root.Names = pikepdf.Dictionary(
        JavaScript=pikepdf.Dictionary(Names=pikepdf.Array([pikepdf.String("x"), script]))
    )


def _js_field_action(pdf: pikepdf.Pdf) -> None:
    # Hidden in a widget's additional actions, with an unusual key order and no /S first.
    widget = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Annot,
            Subtype=pikepdf.Name.Widget,
            Rect=[0, 0, 10, 10],
            AA=pikepdf.Dictionary(K=pikepdf.Dictionary(JS=pikepdf.String("1"))),
        )
    )
    pdf.pages[0].Annots = pdf.make_indirect(pikepdf.Array([widget]))


def _launch(pdf: pikepdf.Pdf) -> None:
    link = pikepdf.Dictionary(
        Type=pikepdf.Name.Annot,
        Subtype=pikepdf.Name.Link,
        Rect=[0, 0, 100, 100],
        A=pikepdf.Dictionary(S=pikepdf.Name.Launch, F=pikepdf.String("cmd.exe")),
    )
    pdf.pages[0].Annots = pdf.make_indirect(pikepdf.Array([link]))


def _embedded(pdf: pikepdf.Pdf) -> None:
    pdf.attachments["facture.exe"] = pikepdf.AttachedFileSpec(pdf, b"MZ\x90\x00 not a bill")


def _attachment_annotation(pdf: pikepdf.Pdf) -> None:
    spec = pikepdf.AttachedFileSpec(pdf, b"hidden", filename="x.txt")
    note = pikepdf.Dictionary(
        Type=pikepdf.Name.Annot,
        Subtype=pikepdf.Name.FileAttachment,
        Rect=[0, 0, 10, 10],
        FS=spec.obj,
    )
    pdf.pages[0].Annots = pdf.make_indirect(pikepdf.Array([note]))


GIF_HTML = b"GIF89a/*\x01\x00\x01\x00\x00\xff\x00,*/=1;<html><script>alert(1)</script></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="1"/></svg>'
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 48 + b"PE\x00\x00"


def _jpeg_with_secrets() -> bytes:
    """A JPEG with the place it was taken in its EXIF and HTML stuck after its end."""
    exif = Image.Exif()
    exif[0x010E] = "secret-de-lieu"  # ImageDescription
    return image_bytes("JPEG", (40, 30), exif=exif.tobytes()) + b"<script>alert(1)</script>"


def _png_bomb() -> bytes:
    """A few Ko of PNG that would decode to 48 million pixels."""
    out = io.BytesIO()
    Image.new("1", (8000, 6000)).save(out, "PNG")
    return out.getvalue()


REFUSED = [
    ("script.pdf", pdf_bytes(with_javascript), files.PDF_JAVASCRIPT),
    ("noms.pdf", pdf_bytes(_js_names_tree), files.PDF_JAVASCRIPT),
    ("formulaire.pdf", pdf_bytes(_js_field_action), files.PDF_JAVASCRIPT),
    ("lancer.pdf", pdf_bytes(_launch), files.PDF_LAUNCH),
    ("joint.pdf", pdf_bytes(_embedded), files.PDF_EMBEDDED),
    ("annotation.pdf", pdf_bytes(_attachment_annotation), files.PDF_EMBEDDED),
    ("casse.pdf", b"%PDF-1.7\n" + b"\x00garbage" * 50, files.PDF_UNREADABLE),
    ("image.gif", GIF_HTML, files.NOT_ALLOWED),
    ("dessin.svg", SVG, files.NOT_ALLOWED),
    ("facture.pdf", EXE, files.NOT_ALLOWED),
    ("vide.pdf", b"", files.EMPTY),
    ("gros.pdf", big_pdf(files.MAX_BYTES + 1), files.TOO_LARGE),
    ("../../etc/passwd.pdf", pdf_bytes(), files.BAD_NAME),
    ("..\\windows\\a.pdf", pdf_bytes(), files.BAD_NAME),
    ("releve\r\nContent-Type: text/html.pdf", pdf_bytes(), files.BAD_NAME),
    ("photo\n.png", image_bytes("PNG"), files.BAD_NAME),
    ("bombe.png", _png_bomb(), files.IMAGE_TOO_BIG),
    ("tronquee.jpg", image_bytes("JPEG", (64, 64))[:200], files.IMAGE_UNREADABLE),
]


async def _upload(http, base: str, draft_id: str, name: str, data: bytes):
    async with http.post(
        f"{base}/drafts/{draft_id}/files",
        params={"filename": name},
        data=data,
        headers={**HEADERS, "Content-Type": "application/octet-stream"},
    ) as resp:
        return resp.status, await resp.json()


async def _new_draft(http, base: str) -> str:
    async with http.post(base + "/drafts", json={}, headers=HEADERS) as resp:
        assert resp.status == 201
        return (await resp.json())["draft_id"]


async def test_the_corpus_through_intakes_upload(intake, http, database_url):
    base = intake.url
    draft_id = await _new_draft(http, base)
    for name, data, code in REFUSED:
        status, body = await _upload(http, base, draft_id, name, data)
        assert status == 422, (name, body)
        error = body["errors"][0]
        assert (error["field"], error["code"]) == ("attachments", code), name
        assert error["message"] == files.problem(code, name), name
        assert "\r" not in error["message"] and "\n" not in error["message"]

    # Nothing of them was kept.
    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM intake.draft_files") == 0

        # A good PDF kept as it came; a JPEG and a PNG kept re-encoded, their metadata and what
        # followed them gone, still the same pictures.
        good_pdf = pdf_bytes()
        status, pdf = await _upload(http, base, draft_id, "attestation.pdf", good_pdf)
        assert status == 201 and pdf["content_type"] == files.PDF, pdf
        jpeg = _jpeg_with_secrets()
        status, photo = await _upload(http, base, draft_id, "guichet.jpg", jpeg)
        assert status == 201 and photo["content_type"] == files.JPEG, photo
        png = image_bytes("PNG", (20, 10)) + b"<html>cache</html>"
        status, shot = await _upload(http, base, draft_id, "capture.png", png)
        assert status == 201 and shot["content_type"] == files.PNG, shot

        kept = {
            r["filename"]: bytes(r["data"])
            for r in await conn.fetch("SELECT filename, data FROM intake.draft_files")
        }
    finally:
        await conn.close()
    assert kept["attestation.pdf"] == good_pdf
    assert b"secret-de-lieu" not in kept["guichet.jpg"] and b"<script>" not in kept["guichet.jpg"]
    assert Image.open(io.BytesIO(kept["guichet.jpg"])).size == (40, 30)
    assert kept["guichet.jpg"] != jpeg and b"<html>" not in kept["capture.png"]
    with Image.open(io.BytesIO(kept["capture.png"])) as image:
        assert image.format == "PNG" and image.size == (20, 10)


FORM = "/soumettre/formulaire"


def _raw_form(token: str, files_: list[tuple[str, bytes]]) -> bytes:
    """The form as a browser writes it (file names as given, not percent-encoded)."""
    fields = {
        "csrf_token": token,
        "draft_id": "",
        "body_id": "ministere-budget",
        "nature": "reclamation",
        "message": "Le guichet ferme avant l'heure.",
    }
    out = [
        f'--b\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    ]
    for disposition, data in files_:
        out.append(
            f'--b\r\nContent-Disposition: form-data; name="attachments"; {disposition}\r\n'
            "Content-Type: application/pdf\r\n\r\n".encode()
            + data
            + b"\r\n"
        )
    return b"".join([*out, b"--b--\r\n"])


async def test_the_citizens_form_says_why_a_file_was_refused(front, database_url):
    async with signed_session(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(front + FORM + "?nature=reclamation&organisme=ministere-budget") as r:
            token = re.search(r'name="csrf_token" value="([^"]+)"', await r.text()).group(1)
        body = _raw_form(
            token,
            [
                ('filename="script.pdf"', pdf_bytes(with_javascript)),
                ('filename="lancer.pdf"', pdf_bytes(_launch)),
                ('filename="joint.pdf"', pdf_bytes(_embedded)),
                ('filename="../../releve.pdf"', pdf_bytes()),
                # A line break in a name can only come encoded (RFC 5987).
                ("filename*=UTF-8''avis%0D%0ABcc%3A%20x.pdf", pdf_bytes()),
            ],
        )
        async with http.post(
            front + FORM, data=body, headers={"Content-Type": "multipart/form-data; boundary=b"}
        ) as resp:
            page = html.unescape(await resp.text())
    for code, name in (
        (files.PDF_JAVASCRIPT, "script.pdf"),
        (files.PDF_LAUNCH, "lancer.pdf"),
        (files.PDF_EMBEDDED, "joint.pdf"),
        (files.BAD_NAME, "../../releve.pdf"),
        (files.BAD_NAME, "avis\r\nBcc: x.pdf"),
    ):
        assert files.problem(code, name) in page, code
    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM intake.draft_files") == 0
    finally:
        await conn.close()
