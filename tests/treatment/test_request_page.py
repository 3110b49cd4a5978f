"""The focal point's request page (« Traiter ») on the whole platform in this process: what it
shows to whom, and each agent action as a form (303 and a notice; 422 beside the field with
what was typed; 409 naming who acted in between)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.header import decode_header, make_header
from html import unescape

import aiohttp
import asyncpg

from services.treatment import actions, clock
from shared import french
from shared.identity import Role
from shared.messages import CitizenOpinionRecordedV1, Opinion
from shared.service import POOL
from tests.ministry.helpers import Api, last_change, new_key
from tests.staff.helpers import (
    FORM_VERSION,
    create_account,
    form_token,
    page_of,
    post_form,
    signed_in_session,
)
from tests.support import eventually, publish_event
from tests.treatment.pages import BODY, PDF, validated_reclamation, validated_without_email

PASSWORD = "le point focal traite"


def _subject(mail) -> str:
    return str(make_header(decode_header(mail["Subject"])))


async def _people(database_url: str) -> dict[str, object]:
    made = {
        "agent": await create_account(
            database_url, Role.FOCAL_POINT, "koffi.yao", PASSWORD, BODY, "Koffi YAO"
        ),
        "colleague": await create_account(
            database_url, Role.FOCAL_POINT, "adjoua.n", PASSWORD, BODY, "Adjoua N'GUESSAN"
        ),
        "stranger": await create_account(
            database_url, Role.FOCAL_POINT, "sante.pf", PASSWORD, "ministere-sante", "Santé PF"
        ),
        "analyst": await create_account(database_url, Role.ANALYST, "awa.kone", PASSWORD),
    }
    return made


async def test_the_page_shows_the_request_to_its_body_and_read_only_to_analysts(
    stack, database_url
):
    await _people(database_url)
    code = await validated_reclamation(stack)
    url = f"{stack.gateway}/admin/requetes/{code}"
    async with await signed_in_session(stack.gateway, "koffi.yao", PASSWORD) as http:
        status, html = await page_of(http, url)
    assert status == 200
    for said in (
        "Le guichet des passeports est fermé depuis lundi",
        "aya.kouassi@example.ci",
        "Réclamation recevable : merci de répondre à l'usager.",  # the analyst's note
        "Formulaire De Traitement De Requête",
        f'Message n° <span class="code">{code}</span> de Aya KOUASSI / aya.kouassi@example.ci',
        "Organisme indexé",
        "Message de fin traitement",
        "Joindre un document",
        "Répondre avec envoi de mail",
        "Prendre en compte",
        "Mettre en attente",
        "Baliser",
        "Transmise par l'analyste",
        f"Miliê — votre réclamation n° {code} est prise en compte",
        # The answer's deadline (issue 13): 60 working days from the validation.
        "Échéance de la réponse",
        "60 jours ouvrés restants",
    ):
        assert said in html, said
    async with await signed_in_session(stack.gateway, "awa.kone", PASSWORD) as http:
        status, html = await page_of(http, url)
    assert status == 200
    assert "Lecture seule" in html
    assert "Répondre avec envoi de mail" not in html
    assert 'action="/admin/requetes/' not in html
    # Another body's focal point: the page of an unknown code.
    async with await signed_in_session(stack.gateway, "sante.pf", PASSWORD) as http:
        status, html = await page_of(http, url)
        unknown_status, unknown = await page_of(http, f"{stack.gateway}/admin/requetes/1234567897")
    assert (status, unknown_status) == (404, 404)
    assert html.replace(code, "X") == unknown.replace("1234567897", "X")


async def test_the_agents_actions_from_taking_it_to_answering(
    stack, database_url, smtp_server, amqp_url, namespace
):
    people = await _people(database_url)
    code = await validated_reclamation(stack)
    mute = await validated_without_email(stack, amqp_url, namespace)
    page_url = f"{stack.gateway}/admin/requetes/{code}"
    act = f"{page_url}/{{}}"
    async with (
        await signed_in_session(stack.gateway, "koffi.yao", PASSWORD) as http,
        await signed_in_session(stack.gateway, "adjoua.n", PASSWORD) as colleague,
    ):
        # No address: no acknowledgement offered.
        _, html = await page_of(http, f"{stack.gateway}/admin/requetes/{mute}")
        assert "Courriel d'accusé de réception" not in html
        assert "aucun accusé de réception ne peut lui être envoyé" in html

        # The colleague's form was read before the agent takes it.
        _, before = await page_of(colleague, page_url)
        stale_version = FORM_VERSION.search(before).group(1)

        # « Prendre en compte » with an emptied subject: told beside the field, text kept.
        status, _, html = await post_form(
            http,
            act.format("prendre-en-compte"),
            page_url,
            {
                "send_acknowledgement": "oui",
                "acknowledgement_subject": "",
                "acknowledgement_text": "Nous traitons votre requête.",
            },
        )
        assert status == 422
        assert 'id="err-prendre-en-compte-acknowledgement_subject"' in html
        assert "Nous traitons votre requête.</textarea>" in html
        status, location, _ = await post_form(
            http,
            act.format("prendre-en-compte"),
            page_url,
            {
                "send_acknowledgement": "oui",
                "acknowledgement_subject": "Votre réclamation est entre nos mains",
                "acknowledgement_text": "Nous traitons votre requête.\r\n\r\nÀ bientôt.",
            },
        )
        assert status == 303
        assert location == f"/admin/requetes/{code}?fait=accuse#resultat"
        _, html = await page_of(http, stack.gateway + location)
        assert "L'accusé de réception est envoyé à l'usager." in html
        assert "Prise en compte (Koffi YAO)" in html
        assert "Accusé de réception envoyé : « Votre réclamation est entre nos mains »" in html
        mails = await smtp_server.wait_for("aya.kouassi@example.ci", count=3)
        [ack] = [m for m in mails if _subject(m) == "Votre réclamation est entre nos mains"]
        assert "À bientôt." in ack.get_body(("plain",)).get_content()

        # The colleague's stale form: who acted is named, what was typed kept.
        status, _, html = await post_form(
            colleague,
            act.format("mettre-en-attente"),
            page_url,
            {"reason": "Nous attendons la banque."},
            version=stale_version,
        )
        assert status == 409
        assert "modifiée entre-temps par Koffi YAO" in html
        assert "Nous attendons la banque.</textarea>" in html

        # « Mettre en attente »: the reason is required; then « Reprendre ».
        status, _, html = await post_form(http, act.format("mettre-en-attente"), page_url, {})
        assert status == 422
        assert "Écrivez le motif de la mise en attente." in html
        status, location, _ = await post_form(
            http, act.format("mettre-en-attente"), page_url, {"reason": "Pièce manquante."}
        )
        assert (status, location) == (
            303,
            f"/admin/requetes/{code}?fait=mettre-en-attente#resultat",
        )
        _, html = await page_of(http, page_url)
        assert "Mise en attente depuis le" in html
        assert "Reprendre" in html
        # Held, the deadline does not run: the page says so instead of counting days left.
        echeance = html[html.index('id="echeance"') :]
        echeance = echeance[: echeance.index("</dd>")]
        assert "Délai suspendu pendant la mise en attente" in echeance
        assert "restant" not in echeance
        status, _, _ = await post_form(http, act.format("reprendre"), page_url, {})
        assert status == 303
        # Resumed: a second « Reprendre » is refused in French.
        status, _, html = await post_form(http, act.format("reprendre"), page_url, {})
        assert status == 409
        assert "Action impossible sur cette requête" in html

        # « Baliser »: an internal note in the history.
        status, _, _ = await post_form(
            http, act.format("baliser"), page_url, {"message": "Appeler la banque jeudi."}
        )
        assert status == 303

        # « Réaffecter »: to a colleague of the body, not to another body's agent.
        stranger = str(people["stranger"].id)
        status, _, html = await post_form(
            http, act.format("reaffecter"), page_url, {"assignee_id": stranger}
        )
        assert status == 422
        assert "Choisissez un agent de votre organisme." in html
        assert "Adjoua N'GUESSAN" in html
        status, _, _ = await post_form(
            http,
            act.format("reaffecter"),
            page_url,
            {"assignee_id": str(people["colleague"].id)},
        )
        assert status == 303
        _, html = await page_of(colleague, page_url)
        assert "À Adjoua N'GUESSAN" in html
        # The history says it in the button's word (« Réaffecter », the back-office guide's).
        assert re.search(r"— Réaffectée \([^)]+\)</p>\s*<p[^>]*>À Adjoua N'GUESSAN", html), html
        assert "Appeler la banque jeudi." in html

        # « Répondre »: empty, then with a PDF; the document downloads.
        token = await form_token(colleague, page_url)
        version = FORM_VERSION.search(html).group(1)
        form = aiohttp.FormData()
        form.add_field("csrf_token", token)
        form.add_field("version", version)
        form.add_field("message", "  ")
        form.add_field("bouton", "envoyer")
        form.add_field("document", PDF, filename="quittance.pdf", content_type="application/pdf")
        async with colleague.post(act.format("repondre"), data=form) as resp:
            assert resp.status == 422
            html = unescape(await resp.text())
        assert 'id="err-repondre-message"' in html
        form = aiohttp.FormData()
        form.add_field("csrf_token", token)
        form.add_field("version", version)
        form.add_field("message", "Votre passeport est prêt au guichet 3.")
        form.add_field("bouton", "envoyer")
        form.add_field("document", PDF, filename="quittance.pdf", content_type="application/pdf")
        async with colleague.post(act.format("repondre"), data=form, allow_redirects=False) as r:
            assert r.status == 303, await r.text()
        status, html = await page_of(colleague, page_url + "?fait=repondre")
        assert "L'usager en est prévenu par email à" in html
        assert "Votre passeport est prêt au guichet 3." in html
        [link] = re.findall(r'href="(/admin/documents/[0-9a-f-]{36})"', html)
        async with http.get(stack.gateway + link) as resp:
            assert resp.status == 200
            assert await resp.read() == PDF
        assert "Formulaire De Traitement De Requête" not in html

    # Only the one answer is stored, with its one document.
    conn = await asyncpg.connect(database_url)
    try:
        answers = await conn.fetchval(
            "SELECT count(*) FROM treatment.answers a JOIN treatment.treatments t"
            " USING (request_id) WHERE t.code = $1",
            code,
        )
    finally:
        await conn.close()
    assert answers == 1


async def _citizen(stack, code: str, act) -> None:
    """The citizen's reply as treatment applies it when intake forwards it (its consumer's
    transaction), on treatment's own database."""
    pool = stack.apps["treatment"].app[POOL]
    async with pool.acquire() as conn, conn.transaction():
        request_id = await conn.fetchval("SELECT request_id FROM treatments WHERE code = $1", code)
        await act(conn, request_id, datetime.now(UTC))


async def _multipart(http, url: str, page_url: str, fields: list[tuple[str, str]], document=None):
    token = await form_token(http, page_url)
    _, page = await page_of(http, page_url)
    form = aiohttp.FormData()
    form.add_field("csrf_token", token)
    form.add_field("version", FORM_VERSION.search(page).group(1))
    for name, value in fields:
        form.add_field(name, value)
    if document is not None:
        form.add_field(
            "document", document, filename="quittance.pdf", content_type="application/pdf"
        )
    async with http.post(url, data=form, allow_redirects=False) as resp:
        return resp.status, resp.headers.get("Location", ""), unescape(await resp.text())


async def test_editer_then_relance_then_a_further_answer_to_an_unsatisfied_citizen(
    stack, database_url
):
    await _people(database_url)
    code = await validated_reclamation(stack)
    page_url = f"{stack.gateway}/admin/requetes/{code}"
    async with await signed_in_session(stack.gateway, "koffi.yao", PASSWORD) as http:
        # A multipart form without its token: refused, nothing kept.
        forged = aiohttp.FormData()
        forged.add_field("csrf_token", "faux.jeton")
        forged.add_field("version", "1")
        forged.add_field("message", "Réponse forgée.")
        forged.add_field("document", PDF, filename="x.pdf", content_type="application/pdf")
        async with http.post(f"{page_url}/repondre", data=forged) as resp:
            assert resp.status == 403
            assert "Formulaire expiré ou invalide" in await resp.text()

        # « Editer »: the message as the citizen will read it; the document kept; nothing sent.
        status, _, html = await _multipart(
            http,
            f"{page_url}/repondre",
            page_url,
            [("message", "Votre dossier est complet."), ("bouton", "editer")],
            PDF,
        )
        assert status == 200
        assert "Aperçu du message à l'usager" in html
        assert "Déjà joint : quittance.pdf" in html
        kept = re.findall(r'name="document_id" value="([0-9a-f-]{36})"', html)
        assert len(kept) == 1
        _, page = await page_of(http, page_url)
        assert "Réponses de l'organisme" not in page
        status, location, _ = await _multipart(
            http,
            f"{page_url}/repondre",
            page_url,
            [
                ("message", "Votre dossier est complet."),
                ("bouton", "envoyer"),
                ("document_id", kept[0]),
            ],
        )
        assert status == 303
        _, html = await page_of(http, stack.gateway + location)
        assert "L'usager en est prévenu par email à" in html
        assert re.findall(r'href="/admin/documents/([0-9a-f-]{36})"', html) == kept

        # Reopened by the citizen: the « Relance » form with the last answer.
        await _citizen(
            stack,
            code,
            lambda conn, rid, at: actions.apply_reopening(
                conn, rid, "Le guichet me renvoie encore au bureau 4.", at
            ),
        )
        _, html = await page_of(http, page_url)
        assert "Formulaire De Traitement Relance" in html
        assert "Message du dernier traitement" in html
        assert "Soumettre à nouveau le traitement" in html
        # « Quitter le formulaire » and the breadcrumb: back to « Retraitement », where it is.
        back = 'href="/admin/traitements/retraitement">Quitter le formulaire</a>'
        assert back in html
        assert '<a href="/admin/traitements/retraitement">Traitements / Retraitement</a>' in html
        assert "Demande de nouveau traitement (relance)" in html
        assert "Le guichet me renvoie encore au bureau 4." in html
        status, location, _ = await _multipart(
            http,
            f"{page_url}/repondre",
            page_url,
            [("message", "Le bureau 4 a reçu vos pièces."), ("bouton", "envoyer")],
        )
        assert status == 303

        # Closed « Non satisfait »: « Répondre à l'usager » (answer-again) only.
        await _citizen(
            stack,
            code,
            lambda conn, rid, at: actions.apply_opinion(
                conn, rid, Opinion.NOT_SATISFIED, "Toujours rien reçu.", at
            ),
        )
        _, html = await page_of(http, page_url)
        assert "Avis : Non satisfait" in html
        assert "Toujours rien reçu." in html
        # The history's labels that name who acted are not followed by the same again.
        history = " ".join(html[html.index('id="historique-titre"') :].split())
        for line in (
            "Transmise par l'analyste",
            "Relancée par l'usager (retraitement)",
            "Avis de l'usager",
        ):
            assert f"{line} </p>" in history or f"{line}</p>" in history, line
        assert "(l'usager)" not in history and "(un analyste)" not in history
        assert "Formulaire De Traitement" not in html
        assert "Répondre à l'usager" in html
        assert "Prendre en compte</button>" not in html
        status, _, html = await _multipart(
            http, f"{page_url}/repondre-a-nouveau", page_url, [("message", "")]
        )
        assert status == 422
        assert 'id="err-repondre-a-nouveau-message"' in html
        status, location, _ = await _multipart(
            http,
            f"{page_url}/repondre-a-nouveau",
            page_url,
            [("message", "Un agent vous appellera demain."), ("bouton", "envoyer")],
        )
        assert status == 303
        _, html = await page_of(http, stack.gateway + location)
        assert "L'usager en est prévenu par email à" in html
        assert "Nouvelle réponse à l'usager" in html
        # The first form of the page, posted again: the state no longer allows it.
        status, _, html = await _multipart(
            http, f"{page_url}/repondre", page_url, [("message", "Encore ?"), ("bouton", "envoyer")]
        )
        assert status == 409
        assert "Action impossible sur cette requête" in html


async def test_a_citizen_reply_refused_is_in_the_bodys_history_page_api_and_feed(
    stack, database_url, amqp_url, namespace
):
    """The citizen's opinion reaches treatment after its clock closed the request « sans
    retour »: refused (the citizen is told by intake and notify), and the body reads it too — a
    line of the request's history on the focal point's page, in the ministry API's history and in
    its feed, with the citizen's comment — not only in the audit log. The request as it was."""
    await _people(database_url)
    code = await validated_reclamation(stack)
    key = await new_key(stack, label="SI Passeports")
    async with aiohttp.ClientSession() as http:
        api = Api(http, stack.gateway, key)
        status, done, _ = await api.post(f"/requests/{code}/take")
        assert status == 200, done
        status, done, _ = await api.post(f"/requests/{code}/answer", {"message": "C'est réglé."})
        assert (status, done["status"]) == (200, "treated"), done

    # The answer a month old: the clock closes the request « sans retour » now.
    pool = stack.apps["treatment"].app[POOL]
    row = await pool.fetchrow(
        """UPDATE treatments SET treated_at = treated_at - interval '31 days',
               opinion_due = opinion_due - 31
           WHERE code = $1 RETURNING request_id, body_id""",
        code,
    )
    now = datetime.now(UTC)
    assert await clock.close_without_opinion(pool, now=now, days=30) == [code]
    version = await pool.fetchval("SELECT version FROM treatments WHERE code = $1", code)
    recorded = CitizenOpinionRecordedV1(
        request_id=row["request_id"],
        code=code,
        body_id=row["body_id"],
        opinion=Opinion.SATISFIED,
        comment="Merci, le guichet a rouvert.",
        recorded_at=datetime.now(UTC),
    )
    await publish_event(amqp_url, namespace, recorded)  # as intake's relay forwards it

    async def refused_line() -> bool:
        return await pool.fetchval(
            """SELECT count(*) FROM history h JOIN treatments t USING (request_id)
               WHERE t.code = $1 AND h.kind = 'citizen_reply_refused'""",
            code,
        )

    assert await eventually(refused_line) == 1
    said = (
        f"Avis « Satisfait » du {french.day(recorded.recorded_at)} reçu après la clôture sans "
        f"retour du {french.day(now)}."
    )

    # The focal point's page (and the analysts', read-only): the line, by the platform.
    for login in ("koffi.yao", "awa.kone"):
        async with await signed_in_session(stack.gateway, login, PASSWORD) as http:
            status, html = await page_of(http, f"{stack.gateway}/admin/requetes/{code}")
        assert status == 200
        history = " ".join(html[html.index('id="historique-titre"') :].split())
        assert "Clôturée sans retour (la plateforme)" in history, login
        assert "Avis de l'usager non pris en compte (la plateforme)" in history, login
        assert said in history, login
        assert "Merci, le guichet a rouvert." in history, login
        assert 'Statut</dt><dd id="statut">Clôturée' in " ".join(html.split()), login

    # The ministry API: the same line in the history; no opinion applied, the version as it was.
    async with aiohttp.ClientSession() as http:
        api = Api(http, stack.gateway, key)
        status, one, _ = await api.get(f"/requests/{code}")
        assert status == 200, one
        assert (one["status"], one["opinion"], one["version"]) == ("closed", None, version)
        assert one["opinions"] == []
        line = one["history"][-1]
        assert line["kind"] == "citizen_reply_refused"
        assert line["label"] == "Avis de l'usager non pris en compte"
        assert line["message"] == "Merci, le guichet a rouvert."
        assert line["details"]["reason"] == said
        assert (line["details"]["reply"], line["details"]["opinion"]) == ("opinion", "satisfied")
        assert line["actor_role"] == "system"
        # The feed of changes the ministry's system polls.
        change = await last_change(api, "citizen_reply_refused")
        assert change["label"] == "Avis de l'usager non pris en compte"
        assert change["details"]["reason"] == said
