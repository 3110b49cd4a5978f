"""Ready-made reasons (issue 12) over HTTP on the whole platform: an administrator edits one and
adds one under « Administration › Motifs » (errors beside the field, both changes in the
« Journal d'audit »), an analyst rejects a request with it and completes it: the message triage
records (and sends) starts with the reason's text, then what the analyst typed."""

from __future__ import annotations

import re

import asyncpg

from shared.identity import Role
from tests.staff.helpers import create_account, signed_in_session
from tests.triage.test_day_work import _submit
from tests.triage.test_pages import TOKEN, _form_values, _in_queue, _page, _post

PASSWORD = "un mot de passe des motifs"


async def test_an_administrator_keeps_the_reasons_an_analyst_uses(stack, database_url):
    await create_account(database_url, Role.ADMINISTRATOR, "admin.motifs", PASSWORD)
    await create_account(database_url, Role.ANALYST, "awa.kone", PASSWORD, display_name="Awa Koné")
    code = await _submit(stack, "motif@example.ci")
    await _in_queue(stack, code)
    motifs = stack.gateway + "/admin/motifs"

    async with await signed_in_session(stack.gateway, "admin.motifs", PASSWORD) as admin:
        status, html = await _page(admin, motifs)
        assert status == 200
        assert "Motifs de rejet" in html and "Doublon" in html
        assert re.search(r'<a href="/admin/motifs">Motifs</a>|href="/admin/motifs"', html)
        token = TOKEN.search(html).group(1)
        # An empty form: said beside each field, nothing stored.
        status, html, _ = await _post(admin, motifs, {"csrf_token": token})
        assert status == 422
        assert '<p class="error" id="err-label">Ce champ est obligatoire.</p>' in html
        assert '<p class="error" id="err-kind">' in html
        # A new reason for rejection.
        status, _, location = await _post(
            admin,
            motifs,
            {
                "csrf_token": token,
                "kind": "reject",
                "label": "Délai de recours dépassé",
                "text": "Le délai pour contester cette décision est dépassé.",
                "position": "9",
            },
        )
        assert (status, location) == (303, "/admin/motifs?fait=ajoute")
        status, html = await _page(admin, motifs)
        assert "Délai de recours dépassé" in html
        # « Doublon » edited.
        [doublon] = re.findall(r'id="motif-(\d+)">\s*<p><strong>Doublon</strong>', html)
        status, html = await _page(admin, f"{motifs}/{doublon}")
        assert status == 200 and 'value="Doublon"' in html
        status, _, location = await _post(
            admin,
            f"{motifs}/{doublon}",
            {
                "csrf_token": token,
                "label": "Doublon",
                "text": "Vous avez déjà déposé cette requête : suivez-la avec son code.",
                "position": "3",
                "active": "oui",
            },
        )
        assert (status, location) == (303, "/admin/motifs?fait=modifie")

    conn = await asyncpg.connect(database_url)
    try:
        audited = await conn.fetch(
            """SELECT action, target, detail FROM gateway.audit_log
               WHERE actor_login = 'admin.motifs' AND action LIKE 'reason_%' ORDER BY id"""
        )
    finally:
        await conn.close()
    assert [r["action"] for r in audited] == ["reason_created", "reason_changed"]
    assert "Délai de recours dépassé" in audited[0]["detail"]
    assert audited[1]["target"] == f"motif {doublon}"
    assert "suivez-la avec son code" in audited[1]["detail"]

    base = stack.gateway + f"/admin/traitements/{code}"
    async with await signed_in_session(stack.gateway, "awa.kone", PASSWORD) as analyst:
        status, html = await _page(analyst, base)
        assert status == 200
        # Offered on « Rejeter » and « Renvoyer pour reformulation »; only « Rejeter » asks for
        # a confirmation.
        assert 'id="f-rejeter-reason"' in html and 'id="f-reformuler-reason"' in html
        assert "Délai de recours dépassé" in html
        assert 'id="f-rejeter-confirm"' in html and 'id="f-valider-confirm"' not in html
        values = _form_values(html)
        # Not confirmed: refused beside the box.
        status, html, _ = await _post(
            analyst, f"{base}/rejeter", {**values, "reason": doublon, "message": ""}
        )
        assert status == 422 and "Cochez la case pour confirmer." in html
        # An unknown reason: said beside the choice.
        status, html, _ = await _post(
            analyst, f"{base}/rejeter", {**values, "reason": "999999", "confirm": "oui"}
        )
        assert status == 422 and "Ce motif n'est plus proposé" in html
        status, _, location = await _post(
            analyst,
            f"{base}/rejeter",
            {**values, "reason": doublon, "message": "Code : 503 052 9490.", "confirm": "oui"},
        )
        assert status == 303 and location.endswith("?fait=rejeter")
        status, html = await _page(analyst, base)
        # The analyst is shown by name, never by login.
        assert "par Awa Koné le" in html and "(Awa Koné)" in html and "awa.kone" not in html
        assert (
            "Vous avez déjà déposé cette requête : suivez-la avec son code.\n\n"
            "Code : 503 052 9490." in html
        )

    conn = await asyncpg.connect(database_url)
    try:
        message = await conn.fetchval(
            """SELECT h.message FROM triage.history h JOIN triage.queue_items q USING (request_id)
               WHERE q.code = $1 AND h.kind = 'rejected'""",
            code,
        )
    finally:
        await conn.close()
    assert message == (
        "Vous avez déjà déposé cette requête : suivez-la avec son code.\n\nCode : 503 052 9490."
    )
