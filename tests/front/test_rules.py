"""Pure rules of the front office: recognising a file by its bytes, the names kept and shown,
the search key of the catalogue, the form's values to intake's fields and back, the options
rendered once, the catalogue kept by the gateway, the form's part headers read once each."""

from __future__ import annotations

import asyncio
import warnings

from aiohttp import BodyPartReader
from aiohttp.multipart import content_disposition_filename
from multidict import CIMultiDict

from gateway.clients.catalogue import Kept
from gateway.web import form_parts, forms
from services.intake.catalogue.files import search_key, slug
from shared import attachments as files
from tests.front.conftest import JPEG, PDF, PNG, zip_bytes


def test_a_file_is_known_by_its_first_bytes_only():
    assert files.sniff(PDF[:8]) == files.PDF
    assert files.sniff(JPEG[:8]) == files.JPEG
    assert files.sniff(PNG[:8]) == files.PNG
    for other in (
        zip_bytes(),
        b"GIF89a",
        b"<html><script>",
        b"%PD",
        b"\x89PNG\r\n",  # cut short
        b"",
        b" %PDF-1.4",
    ):
        assert files.sniff(other[:8]) is None, other


def test_names_are_cleaned_and_end_as_their_content():
    assert files.safe_filename("C:\\fakepath\\relevé.PDF", files.PDF) == "relevé.pdf"
    assert files.safe_filename("../../etc/passwd", files.PDF) == "passwd.pdf"
    assert files.safe_filename("photo.exe", files.JPEG) == "photo.jpg"
    assert files.safe_filename('a"b;c\r\n.html', files.PNG) == "a_b_c.png"
    assert files.safe_filename("\u202egpj.exe", files.PNG) == "gpj.png"  # no bidi trick
    assert files.safe_filename("", files.PDF) == "piece-jointe.pdf"
    assert files.safe_filename("...", files.PDF) == "piece-jointe.pdf"
    long = files.safe_filename("x" * 500 + ".pdf", files.PDF)
    assert len(long) == files.NAME_MAX and long.endswith(".pdf")
    assert files.shown_name("C:\\Users\\awa\\scan 1.pdf") == "scan 1.pdf"
    assert (
        files.problem(files.TOO_LARGE, "/tmp/gros.pdf") == "Le fichier « gros.pdf » dépasse 5 Mo."
    )


def test_search_keys_ignore_case_accents_and_punctuation():
    assert search_key("Ministère de l'Éducation Nationale") == "ministere de l education nationale"
    assert search_key("  Tour D, 28ème ") == "tour d 28eme"
    assert search_key("%_'") == ""
    assert slug("Ministère de la Santé") == "ministere-de-la-sante"


def test_the_form_goes_to_intake_and_comes_back_unchanged():
    form = {
        "nature": "observation",
        "body_id": "ministere-budget",
        "theme_id": "",
        "place_id": "abidjan-cocody",
        "message": "  Le guichet 3 est fermé.  ",
        "last_name": "YAO",
        "first_names": "Akissi",
        "country": "",
        "phone": "07 07 12 34 56",
        "email": "akissi@example.ci",
        "terms_accepted": "on",
    }
    fields = forms.draft_fields(form)
    assert fields["theme_id"] is None and fields["contact"]["country"] == "CI"
    assert fields["message"] == "Le guichet 3 est fermé." and fields["terms_accepted"] is True
    back = forms.values_from_fields(fields)
    assert back == {**form, "message": "Le guichet 3 est fermé.", "country": "CI"}
    assert forms.values_from_fields({})["terms_accepted"] == ""
    assert forms.COUNTRIES[0] == ("CI", "COTE D'IVOIRE", "+225")
    assert forms.errors_by_field(
        [
            {"field": "contact.phone", "message": "Numéro invalide."},
            {"field": "attachments", "message": "Un."},
            {"field": "attachments", "message": "Deux."},
        ]
    ) == {"phone": "Numéro invalide.", "attachments": "Un. Deux."}


def test_options_rendered_once_mark_the_choice_and_escape_the_labels():
    options = forms.Options.of(
        [("Abidjan <Sud>", [("a", "Cocody & Co"), ("b", "Plateau")]), (None, [("c", "Autre")])]
    )
    plain = (
        '<optgroup label="Abidjan &lt;Sud&gt;"><option value="a">Cocody &amp; Co</option>'
        '<option value="b">Plateau</option></optgroup><option value="c">Autre</option>'
    )
    assert options.html("") == options.html(None) == options.html("nowhere") == plain
    assert options.html("b") == plain.replace('<option value="b"', '<option selected value="b"')
    assert options.html("") == plain  # the choice of one page stays off the next one
    assert 'selected value="CI"' in forms.COUNTRY_OPTIONS.html("CI")
    assert "selected" not in forms.COUNTRY_OPTIONS.html("")


async def test_the_kept_catalogue_asks_once_for_callers_at_once_and_not_again_until_it_expires():
    calls, joined = [], []
    release, all_asking = asyncio.Event(), asyncio.Event()

    async def fetch():
        calls.append(1)
        await release.wait()
        return {"n": len(calls)}

    kept = Kept(seconds=60)

    async def caller():
        joined.append(1)  # get() runs to its wait without yielding: joined means asking
        if len(joined) == 5:
            all_asking.set()
        return await kept.get("places", fetch)

    callers = asyncio.gather(*(caller() for _ in range(5)))
    await all_asking.wait()  # every caller asking while the first call is still out
    release.set()
    answers = await callers
    assert calls == [1] and all(a == {"n": 1} for a in answers)
    assert await kept.get("places", fetch) == {"n": 1} and calls == [1]

    async def missing():
        calls.append(1)

    assert await kept.get("body:x", missing) is None
    assert await kept.get("body:x", missing) is None and len(calls) == 3  # None: asked again

    async def down():
        raise ConnectionError("intake")

    expired = Kept(seconds=0)
    for _ in range(2):  # an error is not kept either
        try:
            await expired.get("places", down)
        except ConnectionError:
            pass
        else:
            raise AssertionError("the error went unseen")
    assert await expired.get("places", fetch) == {"n": 4}
    assert await expired.get("places", fetch) == {"n": 5}  # expired at once: asked again


def test_a_part_header_read_once_answers_as_aiohttp_reads_it():
    headers = [
        'form-data; name="message"',
        'form-data; name="attachments"; filename=""',
        'form-data; name="attachments"; filename="facture.pdf"',
        "form-data; name=\"attachments\"; filename*=utf-8''%C3%A9t%C3%A9.pdf",
        'form-data; name="a\\"b"; filename="c;d.png"',
        'form-data; name="x"; name="y"',
        "form-data; name",
        "bad header",
        'form-data; name="' + "n" * 300 + '"',
        "",
        None,
    ]
    form_parts.install()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # aiohttp warns about the malformed ones
        for header in headers * 2:  # the second time from what was kept
            answer = form_parts.parse_content_disposition(header)
            assert answer == form_parts._aiohttp_parse(header), header
            answer[1]["name"] = "changed"  # each caller its own dict
            part = BodyPartReader(b"b", CIMultiDict({"Content-Disposition": header or ""}), None)
            _, params = form_parts._aiohttp_parse(header)
            assert (part.name, part.filename) == (
                content_disposition_filename(params, "name"),
                content_disposition_filename(params, "filename"),
            )


def test_a_form_data_body_is_known_as_aiohttp_knows_it():
    from aiohttp.test_utils import make_mocked_request

    for header, expected in [
        ("multipart/form-data; boundary=----WebKitFormBoundaryx7", True),
        ("Multipart/Form-Data; boundary=b", True),
        ("multipart/form-data", True),
        ("multipart/mixed; boundary=b", False),
        ("application/x-www-form-urlencoded", False),
        ("text/plain", False),
        ("", False),
    ]:
        request = make_mocked_request("POST", "/", headers={"Content-Type": header})
        assert form_parts.is_form_data(request) is expected, header
        assert (request.content_type == "multipart/form-data") is expected, header
    assert form_parts.is_form_data(make_mocked_request("POST", "/")) is False


async def test_the_stylesheets_served_from_memory_answer_as_files_do(tmp_path):
    from aiohttp import web
    from aiohttp.test_utils import TestClient, TestServer

    from gateway.web import static_files

    (tmp_path / "milie.css").write_text("body { color: #123; }")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "hidden.css").write_text("x")
    app = web.Application()
    static_files.add_routes(app, tmp_path)
    async with TestClient(TestServer(app)) as client:
        resp = await client.get("/static/milie.css")
        assert resp.status == 200 and await resp.text() == "body { color: #123; }"
        assert resp.content_type == "text/css" and resp.headers["Last-Modified"]
        etag = resp.headers["ETag"]
        again = await client.get("/static/milie.css", headers={"If-None-Match": etag})
        assert again.status == 304 and await again.read() == b""
        assert (await client.head("/static/milie.css")).status == 200
        for path in ("/static/nothing.css", "/static/sub/hidden.css", "/static/..%2Fsecret"):
            assert (await client.get(path)).status == 404, path
