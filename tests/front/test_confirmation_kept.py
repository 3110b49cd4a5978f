"""The confirmation page from « Soumettre »'s answer: intake answers the summary, the files and
the draft's version with the saved values, the gateway shows that page without asking intake
again, and « Envoyer ma requête » carries the version shown — a draft changed since (another
tab, another copy of the gateway) is refused with 409 and nothing is stored."""

from __future__ import annotations

import re
import uuid

import aiohttp
import asyncpg

from tests.front.conftest import OWNER, PDF, submission_fields

HEADERS = {"X-Draft-Owner": OWNER}
FORM = "/soumettre/formulaire"
FIELDS = {
    "nature": "reclamation",
    "body_id": "ministere-budget",
    "place_id": "abidjan-plateau",
    "message": "Le guichet ferme avant l'heure.",
    "last_name": "KONE",
    "first_names": "Awa",
    "country": "CI",
    "phone": "0707123456",
    "email": "awa@example.ci",
    "terms_accepted": "on",
}


async def _json(http, method, url, **kw):
    kw.setdefault("headers", HEADERS)
    async with http.request(method, url, **kw) as resp:
        return resp.status, await resp.json()


async def test_saving_answers_the_summary_and_a_version_that_ok_must_match(
    intake, http, database_url
):
    base = intake.url
    status, draft = await _json(
        http, "POST", base + "/drafts", json={"fields": submission_fields()}
    )
    assert status == 201 and draft["ready"] and draft["version"] == 1 and draft["files"] == []
    assert draft["summary"]["body_name"] == "Ministère du budget et du Portefeuille de l'Etat"
    draft_id = draft["draft_id"]

    # Each change of the values or the files is a new version, with its summary and files.
    fields = submission_fields(message="Un autre message, plus précis.")
    status, saved = await _json(
        http, "PUT", f"{base}/drafts/{draft_id}", json={"fields": fields, "remove_files": []}
    )
    assert status == 200 and saved["version"] == 2
    assert saved["summary"]["message"] == "Un autre message, plus précis."
    async with http.post(
        f"{base}/drafts/{draft_id}/files",
        params={"filename": "releve.pdf"},
        data=PDF,
        headers={**HEADERS, "Content-Type": "application/octet-stream"},
    ) as resp:
        assert resp.status == 201
    status, view = await _json(http, "GET", f"{base}/drafts/{draft_id}")
    assert view["version"] == 3 and [f["filename"] for f in view["files"]] == ["releve.pdf"]
    # « Soumettre » again: its answer lists the files the draft holds, for the next page.
    status, saved = await _json(
        http, "PUT", f"{base}/drafts/{draft_id}", json={"fields": fields, "remove_files": []}
    )
    assert status == 200 and saved["version"] == 4
    assert [f["filename"] for f in saved["files"]] == ["releve.pdf"]

    # « OK » on a page that showed version 2: refused, nothing stored.
    url = f"{base}/drafts/{draft_id}/submit"
    status, body = await _json(http, "POST", url, json={"version": 2})
    assert status == 409 and body["error"] == "draft_changed"
    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM intake.requests") == 0
        status, first = await _json(http, "POST", url, json={"version": 4})
        assert status == 201, first
        # A second « OK », from any page: the same code.
        status, again = await _json(http, "POST", url, json={"version": 2})
        assert status == 200 and again["code"] == first["code"]
        assert await conn.fetchval("SELECT count(*) FROM intake.requests") == 1
        assert await conn.fetchval("SELECT count(*) FROM intake.attachments") == 1
        event = await conn.fetchval("SELECT body FROM intake.outbox")
        assert "releve.pdf" in event
        # The draft keeps the code only, written with the request.
        kept = await conn.fetchrow(
            "SELECT fields, summary, code, told_by FROM intake.drafts WHERE id = $1",
            uuid.UUID(draft_id),
        )
        assert kept["fields"] is None and kept["summary"] is None
        assert kept["code"].strip() == first["code"] and kept["told_by"] == "email"
    finally:
        await conn.close()


async def _post_form(http, front, token, draft_id="", **changes):
    form = aiohttp.FormData()
    form.add_field("csrf_token", token)
    form.add_field("draft_id", draft_id)
    for name, value in {**FIELDS, **changes}.items():
        form.add_field(name, value)
    form.add_field("attachments", b"", filename="", content_type="application/octet-stream")
    async with http.post(front + FORM, data=form, allow_redirects=False) as resp:
        assert resp.status == 303, await resp.text()
        return resp.headers["Location"]


def _hidden(html: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', html).group(1)


async def test_the_confirmation_page_comes_from_soumettre_and_ok_refuses_a_changed_draft(
    front, database_url
):
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(f"{front}{FORM}?nature=reclamation&organisme=ministere-budget") as r:
            token = _hidden(await r.text(), "csrf_token")
        confirm = await _post_form(http, front, token)
        draft_id = confirm.rpartition("brouillon=")[2]

        conn = await asyncpg.connect(database_url)
        try:
            # The page shows what « Soumettre » answered: it asks intake nothing (the draft's
            # summary, wiped here, is not read).
            await conn.execute("UPDATE intake.drafts SET summary = NULL")
            async with http.get(front + confirm) as resp:
                assert resp.status == 200
                first = await resp.text()
            assert "Le guichet ferme avant l&#39;heure." in first
            assert _hidden(first, "version") == "1"
            # Shown once from the kept answer: a reload asks intake (the summary wiped above
            # sends the form back, to be saved again).
            async with http.get(front + confirm, allow_redirects=False) as resp:
                assert resp.status == 303 and "/soumettre/formulaire" in resp.headers["Location"]

            # Another tab changes the draft (« Modifier », then « Soumettre » again).
            again = await _post_form(
                http, front, token, draft_id, message="Le guichet ferme à midi."
            )
            assert again == confirm

            # « Envoyer ma requête » on the first page: nothing stored, the draft as it is now.
            data = {"csrf_token": token, "draft_id": draft_id, "version": "1"}
            async with http.post(
                front + "/soumettre/confirmer", data=data, allow_redirects=False
            ) as resp:
                assert resp.status == 409
                shown = await resp.text()
            assert "Votre saisie a été modifiée depuis" in shown
            assert "Le guichet ferme à midi." in shown and _hidden(shown, "version") == "2"
            assert await conn.fetchval("SELECT count(*) FROM intake.requests") == 0

            data["version"] = _hidden(shown, "version")
            async with http.post(
                front + "/soumettre/confirmer", data=data, allow_redirects=False
            ) as resp:
                assert resp.status == 303
            stored = await conn.fetch("SELECT message FROM intake.requests")
            assert [r["message"] for r in stored] == ["Le guichet ferme à midi."]
        finally:
            await conn.close()


def test_a_kept_summary_leaves_after_its_minute_or_when_too_many_are_kept(monkeypatch):
    from gateway.citizen import submission

    def answer(n: int) -> dict:
        return {"draft_id": f"d{n}", "summary": {"message": "…"}, "version": 1, "files": []}

    kept: dict = {}
    submission.keep_shown(kept, "o" * 32, answer(1), now=0.0)
    submission.keep_shown(kept, "o" * 32, answer(2), now=30.0)
    submission.keep_shown(kept, "o" * 32, answer(1), now=50.0)  # saved again: kept anew
    assert list(kept) == ["d2", "d1"]
    submission.keep_shown(kept, "o" * 32, answer(3), now=95.0)  # d2's minute is over
    assert list(kept) == ["d1", "d3"]
    submission.keep_shown(kept, "o" * 32, {"draft_id": "d4", "ready": False}, now=200.0)
    assert kept == {}  # nothing left from before, nothing kept without a summary

    monkeypatch.setattr(submission, "SHOWN_KEPT", 3)
    for n in range(5):
        submission.keep_shown(kept, "o" * 32, answer(n), now=300.0)
    assert list(kept) == ["d2", "d3", "d4"]
