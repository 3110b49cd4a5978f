"""What the trial of the administrator's pages left (December 2026), each defect held by its test
on the real gateway and services: forms that cut what was typed before checking it (a value
with something after its first 100 or 200 characters was saved as its beginning)."""

from __future__ import annotations

import asyncpg

from tests.staff.test_admin_trial import _admin, _post, _text


async def _count(database_url: str, sql: str, *args: object) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def test_over_long_input_is_refused_as_typed_in_every_admin_form(stack, database_url):
    """Each form cut its values (100, 200, 1 000 or 20 characters) and checked the rest: what
    came after the cut was lost, and a value padded past it was saved as its beginning."""
    gw = stack.gateway
    async with await _admin(stack, database_url) as http:
        # « Lieux »: cut at 200 and stripped, « Essaiville <250 spaces> Nord » was saved whole
        # as « Essaiville ».
        url = gw + "/admin/catalogue/lieux/nouveau"
        name = "Essaiville" + " " * 250 + "Nord"
        place = {"region": "Bagoué", "name": name, "kind": "commune"}
        status, location, page = await _post(http, url, url, place)
        assert status == 422, location
        assert 'id="err-name"' in page
        assert "Ce texte compte 264 caractères : 100 au plus." in _text(page)
        assert f'value="{name}"' in page  # what was typed, shown again whole
        region = "Région " + "r" * 143  # 150 characters: cut at 200, it said « 100 … au plus »
        status, _, page = await _post(
            http, url, url, {**place, "name": "Essaiville", "region": region}
        )
        assert status == 422
        assert "Ce texte compte 150 caractères : 100 au plus." in _text(page)
        assert f'value="{region}"' in page

        # « Délais »: the days cut at 100, « 30 <200 spaces> 0 » was saved as 30 days.
        url = gw + "/admin/delais"
        days = "30" + " " * 200 + "0"
        rule = {"nature": "reclamation", "kind": "answer", "body_id": "ministere-budget"}
        status, location, page = await _post(http, url, url, {**rule, "days": days})
        assert status == 422, location
        assert 'id="err-days"' in page
        assert "Ce texte compte 203 caractères : 20 au plus." in _text(page)
        # Shown again as typed, up to four times what the field takes (forms.TYPED_ROOM).
        assert f'value="{days[:80]}"' in page

        # A day off: cut at 1 000, « 07/08/2027 <995 spaces> x » was declared the 7 August.
        typed = "07/08/2027" + " " * 995 + "x"
        status, location, page = await _post(
            http, url, url + "/jours", {"day": typed, "label": "Deuil national"}
        )
        assert status == 422, location
        assert 'id="err-day"' in page
        assert "Ce texte compte 1 006 caractères : 20 au plus." in _text(page)

        # Removing one: cut at 20, « 2031-08-07 <20 spaces> x » removed the 7 August 2031.
        declared = {"day": "07/08/2031", "label": "Deuil national"}
        assert (await _post(http, url, url + "/jours", declared))[0] == 303
        status, location, page = await _post(
            http, url, url + "/jours/supprimer", {"day": "2031-08-07" + " " * 20 + "x"}
        )
        assert status == 422, location
        assert "Date invalide" in _text(page)

        # « Clés d'API »: refused in the words of every other form, and shown again as typed.
        url = gw + "/admin/cles-api"
        label = "SIGFIP " + "s" * 293  # 300 characters
        key = {"body_id": "ministere-budget", "label": label, "calls_per_minute": "60"}
        status, location, page = await _post(http, url, url, key)
        assert status == 422, location
        assert 'id="err-label"' in page
        assert "Ce texte compte 300 caractères : 120 au plus." in _text(page)
        assert f'value="{label}"' in page

    # Nothing written, not even a cut value.
    assert (
        await _count(database_url, "SELECT count(*) FROM intake.places WHERE name ~ '^Essaiville'")
        == 0
    )
    assert (
        await _count(
            database_url,
            "SELECT count(*) FROM treatment.deadline_policy WHERE body_id = 'ministere-budget'",
        )
        == 0
    )
    days_off = "SELECT array_agg(day::text ORDER BY day) FROM treatment.declared_days_off"
    assert await _count(database_url, days_off) == ["2031-08-07"]
    assert await _count(database_url, "SELECT count(*) FROM gateway.api_keys") == 0
