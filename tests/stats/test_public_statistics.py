"""The public « Statistiques » (/statistiques and /api/v1/stats/bodies): per body, the requests
treated and the share of satisfied citizens, from the events of tests/stats/dashboard_story.py;
counts only, nothing of any citizen."""

from __future__ import annotations

import re

from gateway.app import create_app as gateway_app
from gateway.settings import GatewaySettings
from services.intake.app import create_app as intake_app
from services.intake.settings import IntakeSettings
from services.stats.app import create_app as stats_app
from services.stats.settings import StatsSettings
from tests.stats.dashboard_story import BODY, OTHER, Story
from tests.support import RunningApp, eventually, signed_session

NOBODY = "http://127.0.0.1:9"


def _row(page: str, name_part: str) -> list[str]:
    """The cells of the body's row whose name holds ``name_part``."""
    row = re.search(rf"<th scope=\"row\">[^<]*{name_part}[^<]*</th>(.*?)</tr>", page, re.S)
    assert row, name_part
    return [
        re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row[1])
    ]


async def test_the_public_page_tells_treated_and_satisfied_per_body(
    settings_for, amqp_url, namespace
):
    story = Story(amqp_url, namespace)
    async with (
        RunningApp(stats_app(settings_for(StatsSettings))) as stats,
        RunningApp(intake_app(settings_for(IntakeSettings))) as intake,
    ):
        await story.submissions()
        await story.decisions()
        await story.answers()
        await story.replies()
        urls = {f"{s}_url": NOBODY for s in ("triage", "treatment", "notify")}
        settings = settings_for(
            GatewaySettings, db_pool_min=1, stats_url=stats.url, intake_url=intake.url, **urls
        )
        async with RunningApp(gateway_app(settings)) as gateway, signed_session() as http:

            async def all_counted():
                async with http.get(f"{gateway.url}/api/v1/stats/bodies") as resp:
                    body = await resp.json()
                by_id = {b["body_id"]: b for b in body["bodies"]}
                done = BODY in by_id and by_id[BODY]["opinions"] == 2 and OTHER in by_id
                return by_id if done and by_id[OTHER]["opinions"] == 1 else None

            api = await eventually(all_counted)
            async with http.get(f"{gateway.url}/statistiques") as resp:
                assert resp.status == 200
                page = await resp.text()

    budget = api[BODY]
    assert budget["treated"] == 4  # answered, not reopened since
    assert budget["by_opinion"] == {"satisfied": 1, "partly_satisfied": 0, "not_satisfied": 1}
    assert budget["satisfied_percent"] == 50 and budget["partly_satisfied_percent"] == 0
    assert api[OTHER]["treated"] == 1 and api[OTHER]["satisfied_percent"] == 0
    # Counts only: no code, no request, no contact in the public answer.
    assert set(budget) == {
        "body_id",
        "body_name",
        "total",
        "by_nature",
        "treated",
        "opinions",
        "by_opinion",
        "satisfied_percent",
        "partly_satisfied_percent",
        "deadlines",
    }
    # « Délais respectés »: no deadline missed in the story, every answer on time.
    assert budget["deadlines"]["late_waiting"] == 0
    assert budget["deadlines"]["met_percent"] == 100

    # Total, the five natures, then « Traitées », « Avis exprimés », « Usagers satisfaits »,
    # « Délais respectés ».
    assert _row(page, "budget")[-4:] == ["4", "2", "50 %", "100 %"]
    assert _row(page, "Justice")[-4:] == ["1", "1", "0 %", "100 %"]
    # A body without any opinion: no share, said for screen readers.
    assert "> aucun avis</span>" in page
    assert _row(page, "TOTAUX")[-4:] == ["5", "3", "33 %", "100 %"]
    assert "Partiellement satisfait" in page and "@example.ci" not in page


async def test_the_whole_table_is_seen_on_a_desktop_and_scrolls_in_its_frame_on_a_phone(
    settings_for, browser
):
    """At 1280 px the table stopped at « Trai… » (« Traitées », « Avis exprimés », « Usagers
    satisfaits », « Délais respectés » behind a sideways scroll) with 300 px of the screen unused:
    the page's column was 60rem wide. Now every column is in sight at 1280 px; at 360 px the table
    still scrolls inside its own region, never the page. Without JavaScript, as a citizen may."""
    from tests.front.pages import SCREENSHOTS, new_page, no_horizontal_scroll

    async with (
        RunningApp(stats_app(settings_for(StatsSettings))) as stats,
        RunningApp(intake_app(settings_for(IntakeSettings))) as intake,
    ):
        urls = {f"{s}_url": NOBODY for s in ("triage", "treatment", "notify")}
        settings = settings_for(
            GatewaySettings, db_pool_min=1, stats_url=stats.url, intake_url=intake.url, **urls
        )
        async with RunningApp(gateway_app(settings)) as gateway:
            for width in (1280, 360):
                context, page = await new_page(browser, width=width, javascript=False)
                try:
                    await page.goto(gateway.url + "/statistiques")
                    region = page.get_by_role("region", name="Requêtes par organisme public")
                    sizes = await region.evaluate("e => [e.scrollWidth, e.clientWidth]")
                    last = page.get_by_role("columnheader", name="Délais respectés")
                    box = await last.bounding_box()
                    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                    await page.screenshot(
                        path=SCREENSHOTS / f"statistiques-{width}.png", full_page=True
                    )
                    if width == 1280:
                        assert sizes[0] <= sizes[1], f"the table scrolls at 1280 px: {sizes}"
                        assert box["x"] + box["width"] <= width, box
                    else:
                        assert sizes[0] > sizes[1]  # its own frame scrolls
                        assert await no_horizontal_scroll(page)
                        # The keyboard reaches the frame to scroll it.
                        assert await region.get_attribute("tabindex") == "0"
                finally:
                    await context.close()
