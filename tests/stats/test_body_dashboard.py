"""The focal point's « Tableau de bord » in stats: events in, counters out. Each phase of a body's
month (decisions, answers, the citizens' replies) moves the counters it should; every event is
delivered twice and counted once; another body's events never move them; a focal point gets its
own body whatever it asks. The public per-body figures (treated, satisfied) come from the same
events."""

from __future__ import annotations

import aiohttp
from prometheus_client import REGISTRY

from services.stats.app import create_app
from services.stats.settings import StatsSettings
from shared.identity import Identity, Role
from tests.stats.dashboard_story import (
    AFTER_ANSWERS,
    AFTER_VALIDATION,
    BODY,
    EXPECTED,
    OTHER,
    PERIOD,
    Story,
    subset,
)
from tests.support import RunningApp, as_staff, eventually, signed_session

ADMIN = as_staff(Identity(staff_id="admin-1", role=Role.ADMINISTRATOR))
FOCAL = as_staff(Identity(staff_id="pf-1", role=Role.FOCAL_POINT, body_id=BODY))
OTHER_FOCAL = as_staff(Identity(staff_id="pf-2", role=Role.FOCAL_POINT, body_id=OTHER))


def _duplicates() -> float:
    """Every redelivery the consumers recognised (the inbox), whatever its type."""
    total = 0.0
    for metric in REGISTRY.collect():
        if metric.name == "milie_messages_duplicate":
            total += sum(s.value for s in metric.samples if s.name.endswith("_total"))
    return total


async def _get(http: aiohttp.ClientSession, url: str, headers=None) -> tuple[int, dict]:
    async with http.get(url, headers=headers) as response:
        return response.status, await response.json()


async def test_each_phase_moves_its_counters_once_and_only_for_its_body(
    settings_for, amqp_url, namespace
):
    before = _duplicates()
    story = Story(amqp_url, namespace)
    async with RunningApp(create_app(settings_for(StatsSettings))) as running:
        base = running.url
        dashboard = f"{base}/stats/body-dashboard?body_id={BODY}&from={PERIOD[0]}&to={PERIOD[1]}"
        async with signed_session() as http:

            async def reached(expected: dict, url: str = dashboard, headers=ADMIN):
                status, body = await _get(http, url, headers)
                return body if status == 200 and subset(body, expected) else None

            await story.submissions()

            async def all_submitted():
                _, summary = await _get(http, f"{base}/stats/summary")
                return summary["total"] == len(story.ids)

            await eventually(all_submitted)
            # Nothing reached the body yet: the analysts have not decided.
            _, first = await _get(http, dashboard, ADMIN)
            assert first["total"] == 0 and first["waiting"] == 0

            await story.decisions()
            await eventually(lambda: reached(AFTER_VALIDATION))
            await story.answers()
            await eventually(lambda: reached(AFTER_ANSWERS))
            await story.replies()
            await eventually(lambda: reached(EXPECTED))

            async def redeliveries_seen():
                return _duplicates() >= before + story.redelivered

            await eventually(redeliveries_seen)
            _, final = await _get(http, dashboard, ADMIN)

            # The other body's counters: its own two requests, nothing of BODY's.
            other_url = f"{base}/stats/body-dashboard?body_id={OTHER}"
            _, other = await _get(http, other_url, ADMIN)
            # A focal point gets its own body, whatever it asks.
            _, own = await _get(http, dashboard, FOCAL)
            _, asked_other = await _get(http, dashboard, OTHER_FOCAL)
            _, unnamed = await _get(http, f"{base}/stats/body-dashboard", FOCAL)
            status_unnamed_admin, _ = await _get(http, f"{base}/stats/body-dashboard", ADMIN)
            # A period without requests: no counters, « À traiter » still what waits now.
            _, december = await _get(
                http, f"{base}/stats/body-dashboard?body_id={BODY}&from=2026-12-01", ADMIN
            )
            bad, _ = await _get(
                http,
                f"{base}/stats/body-dashboard?body_id={BODY}&from=2026-12-01&to=2026-11-01",
                ADMIN,
            )
            _, badge = await _get(http, f"{base}/stats/body-waiting?body_id={OTHER}", FOCAL)
            _, public = await _get(http, f"{base}/stats/bodies")

    assert {k: final[k] for k in EXPECTED} == EXPECTED
    assert final["body_name"] == "Ministère du budget et du Portefeuille de l'Etat"
    assert (final["from"], final["to"]) == PERIOD

    assert other["body_id"] == OTHER and other["total"] == 2
    assert (other["to_treat"], other["treated"], other["dissatisfied"]) == (1, 1, 1)
    assert other["waiting"] == 1 and other["without_opinion"] == 0

    assert own == final
    assert asked_other["body_id"] == OTHER and asked_other["total"] == 2
    assert unnamed["body_id"] == BODY and unnamed["total"] == EXPECTED["total"] + 1  # + October
    assert status_unnamed_admin == 400 and bad == 400

    assert december["total"] == 0 and december["treated"] == 0
    assert december["waiting"] == EXPECTED["waiting"]

    assert badge == {"body_id": BODY, "waiting": 4, "by_status": EXPECTED["waiting_by_status"]}

    by_id = {b["body_id"]: b for b in public["bodies"]}
    # Treated: answered and not reopened (r1…r4); one satisfied of two opinions.
    assert by_id[BODY]["treated"] == 4
    assert by_id[BODY]["opinions"] == 2 and by_id[BODY]["satisfied_percent"] == 50
    assert by_id[BODY]["partly_satisfied_percent"] == 0
    assert by_id[OTHER]["treated"] == 1 and by_id[OTHER]["satisfied_percent"] == 0
