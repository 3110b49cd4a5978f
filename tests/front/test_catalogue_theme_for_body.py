"""A new theme offered for a body (« Ajouter un thème pour cet organisme »): intake makes the
theme and adds it to the body's list in one transaction, or does neither. A body that is not
there is a 404 that says so in a field a program reads (``body_not_found``), in French for the
page, with nothing written; a retired body takes it in its list, and the answer says the body is
retired (it offers nothing to citizens until restored)."""

from __future__ import annotations

import uuid

import asyncpg

from shared.identity import Identity, Role
from tests.support import as_staff

ADMIN = as_staff(Identity(staff_id=str(uuid.uuid4()), role=Role.ADMINISTRATOR))


async def _send(http, url: str, method: str, payload: dict) -> tuple[int, dict]:
    async with http.request(method, url, json=payload, headers=ADMIN) as resp:
        return resp.status, await resp.json()


async def _rows(database_url: str) -> tuple[list, list]:
    conn = await asyncpg.connect(database_url)
    try:
        themes = await conn.fetch("SELECT * FROM intake.themes ORDER BY id")
        pairs = await conn.fetch("SELECT * FROM intake.body_themes ORDER BY body_id, theme_id")
        return [dict(r) for r in themes], [dict(r) for r in pairs]
    finally:
        await conn.close()


async def test_a_theme_for_a_body_that_is_not_there_is_refused_and_nothing_is_written(
    intake, http, database_url
):
    before = await _rows(database_url)
    status, answer = await _send(
        http,
        intake.url + "/catalogue/themes",
        "POST",
        {"label": "Thème orphelin", "body_id": "nulle-part"},
    )
    answer.pop("correlation_id", None)
    assert (status, answer) == (
        404,
        {
            "error": "body_not_found",
            "message": "Cet organisme public n'existe pas.",
            "body_id": "nulle-part",
        },
    )
    assert await _rows(database_url) == before


async def test_a_theme_for_a_body_joins_its_list_and_says_when_the_body_is_retired(
    intake, http, database_url
):
    base = intake.url
    status, body = await _send(http, base + "/catalogue/bodies", "POST", {"name": "Organisme A"})
    assert status == 201 and body["themes"] == []
    async with http.get(f"{base}/catalogue/bodies/{body['id']}") as resp:
        offered = {t["id"] for t in (await resp.json())["themes"] if not t["parent_id"]}

    # A body without a list offered every theme: it keeps them, and the new one.
    status, made = await _send(
        http, base + "/catalogue/themes", "POST", {"label": "SOINS", "body_id": body["id"]}
    )
    assert status == 201, made
    assert made["id"] == "soins" and made["body"]["active"] is True
    assert made["body"]["themes_before"] == []
    assert set(made["body"]["themes"]) == offered - {"autre"} | {"soins"}

    # A label taken: the 409 as without a body, and the body's list left as it was.
    _, pairs = await _rows(database_url)
    status, _ = await _send(
        http, base + "/catalogue/themes", "POST", {"label": "SOINS", "body_id": body["id"]}
    )
    assert status == 409
    assert (await _rows(database_url))[1] == pairs

    # Retired: the theme joins its list, ready for when it is restored; the answer says so.
    status, retired = await _send(
        http, f"{base}/catalogue/bodies/{body['id']}", "PATCH", {"active": False}
    )
    # An update says what it replaced, as intake found it: what it really changed.
    assert status == 200 and (retired["before"]["active"], retired["active"]) == (True, False)
    status, made = await _send(
        http, base + "/catalogue/themes", "POST", {"label": "URGENCES", "body_id": body["id"]}
    )
    assert status == 201, made
    assert made["body"]["active"] is False
    assert made["body"]["themes"] == sorted({*made["body"]["themes_before"], "urgences"})
