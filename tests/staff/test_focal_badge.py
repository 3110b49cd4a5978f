"""The focal point's « Tableau de bord » shows in its header's « À traiter » the figure its own
« À traiter aujourd'hui » shows, read with the cards in one snapshot of stats: the header's count
is not asked of stats a second time (the two answers could differ for a moment, as events come).
Any other back-office page still asks it."""

from __future__ import annotations

import re

from prometheus_client import REGISTRY

from shared.identity import Role
from tests.staff.helpers import create_account, signed_in_session

PASSWORD = "un seul chiffre pour la page"
BADGE = re.compile(r'À traiter <span class="badge">(\d+)<')
TODAY = re.compile(r"toutes périodes confondues : <a [^>]+>(\d+) requêtes?<")


def _answered(route: str) -> float:
    """How many GETs of ``route`` the services of this process answered (the stack's apps share
    the process's registry; stats alone has these routes)."""
    labels = {"route": route, "method": "GET", "status": "200"}
    return REGISTRY.get_sample_value("milie_http_requests_total", labels) or 0.0


async def _get(http, url: str) -> str:
    async with http.get(url) as resp:
        assert resp.status == 200, url
        return await resp.text()


async def test_the_dashboard_header_shows_its_own_count_without_asking_again(stack, database_url):
    await create_account(database_url, Role.FOCAL_POINT, "pf.badge", PASSWORD, "ministere-budget")
    async with await signed_in_session(stack.gateway, "pf.badge", PASSWORD) as http:
        badge, dashboard = _answered("/stats/body-waiting"), _answered("/stats/body-dashboard")
        page = await _get(http, stack.gateway + "/admin/")
        assert _answered("/stats/body-dashboard") == dashboard + 1
        assert _answered("/stats/body-waiting") == badge  # the dashboard's own figure
        assert BADGE.search(page)[1] == TODAY.search(page)[1] == "0"

        # Another page has no such figure: it asks.
        await _get(http, stack.gateway + "/admin/aide")
        assert _answered("/stats/body-waiting") == badge + 1
