"""The catalogue a channel reads from the public API before it submits: ``GET
/api/v1/themes?body_id=…`` (as examples/publish_submission.py and the README tell) gives the
themes offered for that body, those a submission to it may name; without ``body_id``, every
theme."""

from __future__ import annotations

import aiohttp
import asyncpg

BODY = "ministere-budget"


async def _theme_ids(http: aiohttp.ClientSession, url: str) -> list[str]:
    async with http.get(url) as resp:
        assert resp.status == 200, await resp.text()
        return [t["id"] for t in (await resp.json())["themes"]]


async def test_themes_of_one_body_are_those_it_offers(front, database_url):
    conn = await asyncpg.connect(database_url)
    try:
        # The body offers one theme (and « Autre », offered everywhere); the others are not.
        await conn.execute(
            "INSERT INTO intake.body_themes (body_id, theme_id) VALUES ($1, 'accueil-agent')", BODY
        )
    finally:
        await conn.close()
    async with aiohttp.ClientSession() as http:
        offered = await _theme_ids(http, f"{front}/api/v1/themes?body_id={BODY}")
        assert offered == ["accueil", "accueil-agent", "autre"]
        every = await _theme_ids(http, f"{front}/api/v1/themes")
        assert set(offered) < set(every) and "accueil-espace" in every
        # A submission to the body naming a theme it does not offer is refused: the list above
        # is the one to choose from.
        submission = {
            "nature": "suggestion",
            "body_id": BODY,
            "theme_id": "accueil-espace",
            "message": "Ouvrir le guichet le samedi matin.",
            "contact": {"email": "kone@example.ci"},
        }
        async with http.post(f"{front}/api/v1/requests", json=submission) as resp:
            body = await resp.json()
            assert resp.status == 422, body
            assert [e["field"] for e in body["errors"]] == ["theme_id"]
