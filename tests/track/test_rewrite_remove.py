"""« Modifier » after a reformulation request, on a phone: a document kept from a refused
« Modifier » (listed under « Documents déjà joints ») can be taken out again — « Retirer » — as on
the submission form; before, it could only be sent with the message."""

from __future__ import annotations

import re

import aiohttp

from shared.messages import RequestReformulationRequestedV1
from shared.service import POOL
from tests.front.conftest import PDF, zip_bytes
from tests.staff.helpers import form_token, new_session
from tests.support import publish_event
from tests.track.conftest import ANALYST, applied, now, submit

REWRITTEN = "Au guichet du Plateau, le 3 février : je joins le bon reçu."


def _rewrite(token: str, code: str, email: str, *parts: tuple[str, object]) -> aiohttp.FormData:
    """The rewrite form as the page sends it: the token first, then the fields and files."""
    form = aiohttp.FormData(default_to_multipart=True)
    for name, value in (("csrf_token", token), ("code", code), ("email", email), *parts):
        if isinstance(value, tuple):  # a file: (filename, bytes)
            form.add_field(name, value[1], filename=value[0], content_type="application/pdf")
        else:
            form.add_field(name, value)
    return form


async def test_a_kept_document_can_be_removed_before_the_rewrite(
    relaxed_stack, amqp_url, namespace
):
    stack = relaxed_stack
    email = "koffi.yao@example.ci"
    request_id, code = await submit(stack, email)
    intake = stack.apps["intake"].app[POOL]
    asked = RequestReformulationRequestedV1(
        request_id=request_id,
        code=code,
        analyst_message="Joignez le reçu.",
        actor=ANALYST,
        decided_at=now(),
    )
    async with intake.acquire() as conn:
        await applied(conn, await publish_event(amqp_url, namespace, asked))

    async with new_session() as http:
        token = await form_token(http, stack.gateway + "/suivre")
        # The wrong receipt with a file that is no PDF: refused, the receipt kept and listed.
        form = _rewrite(
            token,
            code,
            email,
            ("message", REWRITTEN),
            ("attachments", ("mauvais-recu.pdf", PDF)),
            ("attachments", ("facture.pdf", zip_bytes())),
        )
        async with http.post(stack.gateway + "/suivre/modifier", data=form) as resp:
            assert resp.status == 422
            page = await resp.text()
        draft_id = re.search(r'name="draft_id" value="([^"]+)"', page).group(1)
        kept = re.search(r'<input type="checkbox" id="rm-([^"]+)" name="remove_file"', page)
        assert kept, "no « Retirer » beside the kept document"
        assert '<label for="rm-' in page and "Retirer « mauvais-recu.pdf »" in page

        # « Retirer » ticked, « Modifier »: rewritten without it.
        form = _rewrite(
            token,
            code,
            email,
            ("draft_id", draft_id),
            ("message", REWRITTEN),
            ("remove_file", kept.group(1)),
        )
        async with http.post(
            stack.gateway + "/suivre/modifier", data=form, allow_redirects=False
        ) as resp:
            assert resp.status == 303, await resp.text()
    assert await intake.fetchval("SELECT status FROM requests WHERE code = $1", code) == (
        "submitted"
    )
    attached = await intake.fetchval(
        "SELECT count(*) FROM attachments a JOIN requests r ON r.id = a.request_id "
        "WHERE r.code = $1",
        code,
    )
    assert attached == 0
