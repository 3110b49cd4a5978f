"""Staff download of an attachment from intake: who may, and a safe answer (the type found in the
bytes, always a download, a clean file name, nosniff)."""

from __future__ import annotations

import uuid

from services.intake.settings import IntakeSettings
from shared import signing
from shared.identity import Identity, Role
from tests.front.conftest import OWNER, PNG, submission_fields
from tests.support import RunningApp, as_staff


async def _submit_with_file(http, base: str, name: str, data: bytes) -> dict:
    headers = {"X-Draft-Owner": OWNER}
    async with http.post(
        base + "/drafts", json={"fields": submission_fields()}, headers=headers
    ) as r:
        draft = await r.json()
        assert r.status == 201 and draft["ready"], draft
    async with http.post(
        f"{base}/drafts/{draft['draft_id']}/files",
        params={"filename": name},
        data=data,
        headers=headers,
    ) as r:
        stored = await r.json()
        assert r.status == 201, stored
    async with http.post(f"{base}/drafts/{draft['draft_id']}/submit", headers=headers) as r:
        assert r.status == 201
    return stored


async def test_staff_download_is_guarded_and_answers_safely(settings_for, http):
    from services.intake.app import create_app

    settings = settings_for(IntakeSettings, db_pool_min=1)
    async with RunningApp(create_app(settings)) as app:
        # A PNG the citizen named like a web page: served as the PNG it is, as a download.
        stored = await _submit_with_file(http, app.url, "reçu <script>.html", PNG)
        url = f"{app.url}/attachments/{stored['id']}"

        def as_(role: Role, body_id: str | None = None) -> dict[str, str]:
            identity = Identity(staff_id=str(uuid.uuid4()), role=role, body_id=body_id)
            return as_staff(identity)

        for headers in (
            as_(Role.ADMINISTRATOR),
            as_(Role.ANALYST),
            as_(Role.FOCAL_POINT, "ministere-budget"),
        ):
            async with http.get(url, headers=headers) as resp:
                assert resp.status == 200
                assert await resp.read() == PNG
                assert resp.headers["Content-Type"] == "image/png"
                assert resp.headers["X-Content-Type-Options"] == "nosniff"
                disposition = resp.headers["Content-Disposition"]
                assert disposition.startswith("attachment;")
                assert "filename*=UTF-8''re%C3%A7u%20_script.png" in disposition
                assert 'filename="re_u _script.png"' in disposition
                assert "sandbox" in resp.headers["Content-Security-Policy"]
                assert "no-store" in resp.headers["Cache-Control"]

        async with http.get(url) as resp:
            assert resp.status == 401
        async with http.get(url, headers={signing.HEADER: "forged.token"}) as resp:
            assert resp.status == 401
        async with http.get(url, headers=as_(Role.FOCAL_POINT, "ministere-defense")) as resp:
            assert resp.status == 403
        async with http.get(url, headers=as_(Role.OPERATOR)) as resp:
            assert resp.status == 403
        async with http.get(
            f"{app.url}/attachments/{uuid.uuid4()}", headers=as_(Role.ADMINISTRATOR)
        ) as resp:
            assert resp.status == 404
        async with http.get(
            f"{app.url}/attachments/pas-un-identifiant", headers=as_(Role.ADMINISTRATOR)
        ) as resp:
            assert resp.status == 404
