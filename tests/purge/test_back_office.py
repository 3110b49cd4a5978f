"""The back office after the purge (over HTTP, signed in as the staff are): the analysts' and the
focal point's request pages say « Données personnelles supprimées le … » where the citizen's
message and contact were, keep the milestones and offer no message to the citizen; their lists
still show the request, with the same sentence where its message was."""

from __future__ import annotations

from html import unescape

from shared import french
from shared.identity import Role
from shared.lifecycle import QueueStatus
from tests.purge.conftest import (
    BODY,
    EMAIL,
    LAST_NAME,
    PHRASE,
    applied_everywhere,
    pool_of,
    purge_events,
    quiet,
    submitted,
    sweep,
    treated_and_closed,
)
from tests.staff.helpers import create_account, signed_in_session

PASSWORD = "la purge est passée par ici"


async def _page(http, url: str) -> str:
    async with http.get(url) as resp:
        html = unescape(await resp.text())
        assert resp.status == 200, html
        return html


def _nothing_of_the_citizen(html: str) -> None:
    assert EMAIL not in html and LAST_NAME not in html and PHRASE not in html


async def test_the_staff_pages_of_a_purged_request_say_when_its_data_went(stack, database_url):
    await create_account(database_url, Role.ANALYST, "awa.kone", PASSWORD)
    await create_account(database_url, Role.FOCAL_POINT, "koffi.yao", PASSWORD, BODY, "Koffi YAO")
    request_id, code = await submitted(stack)
    await treated_and_closed(stack, code)
    await quiet(stack)
    assert await sweep(stack) == [code]
    [event_id] = await purge_events(stack, code)
    await applied_everywhere(stack, event_id)
    purged_at = await pool_of(stack, "intake").fetchval(
        "SELECT purged_at FROM requests WHERE id = $1", request_id
    )
    said = "Données personnelles supprimées le <time datetime="
    day = french.day(purged_at)

    async with await signed_in_session(stack.gateway, "awa.kone", PASSWORD) as http:
        html = await _page(http, f"{stack.gateway}/admin/traitements/{code}")
        _nothing_of_the_citizen(html)
        # Where the message was, and where the contact was.
        assert html.count(said) == 2 and f">{day}</time>" in html
        assert "Nom et prénoms" not in html
        # The milestones stay; no clarification can be sent to nobody.
        assert "Historique" in html and "Validée" in html
        assert f"/admin/traitements/{code}/clarifier" not in html
        listed = await _page(
            http, f"{stack.gateway}/admin/traitements?statut={QueueStatus.VALIDATED.value}"
        )
        assert code in listed
        assert f"Données personnelles supprimées le {day}." in listed
        _nothing_of_the_citizen(listed)
        exported = await _page(
            http,
            f"{stack.gateway}/admin/traitements/export.csv?statut={QueueStatus.VALIDATED.value}",
        )
        assert code in exported and f"Données personnelles supprimées le {day}." in exported
        _nothing_of_the_citizen(exported)

    async with await signed_in_session(stack.gateway, "koffi.yao", PASSWORD) as http:
        html = await _page(http, f"{stack.gateway}/admin/requetes/{code}")
        _nothing_of_the_citizen(html)
        assert html.count(said) == 2 and f">{day}</time>" in html
        assert "Nom et prénoms" not in html
        assert "Historique" in html
        assert f"/admin/requetes/{code}/repondre-a-nouveau" not in html
        listed = await _page(http, f"{stack.gateway}/admin/traitements/insatisfaits")
        assert code in listed
        assert f"Données personnelles supprimées le {day}." in listed
        _nothing_of_the_citizen(listed)
        exported = await _page(http, f"{stack.gateway}/admin/traitements/insatisfaits/export.csv")
        assert code in exported and f"Données personnelles supprimées le {day}." in exported
        _nothing_of_the_citizen(exported)
