"""A citizen's telephone number written one way on every page (``gateway.web.phones``): the
Ivorian way, « +225 07 07 12 34 56 », a foreign number in its international form. The trial saw
« 07 07 12 34 56 » typed, « +225 07 07 12 3456 » on the confirmation page and « +2250707123456 »
in the back office."""

from __future__ import annotations

import html
import re

import aiohttp

from tests.front.pages import form_fields
from tests.front.test_phone_360 import TOKEN

FORM = "/soumettre/formulaire"


async def _confirmation(front: str, country: str, phone: str) -> str:
    url = front + FORM + "?nature=reclamation&organisme=ministere-budget"
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(url) as resp:
            token = TOKEN.search(await resp.text()).group(1)
        form = form_fields(
            token,
            place_id="abidjan-plateau",
            message="Le guichet ferme avant l'heure.",
            last_name="KONE",
            first_names="Awa",
            country=country,
            phone=phone,
            email="awa@example.ci",
        )
        async with http.post(front + FORM, data=form) as resp:
            page = await resp.text()
            assert resp.url.path == "/soumettre/confirmer", page[:2000]
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


async def test_the_confirmation_shows_the_number_the_ivorian_way(front):
    said = await _confirmation(front, "CI", "07 07 12 34 56")
    assert "+225 07 07 12 34 56" in said, re.search(r"Téléphone portable\s+(\S.{0,30})", said)
    # However typed (the form's SMS take Ivorian mobiles only: foreign numbers are refused).
    said = await _confirmation(front, "CI", "+2250707123456")
    assert "+225 07 07 12 34 56" in said
