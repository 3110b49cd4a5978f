"""« Administration › Catalogue » (backoffice.catalogue) on the real gateway and intake: an
administrator adds, edits and retires bodies, themes and places; errors come beside the field with
what was typed kept; retired rows are no longer offered to citizens but stay in intake; every
change is a line of the audit log (who, what, what changed)."""

from __future__ import annotations

import html
import re

import asyncpg

from shared.identity import Role
from tests.staff.helpers import create_account, form_token, signed_in_session

PASSWORD = "l'administrateur tient le catalogue"
SANTE = "Ministère de la Santé et de l'Hygiène Publique"
SANTE_ID = "ministere-de-la-sante-et-de-l-hygiene-publique"


def _text(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


async def _audit(database_url: str) -> list[dict]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            """SELECT actor_login, action, target, detail FROM gateway.audit_log
               WHERE action LIKE 'catalogue_%' ORDER BY id"""
        )
    finally:
        await conn.close()
    return [dict(r) for r in rows]


async def test_an_administrator_keeps_the_catalogue(stack, database_url):
    gw = stack.gateway
    await create_account(database_url, Role.ADMINISTRATOR, "admin.catalogue", PASSWORD)
    http = await signed_in_session(gw, "admin.catalogue", PASSWORD)
    try:
        # The menu leads there; the list shows the bodies of the data files, searchable.
        async with http.get(gw + "/admin/") as resp:
            assert 'href="/admin/catalogue"' in await resp.text()
        async with http.get(gw + "/admin/catalogue", params={"q": "portefeuille"}) as resp:
            page = _text(await resp.text())
        assert resp.status == 200
        assert "Ministère du budget et du Portefeuille de l'Etat" in page
        assert "Ministère de la Défense" not in page

        # A new body: errors beside the fields, what was typed kept.
        token = await form_token(http, gw + "/admin/catalogue/organismes/nouveau")
        bad = {
            "csrf_token": token,
            "name": "",
            "acronym": "MSHP",
            "phones": "27 20 21 08 71, abc",
            "email": "pas-une-adresse",
            "location": "Plateau, Tour C",
            "hours": "8 h – 16 h",
        }
        async with http.post(gw + "/admin/catalogue/organismes/nouveau", data=bad) as resp:
            page = await resp.text()
        assert resp.status == 422
        for field in ("name", "phones", "email"):
            assert f'id="err-{field}"' in page, field
        assert 'value="27 20 21 08 71, abc"' in page and 'value="MSHP"' in page

        good = {**bad, "name": SANTE, "phones": "27 20 21 08 71, 27 20 22 00 00"}
        good["email"] = "contact@sante.gouv.ci"
        async with http.post(
            gw + "/admin/catalogue/organismes/nouveau", data=good, allow_redirects=False
        ) as resp:
            assert resp.status == 303
            assert resp.headers["Location"] == f"/admin/catalogue/organismes/{SANTE_ID}?fait=cree"
        async with http.get(gw + f"/admin/catalogue/organismes/{SANTE_ID}?fait=cree") as resp:
            raw = await resp.text()
        page = _text(raw)
        assert "L'organisme est ajouté au catalogue." in page
        assert "MSHP" in page and "8 h – 16 h" in page and "contact@sante.gouv.ci" in page
        assert 'href="tel:+2252720210871"' in raw
        # Every theme is offered (no list yet), « Autre » too.
        assert "Absence de renseignements" in page and "Autre" in page
        # Citizens find it by its acronym too; the back office's list as well.
        async with http.get(
            stack.url("intake") + "/catalogue/bodies", params={"q": "mshp"}
        ) as resp:
            found = await resp.json()
        assert [b["id"] for b in found["bodies"]] == [SANTE_ID]
        assert found["bodies"][0]["hours"] == "8 h – 16 h"
        async with http.get(gw + "/admin/catalogue", params={"q": "mshp"}) as resp:
            assert SANTE in html.unescape(await resp.text())
        # The same name again: refused beside the name.
        async with http.post(gw + "/admin/catalogue/organismes/nouveau", data=good) as resp:
            assert resp.status == 422
            assert "Un organisme porte déjà ce nom" in html.unescape(await resp.text())

        # A theme for this body with two sub-themes: the body now offers it (and what it had).
        token = await form_token(http, gw + f"/admin/catalogue/organismes/{SANTE_ID}")
        async with http.post(
            gw + f"/admin/catalogue/organismes/{SANTE_ID}/nouveau-theme",
            data={"csrf_token": token, "label": "", "children": "x"},
        ) as resp:
            assert resp.status == 422
            assert 'id="err-label"' in await resp.text()
        async with http.post(
            gw + f"/admin/catalogue/organismes/{SANTE_ID}/nouveau-theme",
            data={
                "csrf_token": token,
                "label": "SOINS",
                "children": "Attente aux urgences\nCoût des soins\n",
            },
        ) as resp:
            assert resp.status == 200
            assert "Le thème est ajouté" in html.unescape(await resp.text())
        async with http.get(stack.url("intake") + f"/catalogue/bodies/{SANTE_ID}") as resp:
            offered = [t["label"] for t in (await resp.json())["themes"]]
        assert offered[-1] == "Autre"
        assert {"SOINS", "Attente aux urgences", "Coût des soins", "ACCUEIL"} <= set(offered)

        # Only SOINS ticked: ACCUEIL is no longer offered to it; « Autre » still is.
        async with http.post(
            gw + f"/admin/catalogue/organismes/{SANTE_ID}/themes",
            data={"csrf_token": token, "themes": "soins"},
        ) as resp:
            assert resp.status == 200
        async with http.get(stack.url("intake") + f"/catalogue/bodies/{SANTE_ID}") as resp:
            offered = [t["label"] for t in (await resp.json())["themes"]]
        assert offered == ["SOINS", "Attente aux urgences", "Coût des soins", "Autre"]

        # Editing: only what changed is sent and logged.
        async with http.post(
            gw + f"/admin/catalogue/organismes/{SANTE_ID}/modifier",
            data={**good, "csrf_token": token, "hours": "7 h 30 – 16 h 30"},
        ) as resp:
            assert "Les modifications sont enregistrées." in html.unescape(await resp.text())

        # Retired: no longer offered to citizens, still in intake (requests keep it).
        async with http.post(
            gw + f"/admin/catalogue/organismes/{SANTE_ID}/retirer", data={"csrf_token": token}
        ) as resp:
            assert "Retiré" in _text(await resp.text())
        async with http.get(
            stack.url("intake") + "/catalogue/bodies", params={"q": "sante hygiene"}
        ) as resp:
            assert (await resp.json())["total"] == 0
        async with http.get(
            gw + "/soumettre/organisme", params={"nature": "reclamation", "q": "sante hygiene"}
        ) as resp:
            assert resp.status == 200
            assert SANTE not in html.unescape(await resp.text())
        async with http.get(gw + "/admin/catalogue", params={"etat": "retires"}) as resp:
            assert SANTE in html.unescape(await resp.text())
        async with http.post(
            gw + f"/admin/catalogue/organismes/{SANTE_ID}/retablir", data={"csrf_token": token}
        ) as resp:
            assert "Rétabli" in _text(await resp.text())

        # Themes: a sub-theme of ACCUEIL, renamed, retired; « Autre » cannot be retired.
        token = await form_token(http, gw + "/admin/catalogue/themes/nouveau?parent=accueil")
        async with http.post(
            gw + "/admin/catalogue/themes/nouveau",
            data={
                "csrf_token": token,
                "label": "Horaires",
                "parent_id": "accueil",
                "position": "x",
            },
        ) as resp:
            page = await resp.text()
            assert resp.status == 422 and 'id="err-position"' in page
            assert 'value="Horaires"' in page
        async with http.post(
            gw + "/admin/catalogue/themes/nouveau",
            data={"csrf_token": token, "label": "Horaires", "parent_id": "accueil"},
        ) as resp:
            assert "Le thème est ajouté au catalogue." in html.unescape(await resp.text())
        async with http.post(
            gw + "/admin/catalogue/themes/accueil-horaires/modifier",
            data={"csrf_token": token, "label": "Horaires d'ouverture", "position": "9"},
        ) as resp:
            assert "Horaires d'ouverture" in html.unescape(await resp.text())
        async with http.post(
            gw + "/admin/catalogue/themes/accueil-horaires/retirer", data={"csrf_token": token}
        ) as resp:
            assert resp.status == 200
        async with http.get(stack.url("intake") + "/catalogue/themes") as resp:
            ids = [t["id"] for t in (await resp.json())["themes"]]
        assert "accueil-horaires" not in ids and "autre" in ids
        async with http.post(
            gw + "/admin/catalogue/themes/autre/retirer", data={"csrf_token": token}
        ) as resp:
            assert resp.status == 409
            assert "ne peut être retiré" in html.unescape(await resp.text())

        # Places: a new one in a listed region, renamed, retired.
        token = await form_token(http, gw + "/admin/catalogue/lieux/nouveau")
        async with http.post(
            gw + "/admin/catalogue/lieux/nouveau",
            data={"csrf_token": token, "region": "Grands-Ponts", "name": "", "kind": "commune"},
        ) as resp:
            page = await resp.text()
            assert resp.status == 422 and 'id="err-name"' in page
            assert 'value="Grands-Ponts"' in page
        async with http.post(
            gw + "/admin/catalogue/lieux/nouveau",
            data={
                "csrf_token": token,
                "region": "Grands-Ponts",
                "name": "Toupah",
                "kind": "commune",
            },
        ) as resp:
            assert "Le lieu est ajouté au catalogue." in html.unescape(await resp.text())
        async with http.post(
            gw + "/admin/catalogue/lieux/grands-ponts-toupah/modifier",
            data={
                "csrf_token": token,
                "region": "Grands-Ponts",
                "name": "Toupah",
                "kind": "sous-prefecture",
            },
        ) as resp:
            assert resp.status == 200
        async with http.post(
            gw + "/admin/catalogue/lieux/grands-ponts-toupah/retirer", data={"csrf_token": token}
        ) as resp:
            assert resp.status == 200
        async with http.get(stack.url("intake") + "/catalogue/places") as resp:
            assert "grands-ponts-toupah" not in {p["id"] for p in (await resp.json())["places"]}

        # Unknown rows: the back office's 404.
        async with http.get(gw + "/admin/catalogue/organismes/nulle-part") as resp:
            assert resp.status == 404
        async with http.get(gw + "/admin/catalogue/lieux/nulle-part/modifier") as resp:
            assert resp.status == 404
    finally:
        await http.close()

    log = await _audit(database_url)
    assert all(r["actor_login"] == "admin.catalogue" for r in log)
    lines = [(r["action"], r["target"]) for r in log]
    assert lines == [
        ("catalogue_created", f"organisme {SANTE_ID}"),
        ("catalogue_created", "thème soins"),
        # Made with the theme, in the same transaction: said before its sub-themes.
        ("catalogue_changed", f"organisme {SANTE_ID}"),
        ("catalogue_created", "thème soins-attente-aux-urgences"),
        ("catalogue_created", "thème soins-cout-des-soins"),
        ("catalogue_changed", f"organisme {SANTE_ID}"),
        ("catalogue_changed", f"organisme {SANTE_ID}"),
        ("catalogue_retired", f"organisme {SANTE_ID}"),
        ("catalogue_restored", f"organisme {SANTE_ID}"),
        ("catalogue_created", "thème accueil-horaires"),
        ("catalogue_changed", "thème accueil-horaires"),
        ("catalogue_retired", "thème accueil-horaires"),
        ("catalogue_created", "lieu grands-ponts-toupah"),
        ("catalogue_changed", "lieu grands-ponts-toupah"),
        ("catalogue_retired", "lieu grands-ponts-toupah"),
    ]
    assert "Sigle : « MSHP »" in log[0]["detail"]
    assert log[6]["detail"] == "Horaires d'accueil : « 8 h – 16 h » → « 7 h 30 – 16 h 30 »"
    assert log[10]["detail"] == (
        "Intitulé : « Horaires » → « Horaires d'ouverture » ; Ordre d'affichage : « 0 » → « 9 »"
    )
    assert log[13]["detail"] == "Type : « commune » → « sous-prefecture »"


async def test_the_catalogue_says_when_intake_does_not_answer(gateway_alone, database_url):
    gw = await gateway_alone()
    await create_account(database_url, Role.ADMINISTRATOR, "admin.catalogue", PASSWORD)
    http = await signed_in_session(gw.url, "admin.catalogue", PASSWORD)
    try:
        for path in ("", "/organismes/ministere-budget", "/themes", "/lieux/nouveau"):
            async with http.get(gw.url + "/admin/catalogue" + path) as resp:
                page = html.unescape(await resp.text())
            assert resp.status == 503, path
            assert "Le catalogue ne répond pas pour le moment." in page
        token = await form_token(http, gw.url + "/admin/aide")
        async with http.post(
            gw.url + "/admin/catalogue/organismes/nouveau",
            data={"csrf_token": token, "name": "Ministère des Sports"},
        ) as resp:
            assert resp.status == 503
    finally:
        await http.close()
    assert await _audit(database_url) == []
