"""The administrator's catalogue actions when the row they act on changes meanwhile (another
administrator, another tab, a script): the answer never says something false. Either nothing
was changed and the page says why (« Organisme introuvable … Rien n'a été modifié »), or the
change was made and the page says so — never « service indisponible » after the change.

« Meanwhile » is made real, not timed: the test holds the body's row locked, posts the form, waits
until intake's transaction is waiting on that lock (the moment the action uses the body), then
deletes or retires the body and lets go."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from tests.staff.helpers import form_token
from tests.staff.test_admin_gone_and_filters import _counts, _gone
from tests.staff.test_admin_trial import _admin, _text
from tests.staff.test_catalogue_pages import _audit
from tests.support import eventually

BODY_ID = "essai-partant"
CATALOGUE = "/admin/catalogue"


async def _waiting_on(database_url: str, table: str, posting: asyncio.Task) -> None:
    """Until a transaction of this database waits for a lock in a statement on ``table`` (or the
    action is over: its answer then says what it did without waiting)."""
    conn = await asyncpg.connect(database_url)

    async def blocked() -> bool:
        waiting = await conn.fetchval(
            """SELECT count(*) FROM pg_stat_activity
               WHERE datname = current_database() AND wait_event_type = 'Lock'
                 AND query ILIKE '%' || $1 || '%'""",
            table,
        )
        return bool(waiting) or posting.done()

    try:
        await eventually(blocked, timeout=60, interval=0.05)
    finally:
        await conn.close()


async def _post_while(
    http,
    database_url: str,
    action: str,
    data: dict,
    meanwhile: str,
    row: tuple[str, object] = ("intake.bodies", BODY_ID),
) -> tuple[int, str, str]:
    """(status, Location, text) of ``data`` posted to ``action``, the ``row`` (table, id)
    changed by ``meanwhile`` (SQL, $1: the id) at the moment the action uses it."""
    table, row_id = row
    token = await form_token(http, f"{http.gw}{CATALOGUE}")

    async def post() -> tuple[int, str, str]:
        async with http.post(
            http.gw + action, data={"csrf_token": token, **data}, allow_redirects=False
        ) as resp:
            return resp.status, resp.headers.get("Location", ""), await resp.text()

    conn = await asyncpg.connect(database_url)
    try:
        async with conn.transaction():
            await conn.execute(f"SELECT 1 FROM {table} WHERE id = $1 FOR UPDATE", row_id)
            posting = asyncio.create_task(post())
            await _waiting_on(database_url, table.rpartition(".")[2], posting)
            await conn.execute(meanwhile, row_id)
        return await posting
    finally:
        await conn.close()


async def _with_body(stack, database_url):
    """The administrator's session (``http.gw``: the gateway), with a body of their own."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "INSERT INTO intake.bodies (id, name) VALUES ($1, 'Organisme partant')", BODY_ID
        )
    finally:
        await conn.close()
    http = await _admin(stack, database_url)
    http.gw = stack.gateway
    return http


@pytest.mark.parametrize(
    ("action", "typed"),
    [
        # The theme was made, then the body's list could not be saved: « service indisponible »,
        # the theme left in the catalogue, offered for nobody, and no line in the journal.
        ("nouveau-theme", {"label": "Thème orphelin", "children": "Sous-thème orphelin"}),
        # « Enregistrer les thèmes »: « service indisponible … réessayez », though nothing could
        # be done.
        ("themes", {"themes": "accueil"}),
    ],
)
async def test_a_body_deleted_while_it_is_acted_on_changes_nothing_and_says_so(
    stack, database_url, action, typed
):
    async with await _with_body(stack, database_url) as http:
        before = await _counts(database_url)
        status, location, page = await _post_while(
            http,
            database_url,
            f"{CATALOGUE}/organismes/{BODY_ID}/{action}",
            typed,
            "DELETE FROM intake.bodies WHERE id = $1",
        )
        assert (status, location) == (404, ""), _text(page)
        _gone(page, "Organisme introuvable", CATALOGUE, "Retour à la liste des organismes", {})
        assert await _counts(database_url) == {
            **before,
            "intake.bodies": before["intake.bodies"] - 1,
        }


async def test_a_body_retired_while_a_theme_is_added_to_it_says_it_offers_nothing_yet(
    stack, database_url
):
    """The theme joins the list of a body retired meanwhile: said so, not « proposé »."""
    async with await _with_body(stack, database_url) as http:
        status, location, page = await _post_while(
            http,
            database_url,
            f"{CATALOGUE}/organismes/{BODY_ID}/nouveau-theme",
            {"label": "Thème en attente", "children": ""},
            "UPDATE intake.bodies SET active = false WHERE id = $1",
        )
        assert (status, location) == (
            303,
            f"{CATALOGUE}/organismes/{BODY_ID}?fait=theme-retire",
        ), _text(page)
        async with http.get(http.gw + location) as resp:
            said = _text(await resp.text())
        assert "Le thème est ajouté à la liste de cet organisme, qui est retiré" in said
        assert "Retiré : plus proposé aux usagers" in said


HIDE_PLACES = """
CREATE FUNCTION intake.hide_places() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    ALTER TABLE intake.places RENAME TO places_hidden;
    RETURN NULL;
END $$;
CREATE TRIGGER hide_places AFTER INSERT OR UPDATE ON intake.themes
    FOR EACH STATEMENT EXECUTE FUNCTION intake.hide_places();
"""


async def test_intake_failing_after_the_change_says_the_change_is_made(stack, database_url):
    """A theme made (or retired), then intake failing to give the list to come back to: the page
    said « Service momentanément indisponible … Rien n'a été perdu : réessayez » — and trying
    again made the theme a second time or was refused. The fault: each change of a theme hides
    the places' table from intake, so that its next reading of the catalogue fails."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(HIDE_PLACES)
        async with await _admin(stack, database_url) as http:
            gw = stack.gateway
            for url, data, said in [
                (
                    f"{CATALOGUE}/themes/nouveau",
                    {"label": "Thème enregistré", "parent_id": "", "position": ""},
                    "Thème theme-enregistre ajouté — Intitulé : « Thème enregistré »",
                ),
                (
                    f"{CATALOGUE}/themes/theme-enregistre/retirer",
                    {},
                    "Thème theme-enregistre retiré — Thème enregistré",
                ),
            ]:
                token = await form_token(http, gw + f"{CATALOGUE}/themes")
                async with http.post(
                    gw + url, data={"csrf_token": token, **data}, allow_redirects=False
                ) as resp:
                    status, page = resp.status, _text(await resp.text())
                assert status == 200, page
                assert "Modification enregistrée" in page and said in page
                assert "réessayez" not in page
                await conn.execute("ALTER TABLE intake.places_hidden RENAME TO places")
        active = await conn.fetchval(
            "SELECT active FROM intake.themes WHERE id = 'theme-enregistre'"
        )
        assert active is False
    finally:
        await conn.close()


async def test_a_change_made_meanwhile_is_what_the_page_and_the_journal_start_from(
    stack, database_url
):
    """An edit after another administrator's: the journal said the change from the copy the
    action had read (« Problème avec agent d'accueil » → …), not from what it replaced; the same
    change made meanwhile, or a theme retired twice (an old page), said « modifié » / « Retiré »
    and wrote a line of a change the action did not make."""
    theme = f"{CATALOGUE}/themes/accueil-agent"
    row = ("intake.themes", "accueil-agent")
    async with await _with_body(stack, database_url) as http:
        status, location, _ = await _post_while(
            http,
            database_url,
            f"{theme}/modifier",
            {"label": "Accueil par un agent", "position": "1"},
            "UPDATE intake.themes SET label = 'Agent d''accueil' WHERE id = $1",
            row,
        )
        assert status == 303 and "fait=modifie" in location, location
        status, location, _ = await _post_while(
            http,
            database_url,
            f"{theme}/modifier",
            {"label": "Agent", "position": "1"},
            "UPDATE intake.themes SET label = 'Agent' WHERE id = $1",
            row,
        )
        assert status == 303 and "fait=inchange" in location, location
        token = await form_token(http, f"{http.gw}{CATALOGUE}/themes")
        for done in ("retire", "inchange"):
            async with http.post(
                f"{http.gw}{theme}/retirer", data={"csrf_token": token}, allow_redirects=False
            ) as resp:
                assert resp.status == 303
                assert f"fait={done}" in resp.headers["Location"]
    journal = [(r["action"], r["target"], r["detail"]) for r in await _audit(database_url)]
    assert journal == [
        (
            "catalogue_changed",
            "thème accueil-agent",
            "Intitulé : « Agent d'accueil » → « Accueil par un agent »",
        ),
        ("catalogue_retired", "thème accueil-agent", "Agent"),
    ]


async def test_a_reason_changed_meanwhile_is_what_the_journal_starts_from(stack, database_url):
    """« Motifs »: the same as the catalogue's edits — the journal said the change from the copy
    the action had read, and the same change made meanwhile was said and journaled again (and
    marked « modifié par » the administrator who changed nothing)."""
    conn = await asyncpg.connect(database_url)
    try:
        reason_id = await conn.fetchval("SELECT id FROM triage.reasons WHERE label = 'Doublon'")
    finally:
        await conn.close()
    row = ("triage.reasons", reason_id)
    typed = {"text": "Votre requête en reprend une autre.", "position": "3", "active": "oui"}
    async with await _with_body(stack, database_url) as http:
        status, location, _ = await _post_while(
            http,
            database_url,
            f"/admin/motifs/{reason_id}",
            {**typed, "label": "Requête en double"},
            "UPDATE triage.reasons SET label = 'Déjà déposée' WHERE id = $1",
            row,
        )
        assert (status, location) == (303, "/admin/motifs?fait=modifie")
        status, location, _ = await _post_while(
            http,
            database_url,
            f"/admin/motifs/{reason_id}",
            {**typed, "label": "Doublon de requête"},
            "UPDATE triage.reasons SET label = 'Doublon de requête', edited_by = 'autre' "
            "WHERE id = $1",
            row,
        )
        assert (status, location) == (303, "/admin/motifs?fait=inchange")
    conn = await asyncpg.connect(database_url)
    try:
        edited_by = await conn.fetchval(
            "SELECT edited_by FROM triage.reasons WHERE id = $1", reason_id
        )
        journal = await conn.fetch(
            """SELECT detail FROM gateway.audit_log WHERE action = 'reason_changed'
               ORDER BY id"""
        )
    finally:
        await conn.close()
    assert edited_by == "autre"
    assert [r["detail"] for r in journal] == [
        "Intitulé : « Déjà déposée » → « Requête en double » ; Texte envoyé à l'usager : "
        "« Votre requête reprend une requête déjà déposée, qui est en cours d'examen. » → "
        "« Votre requête en reprend une autre. »"
    ]
