"""The focal point's « Tableau de bord » and « En attente »: its body's counters over the period
from the stats service (fed the events of tests/stats/dashboard_story.py), each a link to its list
with the period kept; another body's focal point sees its own body's counts, never these. In
Chromium: usable at 360 px, axe-core clean, the badge's contrast at least 4.5:1."""

from __future__ import annotations

import html as htmllib
import re

import aiohttp
import pytest

from services.stats.app import create_app as stats_app
from services.stats.settings import StatsSettings
from shared.identity import Identity, Role
from tests.browser import ARTIFACTS, axe_violations
from tests.staff.helpers import create_account, sign_in, signed_in_session
from tests.stats.dashboard_story import BODY, EXPECTED, OTHER, PERIOD, Story, subset
from tests.support import RunningApp, as_staff, eventually, signed_session

PASSWORD = "les compteurs de mon organisme"
QUERY = f"du={PERIOD[0]}&au={PERIOD[1]}"


@pytest.fixture
async def counted(settings_for, amqp_url, namespace, database_url, gateway_alone):
    """Stats fed the story, a gateway that asks it, and the accounts: (gateway url, stats)."""
    story = Story(amqp_url, namespace)
    async with RunningApp(stats_app(settings_for(StatsSettings))) as stats:
        await story.submissions()
        await story.decisions()
        await story.answers()
        await story.replies()
        url = f"{stats.url}/stats/body-dashboard?body_id={BODY}&from={PERIOD[0]}&to={PERIOD[1]}"
        admin = as_staff(Identity(staff_id="a", role=Role.ADMINISTRATOR))
        async with signed_session() as http:

            async def all_counted():
                async with http.get(url, headers=admin) as resp:
                    return resp.status == 200 and subset(await resp.json(), EXPECTED)

            await eventually(all_counted)
        gateway = await gateway_alone(stats_url=stats.url)
        await create_account(database_url, Role.FOCAL_POINT, "pf.budget", PASSWORD, BODY)
        await create_account(database_url, Role.FOCAL_POINT, "pf.justice", PASSWORD, OTHER)
        await create_account(database_url, Role.ANALYST, "an.tableau", PASSWORD)
        yield gateway.url


def _cards(page: str) -> dict[str, tuple[str, str]]:
    """label → (figure, link) of every card of the focal point's dashboard."""
    found = re.findall(
        r'<li class="card">\s*<h3>([^<]+)</h3>\s*<p class="figure"><a href="([^"]+)">(\d+)<', page
    )
    return {
        htmllib.unescape(label): (figure, htmllib.unescape(href)) for label, href, figure in found
    }


def _badge(page: str) -> str | None:
    match = re.search(r'class="badge">(\d+)<', page)
    return match[1] if match else None


async def _page(http: aiohttp.ClientSession, url: str) -> str:
    async with http.get(url) as resp:
        assert resp.status == 200, url
        return await resp.text()


async def test_the_focal_point_sees_its_body_counters_each_a_link(counted):
    gateway = counted
    async with await signed_in_session(gateway, "pf.budget", PASSWORD) as focal:
        page = await _page(focal, f"{gateway}/admin/?{QUERY}")
        # Another body asked in the address changes nothing: the body is the account's.
        asked_other = await _page(focal, f"{gateway}/admin/?{QUERY}&body_id={OTHER}")
    cards = _cards(page)
    assert "PERIODE DU 01/11/2026 au 30/11/2026" in page
    assert {label: figure for label, (figure, _) in cards.items()} == {
        "Total requêtes": "10",
        "Motions validées": "0",
        "Réclamations validées": "6",
        "Suggestions validées": "1",
        "Observations validées": "2",
        "Demandes d'information validées": "1",
        "Réclamations à traiter": "3",
        "Réclamations traitées": "4",
        "Avis attendus": "1",
        "Avis exprimés": "2",
        "Avis d'insatisfaction": "1",
        "Sans retour": "1",
    }
    assert re.search(r"Réclamations validées</h3>.*?<p class=\"percent\">60%</p>", page, re.S)
    # Each number leads to its list, the period kept.
    links = {label: href for label, (_, href) in cards.items()}
    assert links["Réclamations à traiter"] == f"/admin/traitements/en-cours?{QUERY}"
    assert links["Avis d'insatisfaction"] == f"/admin/traitements/insatisfaits?{QUERY}"
    assert links["Sans retour"] == f"/admin/pf/consultations?{QUERY}&liste=sans-retour"
    assert links["Suggestions validées"] == f"/admin/pf/consultations?{QUERY}&liste=suggestions"
    assert links["Motions validées"] == f"/admin/pf/consultations?{QUERY}&liste=motions"
    assert (
        links["Demandes d'information validées"]
        == f"/admin/pf/consultations?{QUERY}&liste=demandes-information"
    )
    # The natures' cards add up to « Total requêtes », each with its share.
    assert sum(int(f) for label, (f, _) in cards.items() if label.endswith(" validées")) == 10
    # « À traiter »: what waits for the body now (October's request too), to « En cours ».
    assert _badge(page) == str(EXPECTED["waiting"])
    # No period in its link: it counts every day (tests/staff/test_focal_cards.py).
    assert 'href="/admin/traitements/en-cours">À traiter' in page
    assert _cards(asked_other) == cards
    # « À traiter aujourd'hui »: the story's one request on hold, in words.
    assert "À traiter aujourd'hui" in page
    assert ", 1 mise en attente, " in page and "(s)" not in page
    # A bare « En attente » named three things (this count, « mise en attente », the analysts'
    # queue): the body's pages keep it for the hold alone.
    assert not re.search(r"En attente(?! d'examen)", page)


async def test_another_body_focal_point_never_sees_these_counts(counted):
    gateway = counted
    async with await signed_in_session(gateway, "pf.justice", PASSWORD) as other:
        page = await _page(other, f"{gateway}/admin/?{QUERY}")
        december = await _page(other, f"{gateway}/admin/?du=2026-12-01&au=2026-12-31")
    figures = {label: figure for label, (figure, _) in _cards(page).items()}
    assert figures["Total requêtes"] == "2" and figures["Réclamations validées"] == "2"
    assert figures["Réclamations à traiter"] == "1" and figures["Avis d'insatisfaction"] == "1"
    assert figures["Sans retour"] == "0" and figures["Suggestions validées"] == "0"
    assert _badge(page) == "1" and _badge(december) == "1"
    assert _cards(december)["Total requêtes"][0] == "0"
    # A period without a request has no shares: no « 100 % » of nothing, no « 0 % » beside 0.
    assert 'class="percent"' in page and 'class="percent"' not in december
    assert "Ministère du budget" not in page

    # The analysts keep their own dashboard (every body's submissions) and their queue's count.
    async with await signed_in_session(gateway, "an.tableau", PASSWORD) as analyst:
        page = await _page(analyst, f"{gateway}/admin/?{QUERY}")
    # Theirs lead to their queue (tests/staff/test_analyst_dashboard.py), none to a body's lists.
    assert _cards(page) and all(
        href.startswith("/admin/traitements?") for _, href in _cards(page).values()
    )
    assert "Réclamations à traiter" not in page and "Avis exprimés" not in page


async def test_the_focal_dashboard_without_stats_says_so(gateway_alone, database_url):
    gateway = await gateway_alone()
    await create_account(database_url, Role.FOCAL_POINT, "pf.seul", PASSWORD, BODY)
    async with await signed_in_session(gateway.url, "pf.seul", PASSWORD) as focal:
        page = await _page(focal, f"{gateway.url}/admin/")
    assert "ne sont pas disponibles pour le moment" in page and _badge(page) is None


async def _contrast(page, selector: str) -> float:
    """WCAG contrast of an element's text colour on its background colour."""
    return await page.evaluate(
        """(selector) => {
            const el = document.querySelector(selector);
            const style = getComputedStyle(el);
            const rgb = (c) => c.match(/\\d+(\\.\\d+)?/g).slice(0, 3).map(Number);
            const lum = ([r, g, b]) => {
                const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92
                                                   : Math.pow((v + 0.055) / 1.055, 2.4); };
                return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
            };
            const a = lum(rgb(style.color)), b = lum(rgb(style.backgroundColor));
            return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
        }""",
        selector,
    )


async def test_the_focal_dashboard_in_a_browser_at_360_px(counted, page):
    gateway = counted
    await sign_in(page, gateway, "pf.budget", PASSWORD)
    await page.set_viewport_size({"width": 360, "height": 740})
    await page.goto(f"{gateway}/admin/?{QUERY}")
    await page.get_by_role("heading", name="Tableau de bord").wait_for()
    to_treat = page.get_by_role("link", name=re.compile("Réclamations à traiter"))
    await to_treat.wait_for()
    assert (await to_treat.inner_text()).startswith("3")
    fits = await page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")
    assert fits, "the dashboard scrolls sideways at 360 px"
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=ARTIFACTS / "focal-dashboard-360.png", full_page=True)
    assert await _contrast(page, ".bo-waiting .badge") >= 4.5
    assert await axe_violations(page) == []
    # Without JavaScript's help: the period form is a plain GET that keeps the counters' links.
    await page.locator("#f-du").fill("2026-12-01")
    await page.locator("#f-au").fill("2026-12-31")
    await page.get_by_role("button", name="Appliquer la période").click()
    await page.get_by_text("PERIODE DU 01/12/2026 au 31/12/2026").wait_for()
    href = await page.get_by_role("link", name=re.compile("Sans retour")).get_attribute("href")
    assert "du=2026-12-01" in href and "liste=sans-retour" in href
