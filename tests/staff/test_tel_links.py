"""Every ``tel:`` link of the site in international form (``tel:+225`` and ten digits for an
Ivorian number), written by one Jinja filter (``gateway.web.phones.FILTERS``): the filter alone,
then the hrefs of the pages that carry a telephone — the citizens' footer (the call centre), the
back office's catalogue page of a body, and the contact of a request on the analyst's and the
focal point's pages."""

from __future__ import annotations

import html
import re

import jinja2
import pytest

from gateway.web import phones
from shared.identity import Role
from tests.stack import start_stack
from tests.staff.helpers import create_account, signed_in_session
from tests.treatment.pages import BODY, validated_reclamation

PASSWORD = "les numéros se composent de partout"
CALL_CENTRE = "27 20 21 22 23"  # a test value: the deployment gives the real number
HREF = re.compile(r'href="(tel:[^"]*)"')


@pytest.mark.parametrize(
    ("written", "href"),
    [
        ("27 20 21 22 23", "tel:+2252720212223"),
        ("07.07.12.34.56", "tel:+2250707123456"),
        ("0707123456", "tel:+2250707123456"),
        # Written before 2021 (eight digits): today's ten.
        ("20 21 11 00", "tel:+2252720211100"),
        # International already: kept.
        ("+2250707123456", "tel:+2250707123456"),
        ("+225 07 07 12 34 56", "tel:+2250707123456"),
        ("00225 27 20 21 22 23", "tel:+2252720212223"),
        ("+33 1 23 45 67 89", "tel:+33123456789"),
    ],
)
def test_the_tel_filter_writes_the_international_form(written, href):
    env = jinja2.Environment(autoescape=True)
    env.filters.update(phones.FILTERS)
    assert env.from_string("{{ p | tel }}").render(p=written) == href


@pytest.mark.parametrize(
    ("written", "shown"),
    [
        # Written before 2021 (eight digits): today's ten.
        ("20 21 11 00", "+225 27 20 21 11 00"),
        # However written, an Ivorian number is shown one way (the trial saw three).
        ("0707123456", "+225 07 07 12 34 56"),
        ("+2250707123456", "+225 07 07 12 34 56"),
        ("+225 07 07 12 3456", "+225 07 07 12 34 56"),
        ("07 07 12 34 56", "+225 07 07 12 34 56"),
        # A foreign number: its own international form.
        ("+33612345678", "+33 6 12 34 56 78"),
        ("0033 6 12 34 56 78", "+33 6 12 34 56 78"),
        # Not a number one can read: as written.
        ("abc", "abc"),
    ],
)
def test_the_telephone_filter_shows_one_form(written, shown):
    env = jinja2.Environment(autoescape=True)
    env.filters.update(phones.FILTERS)
    assert env.from_string("{{ p | telephone }}").render(p=written) == shown


@pytest.fixture
async def helped_stack(settings_for, smtp_server):
    """The whole platform, its gateway configured with a call centre's number."""
    exits = await start_stack(settings_for, smtp_server.port, call_centre_phone=CALL_CENTRE)
    async with exits:
        yield exits.stack


async def _hrefs(http, url: str) -> list[str]:
    async with http.get(url) as resp:
        assert resp.status == 200, url
        return [html.unescape(h) for h in HREF.findall(await resp.text())]


async def _shown(http, url: str) -> list[str]:
    """The text of each ``tel:`` link of the page."""
    async with http.get(url) as resp:
        page = await resp.text()
    return [html.unescape(t) for t in re.findall(r'href="tel:[^"]*"[^>]*>([^<]*)<', page)]


async def test_every_tel_link_of_the_pages_is_international(helped_stack, database_url):
    gw = helped_stack.gateway
    code = await validated_reclamation(helped_stack)  # its contact: « 07 07 12 34 56 »
    await create_account(database_url, Role.ADMINISTRATOR, "admin.tel", PASSWORD)
    await create_account(database_url, Role.ANALYST, "analyste.tel", PASSWORD)
    await create_account(database_url, Role.FOCAL_POINT, "pf.tel", PASSWORD, BODY)

    async with await signed_in_session(gw, "admin.tel", PASSWORD) as admin:
        # The citizens' footer: the call centre.
        assert await _hrefs(admin, gw + "/suivre") == ["tel:+2252720212223"]
        # The catalogue's page of a body: each of its numbers (« 27 20 21 11 00 », …).
        assert await _hrefs(admin, f"{gw}/admin/catalogue/organismes/{BODY}") == [
            "tel:+2252720211100",
            "tel:+2252720315000",
        ]
    async with await signed_in_session(gw, "analyste.tel", PASSWORD) as analyst:
        assert await _hrefs(analyst, f"{gw}/admin/traitements/{code}") == ["tel:+2250707123456"]
        assert await _shown(analyst, f"{gw}/admin/traitements/{code}") == ["+225 07 07 12 34 56"]
    async with await signed_in_session(gw, "pf.tel", PASSWORD) as focal:
        assert await _hrefs(focal, f"{gw}/admin/requetes/{code}") == ["tel:+2250707123456"]
        assert await _shown(focal, f"{gw}/admin/requetes/{code}") == ["+225 07 07 12 34 56"]
        # The line above the answer's form names the citizen by their number the same way.
        async with focal.get(f"{gw}/admin/requetes/{code}") as resp:
            page = HREF.sub("", await resp.text())
        assert "+2250707123456" not in page
        assert "+225 07 07 12 34 56" in page
