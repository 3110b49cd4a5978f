"""Intake's drafts on real PostgreSQL: files checked by content, the request stored with its files
in one transaction, a second « OK » answered the same, expired drafts purged with their files; a
file declared over 5 Mo, or whose bytes stop coming, refused without being read whole."""

from __future__ import annotations

import asyncio
import json
import re
import uuid

import asyncpg

from services.intake.settings import IntakeSettings
from shared import attachments as files
from tests.front.conftest import JPEG, OWNER, PDF, PNG, big_pdf, submission_fields, zip_bytes
from tests.support import RunningApp, eventually, signed_headers_for

HEADERS = {"X-Draft-Owner": OWNER}


async def _json(http, method, url, **kw):
    kw.setdefault("headers", HEADERS)
    async with http.request(method, url, **kw) as resp:
        return resp.status, await resp.json()


async def _upload(http, base, draft_id, name, data, owner=OWNER):
    async with http.post(
        f"{base}/drafts/{draft_id}/files",
        params={"filename": name},
        data=data,
        headers={"X-Draft-Owner": owner, "Content-Type": "application/octet-stream"},
    ) as resp:
        return resp.status, await resp.json()


async def test_files_are_judged_by_content_and_the_request_takes_them_in_one_go(
    intake, http, database_url
):
    base = intake.url
    status, draft = await _json(http, "POST", base + "/drafts", json={})
    assert status == 201 and draft["ready"] is False
    draft_id = draft["draft_id"]

    # Accepted by their bytes, whatever their names say; the name kept ends as the content.
    status, pdf = await _upload(http, base, draft_id, "C:\\fakepath\\relevé.PDF", PDF)
    assert status == 201, pdf
    assert pdf["content_type"] == "application/pdf" and pdf["filename"] == "relevé.pdf"
    status, png = await _upload(http, base, draft_id, "photo.pdf", PNG)
    assert status == 201 and png["content_type"] == "image/png"
    assert png["filename"] == "photo.png"

    # Refused: a ZIP named facture.pdf, a file over 5 MB, an empty one, a fourth one.
    status, body = await _upload(http, base, draft_id, "facture.pdf", zip_bytes())
    assert status == 422 and body["errors"][0]["code"] == files.NOT_ALLOWED
    assert "« facture.pdf »" in body["errors"][0]["message"]
    status, body = await _upload(http, base, draft_id, "scan.pdf", big_pdf(files.MAX_BYTES + 1))
    assert status == 422 and body["errors"][0]["code"] == files.TOO_LARGE
    assert body["errors"][0]["message"] == "Le fichier « scan.pdf » dépasse 5 Mo."
    status, body = await _upload(http, base, draft_id, "vide.pdf", b"")
    assert status == 422 and body["errors"][0]["code"] == files.EMPTY
    status, exact = await _upload(http, base, draft_id, "limite.pdf", big_pdf(files.MAX_BYTES))
    assert status == 201 and exact["size"] == files.MAX_BYTES
    status, body = await _upload(http, base, draft_id, "quatre.jpg", JPEG)
    assert status == 422 and body["errors"][0]["code"] == files.TOO_MANY

    # Another browser sees nothing, not even that the draft exists.
    status, _ = await _upload(http, base, draft_id, "x.pdf", PDF, owner="p" * 32)
    assert status == 404
    status, _ = await _json(
        http, "GET", f"{base}/drafts/{draft_id}", headers={"X-Draft-Owner": "p" * 32}
    )
    assert status == 404

    # The values are checked with the files; one removed before confirming.
    status, saved = await _json(
        http,
        "PUT",
        f"{base}/drafts/{draft_id}",
        json={"fields": submission_fields(email="aya@example.ci"), "remove_files": [exact["id"]]},
    )
    assert status == 200 and saved["ready"], saved
    status, view = await _json(http, "GET", f"{base}/drafts/{draft_id}")
    assert status == 200 and [f["id"] for f in view["files"]] == [pdf["id"], png["id"]]
    summary = view["summary"]
    assert summary["body_name"] == "Ministère du budget et du Portefeuille de l'Etat"
    assert summary["theme_label"] == "ACCUEIL : Espace d'accueil"
    assert summary["place_label"] == "Plateau (District Autonome d'Abidjan)"
    assert summary["phone"] == "+225 07 07 12 3456"  # as phonenumbers writes it

    status, first = await _json(http, "POST", f"{base}/drafts/{draft_id}/submit")
    assert status == 201, first
    assert first["nature_label"] == "Réclamation" and len(first["code"]) == 10
    status, again = await _json(http, "POST", f"{base}/drafts/{draft_id}/submit")
    assert status == 200 and again["code"] == first["code"] and again["replayed"]
    status, view = await _json(http, "GET", f"{base}/drafts/{draft_id}")
    assert view["submitted"]["code"] == first["code"] and view["fields"] == {}

    conn = await asyncpg.connect(database_url)
    try:
        stored = await conn.fetch(
            """SELECT a.id, a.filename, a.content_type, a.size, a.data FROM intake.attachments a
               JOIN intake.requests r ON r.id = a.request_id WHERE r.code = $1
               ORDER BY a.added_at""",
            first["code"],
        )
        assert [bytes(r["data"]) for r in stored] == [PDF, PNG]
        assert await conn.fetchval("SELECT count(*) FROM intake.draft_files") == 0
        assert await conn.fetchval("SELECT count(*) FROM intake.requests") == 1
        # The typed values and their summary leave with the request: only the code stays.
        kept = await conn.fetchrow(
            "SELECT fields, summary, code FROM intake.drafts WHERE id = $1", uuid.UUID(draft_id)
        )
        assert kept["fields"] is None and kept["summary"] is None and kept["code"]
        outbox = await conn.fetchval(
            "SELECT body FROM intake.outbox WHERE message_type = 'request.submitted.v1'"
        )
    finally:
        await conn.close()
    event = json.loads(outbox)
    assert [a["attachment_id"] for a in event["attachments"]] == [str(r["id"]) for r in stored]
    assert event["attachments"][0] == {
        "attachment_id": str(stored[0]["id"]),
        "filename": "relevé.pdf",
        "content_type": "application/pdf",
        "size": len(PDF),
    }


async def test_a_draft_with_faults_lists_them_all_and_cannot_be_submitted(intake, http):
    fields = submission_fields(
        message="",
        place_id="nulle-part",
        terms_accepted=False,
        contact={"country": "CI", "phone": "12", "email": "pas-une-adresse"},
    )
    status, draft = await _json(http, "POST", intake.url + "/drafts", json={"fields": fields})
    assert status == 422 and draft["ready"] is False
    fields_in_error = {e["field"] for e in draft["errors"]}
    assert {"message", "contact.phone", "contact.email"} <= fields_in_error
    status, body = await _json(http, "POST", f"{intake.url}/drafts/{draft['draft_id']}/submit")
    assert status == 422 and body["errors"]

    status, draft = await _json(
        http,
        "POST",
        intake.url + "/drafts",
        json={"fields": submission_fields(place_id="nulle-part", terms_accepted=False)},
    )
    assert status == 422
    assert {e["field"] for e in draft["errors"]} == {"place_id", "terms_accepted"}

    # Bad ids and bad bodies are answered, not crashed on.
    status, _ = await _json(http, "GET", intake.url + "/drafts/not-a-uuid")
    assert status == 404
    async with http.post(intake.url + "/drafts", data=b"{", headers=HEADERS) as resp:
        assert resp.status == 415
    async with http.post(intake.url + "/drafts", json={"fields": []}, headers=HEADERS) as resp:
        assert resp.status == 422
    async with http.post(intake.url + "/drafts", json={}) as resp:
        assert resp.status == 400  # no owner


async def test_ok_pressed_several_times_at_once_stores_one_request(intake, http, database_url):
    fields = submission_fields()
    status, draft = await _json(http, "POST", intake.url + "/drafts", json={"fields": fields})
    assert status == 201 and draft["ready"], draft
    url = f"{intake.url}/drafts/{draft['draft_id']}/submit"
    answers = await asyncio.gather(*(_json(http, "POST", url) for _ in range(5)))
    assert sorted(status for status, _ in answers) == [200, 200, 200, 200, 201]
    assert len({body["code"] for _, body in answers}) == 1
    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM intake.requests") == 1
        assert await conn.fetchval("SELECT count(*) FROM intake.outbox") == 1
    finally:
        await conn.close()


async def test_a_catalogue_change_after_the_values_were_saved_is_refused_at_ok(
    intake, http, database_url
):
    """The confirmation shows what was checked when the values were saved (a plain read); « OK »
    checks them again against the catalogue as it is then, and stores nothing when it fails."""
    fields = submission_fields(place_id="abidjan-cocody")
    status, draft = await _json(http, "POST", intake.url + "/drafts", json={"fields": fields})
    assert status == 201 and draft["ready"], draft
    url = f"{intake.url}/drafts/{draft['draft_id']}"
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("UPDATE intake.places SET active = false WHERE id = 'abidjan-cocody'")
        status, view = await _json(http, "GET", url)
        assert (
            status == 200 and view["ready"] and view["summary"]["place_label"].startswith("Cocody")
        )

        async def refused():
            status, body = await _json(http, "POST", url + "/submit")
            return status == 422 and [e["field"] for e in body["errors"]] == ["place_id"]

        await eventually(refused)  # once intake's kept catalogue heard of the change
        assert await conn.fetchval("SELECT count(*) FROM intake.requests") == 0
    finally:
        await conn.execute("UPDATE intake.places SET active = true WHERE id = 'abidjan-cocody'")
        await conn.close()


async def test_an_expired_draft_is_purged_with_its_files(settings_for, http, database_url):
    from services.intake.app import create_app

    settings = settings_for(IntakeSettings, db_pool_min=1, draft_purge_seconds=0.2)
    async with RunningApp(create_app(settings)) as app:
        status, draft = await _json(http, "POST", app.url + "/drafts", json={})
        kept_status, kept = await _json(http, "POST", app.url + "/drafts", json={})
        assert status == kept_status == 201
        for target in (draft, kept):
            status, _ = await _upload(http, app.url, target["draft_id"], "a.pdf", PDF)
            assert status == 201
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute(
                "UPDATE intake.drafts SET expires_at = now() - interval '1 second' WHERE id = $1",
                __import__("uuid").UUID(draft["draft_id"]),
            )

            async def purged():
                left = await conn.fetch("SELECT draft_id FROM intake.draft_files")
                return [str(r["draft_id"]) for r in left] == [kept["draft_id"]]

            await eventually(purged)
            assert await conn.fetchval("SELECT count(*) FROM intake.drafts") == 1
        finally:
            await conn.close()
        status, _ = await _json(http, "GET", f"{app.url}/drafts/{draft['draft_id']}")
        assert status == 404
        status, _ = await _json(http, "POST", f"{app.url}/drafts/{draft['draft_id']}/submit")
        assert status == 404


async def _raw_file_post(base: str, draft_id: str, declared: int, sent: bytes) -> tuple[int, dict]:
    """A file upload declaring ``declared`` bytes of which only ``sent`` come; intake's answer."""
    host, port = base.removeprefix("http://").split(":")
    target = f"/drafts/{draft_id}/files?filename=gros.pdf"
    # Signed as the gateway signs a streamed upload (shared/signing.py): this call bypasses
    # aiohttp, so tests.support's signing middleware does not see it.
    envelope = signed_headers_for(int(port), "POST", target, None, headers={"X-Draft-Owner": OWNER})
    signed = "".join(f"{name}: {value}\r\n" for name, value in envelope.items())
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(
            (
                f"POST {target} HTTP/1.1\r\nHost: {host}\r\n{signed}"
                f"X-Draft-Owner: {OWNER}\r\nContent-Type: application/octet-stream\r\n"
                f"Content-Length: {declared}\r\n\r\n"
            ).encode()
            + sent
        )
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(re.search(rb"Content-Length: (\d+)", head).group(1))
        return int(head.split(b" ")[1]), json.loads(await reader.readexactly(length))
    finally:
        writer.close()


async def test_a_file_declared_too_large_or_stalled_is_refused_before_it_is_read(
    settings_for, http, database_url
):
    from services.intake.app import create_app

    settings = settings_for(IntakeSettings, db_pool_min=1, upload_idle_timeout=1.0)
    async with RunningApp(create_app(settings)) as app:
        status, draft = await _json(http, "POST", app.url + "/drafts", json={})
        assert status == 201
        # Declared over 5 Mo: refused on its word, before a byte of it is sent.
        status, body = await _raw_file_post(app.url, draft["draft_id"], files.MAX_BYTES + 1, b"")
        assert status == 422 and body["errors"][0]["code"] == files.TOO_LARGE
        assert body["errors"][0]["message"] == "Le fichier « gros.pdf » dépasse 5 Mo."
        # Half of the bytes, then nothing: given up after the idle timeout, nothing kept.
        status, body = await _raw_file_post(app.url, draft["draft_id"], 2 * len(PDF), PDF)
        assert status == 400 and body["error"] == "broken_upload"
        conn = await asyncpg.connect(database_url)
        try:
            assert await conn.fetchval("SELECT count(*) FROM intake.draft_files") == 0
        finally:
            await conn.close()
