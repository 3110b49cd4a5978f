"""The citizen's replies to an answer (« Donner mon avis », « Relancer ») on a cheap phone: a text
past its field's length is refused beside the field and never sent back whole, and a refused
reply moves the focus to the errors (a keyboard or screen-reader user is told at once, as on
every other form)."""

from __future__ import annotations

import re

from shared import french
from tests.staff.helpers import form_token, new_session
from tests.track.test_answer_page import _answered

LONG = 30_000  # past the field's 5 000 characters (and intake's 20 000)
SUMMARY = '<div class="summary" role="alert" id="erreurs" tabindex="-1" autofocus>'


def _textarea(page: str, field_id: str) -> str:
    found = re.search(rf'<textarea id="{field_id}"[^>]*>([^<]*)</textarea>', page)
    assert found, field_id
    return found.group(1)


async def test_a_reply_too_long_is_refused_beside_its_field_cut_and_focused(
    relaxed_stack, amqp_url, namespace
):
    stack = relaxed_stack
    email = "awa.kone@example.ci"
    code, _ = await _answered(stack, amqp_url, namespace, email)
    said = f"Ce texte compte {french.number(LONG)} caractères : {french.number(5000)} au plus."
    async with new_session() as http:
        token = await form_token(http, stack.gateway + "/suivre")
        base = {"csrf_token": token, "code": code, "email": email}

        form = {**base, "message": "R" * LONG}
        async with http.post(stack.gateway + "/suivre/relancer", data=form) as resp:
            assert resp.status == 422
            page = await resp.text()
        assert re.search(r'<p class="error" id="err-relance">([^<]*)</p>', page).group(1) == said
        assert _textarea(page, "f-relance") == "R" * 5000  # cut to what the field takes
        assert SUMMARY in page
        assert "<title>Erreurs — Suivi de la requête" in page  # what a screen reader says first

        form = {**base, "opinion": "satisfied", "comment": "C" * LONG}
        async with http.post(stack.gateway + "/suivre/avis", data=form) as resp:
            assert resp.status == 422
            page = await resp.text()
        assert re.search(r'<p class="error" id="err-comment">([^<]*)</p>', page).group(1) == said
        assert _textarea(page, "f-comment") == "C" * 5000
        assert SUMMARY in page
