"""Intake's catalogue: loaded from the data files (upserted, never deleted, an administrator's
edit kept), searched by citizens, edited by administrators only."""

from __future__ import annotations

import json
import shutil
import uuid

import asyncpg

from services.intake.catalogue import files as catalogue
from services.intake.settings import IntakeSettings
from shared.identity import Identity, Role
from tests.front.conftest import OWNER, submission_fields
from tests.support import as_staff


async def _get(http, url, **kw):
    async with http.get(url, **kw) as resp:
        return resp.status, await resp.json()


async def test_the_data_files_are_loaded_and_searched(intake, http):
    status, places = await _get(http, intake.url + "/catalogue/places")
    assert status == 200
    regions = list(dict.fromkeys(p["region"] for p in places["places"]))
    assert len(regions) == 33  # the 2 autonomous districts and the 31 regions
    assert regions[:2] == ["District Autonome d'Abidjan", "District Autonome de Yamoussoukro"]
    names = {p["name"] for p in places["places"]}
    assert {
        "Plateau",
        "Yopougon",
        "Bouaké",
        "Korhogo",
        "San-Pédro",
        "Odienné",
        "Bondoukou",
    } <= names

    status, themes = await _get(http, intake.url + "/catalogue/themes")
    labels = [t["label"] for t in themes["themes"]]
    assert labels == [
        "ACCUEIL",
        "Environnement d'accueil / Salle d'attente",
        "Problème avec agent d'accueil",
        "Espace d'accueil",
        "Absence de renseignements",
        "Autre",  # offered for every body
    ]

    status, everything = await _get(http, intake.url + "/catalogue/bodies")
    assert everything["total"] == 11 and len(everything["bodies"]) == 11
    assert "Ministère de la Modernisation et de l'Innovation du Service Public" in {
        b["name"] for b in everything["bodies"]
    }

    async def search(q, **params):
        status, body = await _get(http, intake.url + "/catalogue/bodies", params={"q": q, **params})
        assert status == 200
        return body

    found = await search("education NATIONALE")
    assert [b["name"] for b in found["bodies"]] == ["Ministère de l'Education Nationale"]
    found = await search("20320888")
    assert [b["id"] for b in found["bodies"]] == ["ministere-affaires-etrangeres"]
    found = await search("cite administrative tour")
    assert {b["id"] for b in found["bodies"]} == {
        "ministere-education-nationale",
        "ministere-eaux-forets",
        "ministere-enseignement-superieur",
        "ministere-integration-africaine",
    }
    found = await search("cité ADMINISTRATIVE 19ème")
    assert [b["id"] for b in found["bodies"]] == ["ministere-eaux-forets"]
    assert (await search("sceaux"))["total"] == 1
    assert (await search("ceaux"))["total"] == 0  # a word's start, not any part of it
    assert (await search("étrangères"))["total"] == 1
    assert (await search("%"))["total"] == 11  # no wildcard gets through
    paged = await search("", per_page="4", page="3")
    assert paged["total"] == 11 and len(paged["bodies"]) == 3 and paged["page"] == 3
    status, body = await _get(http, intake.url + "/catalogue/bodies", params={"per_page": "0"})
    assert status == 422 and body["errors"][0]["field"] == "per_page"


async def test_administrators_edit_and_the_files_do_not_undo_it(
    intake, http, settings_for, database_url, tmp_path
):
    def as_(role: Role) -> dict[str, str]:
        return as_staff(Identity(staff_id=str(uuid.uuid4()), role=role))

    admin = as_(Role.ADMINISTRATOR)
    base = intake.url

    async def send(method, path, payload, headers=admin):
        async with http.request(method, base + path, json=payload, headers=headers) as resp:
            return resp.status, await resp.json()

    new_body = {"name": "Ministère de la Santé et de l'Hygiène Publique", "phones": ["20 21 08 71"]}
    assert (await send("POST", "/catalogue/bodies", new_body, headers={}))[0] == 401
    assert (await send("POST", "/catalogue/bodies", new_body, headers=as_(Role.ANALYST)))[0] == 403
    status, created = await send("POST", "/catalogue/bodies", new_body)
    assert status == 201 and created["id"] == "ministere-de-la-sante-et-de-l-hygiene-publique"
    assert (await send("POST", "/catalogue/bodies", new_body))[0] == 409
    status, body = await send("POST", "/catalogue/bodies", {"name": "", "phones": ["abc"]})
    assert status == 422
    assert {e["field"]: e["message"] for e in body["errors"]} == {
        "name": "Ce champ est obligatoire.",
        "phones.0": "Valeur invalide.",
    }
    found = await _get(http, base + "/catalogue/bodies", params={"q": "sante hygiene"})
    assert found[1]["total"] == 1

    # A theme and its sub-theme; the new body offers only them.
    status, _ = await send("POST", "/catalogue/themes", {"label": "DÉLAIS", "id": "delais"})
    assert status == 201
    status, sub = await send(
        "POST", "/catalogue/themes", {"label": "Dossier en attente", "parent_id": "delais"}
    )
    assert status == 201 and sub["parent_id"] == "delais"
    status, _ = await send(
        "POST", "/catalogue/themes", {"label": "Trop profond", "parent_id": sub["id"]}
    )
    assert status == 422  # two levels only
    status, edited = await send(
        "PATCH", f"/catalogue/bodies/{created['id']}", {"themes": ["delais"]}
    )
    assert status == 200 and edited["themes"] == ["delais"]
    status, shown = await _get(http, f"{base}/catalogue/bodies/{created['id']}")
    # « Autre » is offered for every body, last, whatever its list.
    assert [t["id"] for t in shown["themes"]] == ["delais", sub["id"], "autre"]

    headers = {"X-Draft-Owner": OWNER}
    fields = submission_fields(body_id=created["id"], theme_id="accueil-espace")
    async with http.post(base + "/drafts", json={"fields": fields}, headers=headers) as resp:
        refused = await resp.json()
    assert resp.status == 422
    assert refused["errors"] == [
        {
            "field": "theme_id",
            "code": "value_error",
            "message": "Ce thème n'est pas proposé pour cet organisme.",
        }
    ]
    fields = submission_fields(body_id=created["id"], theme_id=sub["id"])
    async with http.post(base + "/drafts", json={"fields": fields}, headers=headers) as resp:
        assert resp.status == 201
    # « Autre » fits a body whatever its list; it cannot be retired.
    fields = submission_fields(body_id=created["id"], theme_id="autre")
    async with http.post(base + "/drafts", json={"fields": fields}, headers=headers) as resp:
        assert resp.status == 201
    assert (await send("PATCH", "/catalogue/themes/autre", {"active": False}))[0] == 422

    # An administrator edits a body from the files, deactivates a place; then a new version of
    # the data files is loaded (as at the next start): the edits stay, the rest follows the files.
    status, edited = await send(
        "PATCH",
        "/catalogue/bodies/ministere-budget",
        {"phones": ["27 20 21 11 00"], "location": "Plateau, immeuble SCIAM"},
    )
    assert status == 200 and edited["phones"] == ["27 20 21 11 00"]
    status, place = await send("PATCH", "/catalogue/places/abidjan-plateau", {"active": False})
    assert status == 200 and place["active"] is False
    assert (await send("PATCH", "/catalogue/places/nulle-part", {"active": False}))[0] == 404
    status, place = await send(
        "POST", "/catalogue/places", {"region": "Grands-Ponts", "name": "Toupah"}
    )
    assert status == 201 and place["id"] == "grands-ponts-toupah"

    folder = tmp_path / "catalogue"
    shutil.copytree(catalogue.DATA, folder)
    bodies = json.loads((folder / "bodies.json").read_text())
    for b in bodies:
        b["location"] = "Nouvelle adresse"
    bodies = [b for b in bodies if b["id"] != "ministere-defense"]  # gone from the file
    (folder / "bodies.json").write_text(json.dumps(bodies))
    conn = await asyncpg.connect(database_url, server_settings={"search_path": "intake"})
    try:
        async with conn.transaction():
            await catalogue.load(conn, folder)
        rows = {
            r["id"]: r for r in await conn.fetch("SELECT id, location, phones, active FROM bodies")
        }
        assert rows["ministere-budget"]["location"] == "Plateau, immeuble SCIAM"
        assert rows["ministere-eaux-forets"]["location"] == "Nouvelle adresse"
        assert rows["ministere-defense"]["active"]  # never deleted
        assert created["id"] in rows
        assert not await conn.fetchval("SELECT active FROM places WHERE id = 'abidjan-plateau'")
    finally:
        await conn.close()

    # Deactivated: gone from the citizens' lists, refused in a submission.
    status, _ = await send("PATCH", "/catalogue/bodies/ministere-eaux-forets", {"active": False})
    assert status == 200
    listed = await _get(http, base + "/catalogue/bodies")
    assert "ministere-eaux-forets" not in {b["id"] for b in listed[1]["bodies"]}
    assert (await _get(http, base + "/catalogue/bodies/ministere-eaux-forets"))[0] == 404
    places = await _get(http, base + "/catalogue/places")
    assert "abidjan-plateau" not in {p["id"] for p in places[1]["places"]}
    assert places[1]["places"][-1]["id"] != "grands-ponts-toupah"  # joined its region
    fields = submission_fields(body_id="ministere-eaux-forets", place_id="abidjan-plateau")
    async with http.post(base + "/drafts", json={"fields": fields}, headers=headers) as resp:
        refused = await resp.json()
    assert {e["field"] for e in refused["errors"]} == {"body_id", "place_id"}

    status, everything = await _get(http, base + "/catalogue/admin", headers=admin)
    assert status == 200
    assert "ministere-eaux-forets" in {b["id"] for b in everything["bodies"]}
    assert (await _get(http, base + "/catalogue/admin", headers=as_(Role.FOCAL_POINT)))[0] == 403


async def test_a_catalogue_change_reaches_every_copy_before_the_next_submission(
    intake, http, settings_for
):
    """Each copy of intake keeps the catalogue rows submissions name; a change made through one
    copy is seen at once by that copy and, through the database's notification, by the others."""
    from services.intake.app import create_app
    from tests.support import RunningApp, eventually

    admin = as_staff(Identity(staff_id=str(uuid.uuid4()), role=Role.ADMINISTRATOR))
    api = as_staff(channel="api")

    async def submit(copy, **overrides):
        fields = submission_fields(**overrides)
        async with http.post(copy.url + "/requests", json=fields, headers=api) as resp:
            return resp.status, await resp.json()

    async def change(path, payload):
        async with http.patch(intake.url + path, json=payload, headers=admin) as resp:
            assert resp.status == 200

    async def refuses(copy, field):
        status, body = await submit(copy)
        return status == 422 and body["errors"][0]["field"] == field

    async with RunningApp(create_app(settings_for(IntakeSettings, db_pool_min=1))) as other:
        for copy in (intake, other):  # both copies read, and keep, ministere-budget's rows
            assert (await submit(copy))[0] == 201
            assert (await submit(copy))[0] == 201

        await change("/catalogue/bodies/ministere-budget", {"active": False})
        assert await refuses(intake, "body_id")  # the copy that made the change: at once
        await eventually(lambda: refuses(other, "body_id"))  # the other: once notified

        # Back, but offering one sub-theme only: the one submitted above is now refused.
        await change(
            "/catalogue/bodies/ministere-budget", {"active": True, "themes": ["accueil-agent"]}
        )
        assert await refuses(intake, "theme_id")
        await eventually(lambda: refuses(other, "theme_id"))


async def test_the_kept_catalogue_answers_as_the_database_does(intake, database_url):
    """Every body × theme × place, unknown and missing ones too, with inactive rows and bodies
    offering some themes only: the catalogue kept in memory answers what the query answers."""
    from services.intake import repository
    from services.intake.catalogue.cache import Catalogue

    conn = await asyncpg.connect(database_url, server_settings={"search_path": "intake"})
    try:
        await conn.execute(
            """UPDATE bodies SET active = false WHERE id = 'ministere-defense';
               UPDATE places SET active = false WHERE id = 'abidjan-yopougon';
               UPDATE themes SET active = false WHERE id = 'accueil-renseignements';
               INSERT INTO themes (id, parent_id, label, active) VALUES
                   ('delais', NULL, 'DÉLAIS', false),
                   ('delais-attente', 'delais', 'Dossier en attente', true);
               INSERT INTO body_themes (body_id, theme_id) VALUES
                   ('ministere-budget', 'accueil'),
                   ('ministere-eaux-forets', 'accueil-agent'),
                   ('ministere-eaux-forets', 'delais-attente');"""
        )
        catalogue = await Catalogue.read(conn)
        bodies = [r["id"] for r in await conn.fetch("SELECT id FROM bodies")] + ["nulle-part"]
        themes = [r["id"] for r in await conn.fetch("SELECT id FROM themes")] + [None, "inconnu"]
        places = ["abidjan-plateau", "abidjan-yopougon", None, "nulle-part"]
        assert len(bodies) == 12 and len(themes) == 10  # « autre » among them
        for body in bodies:
            for theme in themes:
                for place in places:
                    expected = dict(await repository.catalogue_facts(conn, body, theme, place))
                    assert catalogue.facts(body, theme, place) == expected, (body, theme, place)
    finally:
        await conn.close()
