"""« Suivi d'un appel »: a caller with no internet phones back; the operator looks the request up
with its code and the caller's mobile number (the citizen's look-up at intake, signed with the
operator's identity and the channel ``phone``), reads out where it stands and the body's answer,
and records the caller's opinion or « Relancer » through the citizen's intake routes; treatment
applies it as it applies the citizen's own. The whole platform in this process."""

from __future__ import annotations

import html
import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
import asyncpg
import pytest

from gateway.backoffice.treatment.request import _history, _replies
from gateway.clients.transport import SERVICES
from shared import citizen_replies, lifecycle
from shared.identity import Identity, Role
from shared.messages import CitizenReply, RequestCitizenReplyRefusedV1
from shared.service import POOL
from tests.ministry.helpers import Api, new_key
from tests.stack import Stack, start_stack
from tests.staff.helpers import (
    create_account,
    form_token,
    new_session,
    page_of,
    signed_in_session,
)
from tests.support import eventually, publish_event
from tests.track.conftest import STRICT
from tests.track.test_answer_page import _answered
from tests.treatment.pages import BODY

PASSWORD = "le centre d'appels rappelle"
EMAIL = "aya.kouassi@example.ci"
MOBILE = "07 07 12 34 56"  # the caller's number, given with the request (tests/track/conftest)
URL = "/admin/appel/suivi"
NOT_FOUND = (
    "Aucune requête ne correspond à ce code et à cette adresse électronique ou ce numéro de "
    "mobile. Vérifiez-les et réessayez."
)


async def _operator(stack, database_url: str, login: str = "centre.suivi"):
    """(the operator's account id, a session signed in as them)."""
    account = await create_account(database_url, Role.OPERATOR, login, PASSWORD)
    return str(account.id), await signed_in_session(stack.gateway, login, PASSWORD)


async def _post(http, stack, path: str, data: dict) -> tuple[int, str]:
    token = await form_token(http, stack.gateway + URL)
    async with http.post(stack.gateway + path, data={"csrf_token": token, **data}) as resp:
        return resp.status, html.unescape(await resp.text())


def _text(page: str) -> str:
    """The page's words, without tags and with white space folded."""
    return " ".join(re.sub(r"<[^>]+>", " ", page).split())


async def _audit(database_url: str, login: str) -> list[tuple[str, str, str]]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT action, target, detail FROM gateway.audit_log WHERE actor_login = $1 "
            "AND action LIKE 'caller_%' ORDER BY id",
            login,
        )
    finally:
        await conn.close()
    return [(r["action"], r["target"], r["detail"]) for r in rows]


async def _citizens_page(stack, code: str, event_type: str) -> str:
    """The citizen's own tracking page of ``code``, once intake has the history line of
    ``event_type`` (request.opinion_given…: treatment applied the reply)."""
    intake = stack.apps["intake"].app[POOL]
    await eventually(
        lambda: intake.fetchval(
            "SELECT true FROM request_history h JOIN requests r ON r.id = h.request_id "
            "WHERE r.code = $1 AND h.event_type = $2",
            code,
            event_type,
        )
    )
    async with new_session() as citizen:
        token = await form_token(citizen, stack.gateway + "/suivre")
        form = {"csrf_token": token, "code": code, "email": EMAIL}
        async with citizen.post(stack.gateway + "/suivre", data=form) as resp:
            assert resp.status == 200
            return html.unescape(await resp.text())


async def test_a_wrong_pair_is_refused_as_the_citizen_page_refuses_it(
    stack, database_url, amqp_url, namespace
):
    code, _ = await _answered(stack, amqp_url, namespace, EMAIL)
    _, http = await _operator(stack, database_url)
    async with http:
        async with http.get(stack.gateway + URL) as resp:
            page = await resp.text()
            assert resp.status == 200
            assert resp.headers["Cache-Control"] == "no-store"
        # The menu leads there, beside « Saisie d'une requête ».
        assert re.search(r'<a href="/admin/appel/suivi[^"]*"[^>]*>Suivi d&#39;un appel</a>', page)
        status, page = await _post(http, stack, URL, {"code": code, "email": "07 07 99 99 99"})
        assert status == 404
        assert NOT_FOUND in page
        # What was typed is kept, for the operator to correct.
        assert f'name="code" value="{code}"' in page
        assert 'name="email" value="07 07 99 99 99"' in page
        assert "Traité le" not in page
        # A mistyped code is said before any look-up, in the citizen page's words.
        status, page = await _post(http, stack, URL, {"code": "123", "email": MOBILE})
        assert status == 422
        assert "Ce code est mal saisi : un code compte 10 chiffres." in page
    # The citizen's page says the same sentence for the same pair.
    async with new_session() as citizen:
        token = await form_token(citizen, stack.gateway + "/suivre")
        form = {"csrf_token": token, "code": code, "email": "07 07 99 99 99"}
        async with citizen.post(stack.gateway + "/suivre", data=form) as resp:
            assert NOT_FOUND in html.unescape(await resp.text())


async def test_the_operator_reads_out_the_answer_and_records_the_callers_opinion(
    stack, database_url, amqp_url, namespace
):
    code, _ = await _answered(stack, amqp_url, namespace, EMAIL)
    operator_id, http = await _operator(stack, database_url)
    async with http:
        status, page = await _post(http, stack, URL, {"code": code, "email": MOBILE})
        assert status == 200, page
        words = _text(page)
        # Where it stands, in the life cycle's words and step, and the body's answer to read.
        assert "Niveau d'avancement : Traité le " in words
        assert f"Etape 3 sur 4 : {dict((n, t) for n, t, _ in lifecycle.STEPS)[3]}" in words
        assert lifecycle.CALLER_BANNERS[lifecycle.Status.TREATED] in words
        assert "Votre remboursement a été viré le 3 février. Le reçu est joint." in words
        assert "reçu de virement.pdf" in words
        assert "Le point focal de l'organisme a pris en charge la requête." in words
        assert "Pièces demandées" in words
        for label in lifecycle.OPINION_LABELS.values():
            assert f">{label}</label>" in page

        # No opinion chosen: refused beside the field, the comment kept.
        status, page = await _post(
            http, stack, URL + "/avis", {"code": code, "email": MOBILE, "comment": "Trop lent."}
        )
        assert status == 422
        # In the operator's words about the caller (the citizen's page keeps « votre avis »).
        assert "Choisissez l'avis de l'appelant : Satisfait" in page
        assert ">Trop lent.</textarea>" in page and "Choisissez votre avis" not in page

        status, page = await _post(
            http,
            stack,
            URL + "/avis",
            {"code": code, "email": MOBILE, "opinion": "not_satisfied", "comment": "Trop lent."},
        )
        assert status == 200, page
        assert "<h1>Avis enregistré</h1>" in page
        assert "Votre avis a été enregistré." in page
        # Once: the same reply again is refused as the citizen's is.
        status, page = await _post(
            http, stack, URL + "/avis", {"code": code, "email": MOBILE, "opinion": "satisfied"}
        )
        assert status == 409 and "L'appelant a déjà donné son avis" in page
        assert "déjà donné votre avis" not in page
    # The citizen's page and the citizens' API still speak to the citizen.
    async with new_session() as citizen:
        token = await form_token(citizen, stack.gateway + "/suivre")
        form = {"csrf_token": token, "code": code, "email": EMAIL, "opinion": "satisfied"}
        async with citizen.post(stack.gateway + "/suivre/avis", data=form) as resp:
            assert resp.status == 409
            assert "Vous avez déjà donné votre avis" in html.unescape(await resp.text())
        form = {"code": code, "email": EMAIL, "opinion": "satisfied"}
        async with citizen.post(stack.gateway + "/api/v1/tracking/opinion", json=form) as resp:
            body = await resp.json()
            assert (resp.status, body["error"]) == (409, "already_given")
            assert body["message"] == "Vous avez déjà donné votre avis sur la réponse du ministère."

    # Intake recorded it as given by telephone, by this operator; the audit log names him.
    intake = stack.apps["intake"].app[POOL]
    reply = await intake.fetchrow(
        "SELECT c.opinion, c.comment, c.channel, c.staff_id FROM citizen_replies c "
        "JOIN requests r ON r.id = c.request_id WHERE r.code = $1",
        code,
    )
    assert dict(reply) == {
        "opinion": "not_satisfied",
        "comment": "Trop lent.",
        "channel": "phone",
        "staff_id": operator_id,
    }
    target = f"requête {code}"
    assert await _audit(database_url, "centre.suivi") == [
        ("caller_request_read", target, "Suivi d'un appel : requête consultée"),
        ("caller_opinion_recorded", target, "Avis de l'appelant : Non satisfait"),
    ]

    # Treatment applies it (through intake's outbox): the request is closed with that opinion.
    treatment = stack.apps["treatment"].app[POOL]

    async def closed():
        return await treatment.fetchrow(
            "SELECT status, opinion FROM treatments WHERE code = $1 AND status = 'closed'", code
        )

    assert dict(await eventually(closed)) == {"status": "closed", "opinion": "not_satisfied"}
    # The citizen's own tracking page shows it.
    page = await _citizens_page(stack, code, "request.opinion_given")
    assert re.search(r'id="opinion">Non satisfait<', page), page
    assert re.search(r'id="status">Clôturée — Non satisfait<', page)


async def test_a_reply_the_platform_refused_reads_about_the_caller_to_the_operator(
    stack, database_url, amqp_url, namespace
):
    """request.citizen_reply_refused's line keeps the citizen's sentence, its reason in the
    citizen's words: « Suivi d'un appel » reads it about the caller; the citizen's page and the
    citizens' API as before."""
    code, _ = await _answered(stack, amqp_url, namespace, EMAIL)
    intake = stack.apps["intake"].app[POOL]
    request_id = await intake.fetchval("SELECT id FROM requests WHERE code = $1", code)
    sent = datetime(2027, 1, 12, 9, 0, tzinfo=UTC)
    closed = datetime(2027, 1, 11, 23, 30, tzinfo=UTC)
    reason = citizen_replies.refusal_reason(lifecycle.Status.CLOSED, "satisfied", closed)
    refused = RequestCitizenReplyRefusedV1(
        request_id=request_id,
        code=code,
        body_id=BODY,
        reply=CitizenReply.OPINION,
        reason=reason,
        recorded_at=sent,
        refused_at=sent + timedelta(minutes=1),
    )
    await publish_event(amqp_url, namespace, refused)
    citizens = await _citizens_page(stack, code, refused.name)
    assert (
        "Votre avis du 12/01/2027 n'a pas pu être pris en compte : la requête avait déjà été "
        "clôturée le 11/01/2027 avec votre avis « Satisfait »."
    ) in _text(citizens)
    async with new_session() as citizen:
        form = {"code": code, "email": EMAIL}
        async with citizen.post(stack.gateway + "/api/v1/tracking", json=form) as resp:
            assert resp.status == 200
            labels = [line["label"] for line in (await resp.json())["history"]]
    assert labels[-1].startswith("Votre avis du 12/01/2027 n'a pas pu être pris en compte")
    _, http = await _operator(stack, database_url, "centre.refus")
    async with http:
        status, page = await _post(http, stack, URL, {"code": code, "email": MOBILE})
        assert status == 200, page
    words = _text(page)
    assert (
        "L'avis de l'appelant du 12/01/2027 n'a pas pu être pris en compte : la requête avait "
        "déjà été clôturée le 11/01/2027 avec son avis « Satisfait »."
    ) in words
    assert "Votre avis du" not in words and "votre avis « Satisfait »" not in words


async def test_relancer_reopens_the_request_for_the_caller(
    stack, database_url, amqp_url, namespace
):
    code, _ = await _answered(stack, amqp_url, namespace, EMAIL)
    _, http = await _operator(stack, database_url, "centre.relance")
    async with http:
        status, page = await _post(
            http, stack, URL + "/relancer", {"code": code, "email": MOBILE, "message": ""}
        )
        assert status == 422 and "Dites pourquoi l'appelant relance la requête" in page
        status, page = await _post(
            http,
            stack,
            URL + "/relancer",
            {"code": code, "email": MOBILE, "message": "Le reçu porte un autre montant."},
        )
        assert status == 200, page
        assert "<h1>Relance enregistrée</h1>" in page
        assert "Votre requête a été relancée" in page
    treatment = stack.apps["treatment"].app[POOL]
    await eventually(
        lambda: treatment.fetchval(
            "SELECT true FROM treatments WHERE code = $1 AND status = 'reopened'", code
        )
    )
    intake = stack.apps["intake"].app[POOL]
    await eventually(
        lambda: intake.fetchval(
            "SELECT true FROM requests WHERE code = $1 AND status = 'reopened'", code
        )
    )
    assert [a for a, _, _ in await _audit(database_url, "centre.relance")] == [
        "caller_reopening_recorded"
    ]


async def test_only_an_operator_follows_a_call(stack, database_url, amqp_url, namespace):
    code, _ = await _answered(stack, amqp_url, namespace, EMAIL)
    await create_account(database_url, Role.ANALYST, "analyste.suivi", PASSWORD)
    async with await signed_in_session(stack.gateway, "analyste.suivi", PASSWORD) as http:
        async with http.get(stack.gateway + URL) as resp:
            assert resp.status == 403
            assert "Accès refusé" in await resp.text()
        token = await form_token(http, stack.gateway + "/admin/")
        for path in (URL, URL + "/avis", URL + "/relancer"):
            form = {"csrf_token": token, "code": code, "email": MOBILE, "opinion": "satisfied"}
            async with http.post(stack.gateway + path, data=form) as resp:
                assert resp.status == 403, path
    # Intake itself refuses the channel ``phone`` without an operator's signed identity.
    services = stack.apps["gateway"].app[SERVICES]
    payload = {"code": code, "phone": MOBILE, "opinion": "satisfied"}
    for identity, expected in (
        (None, 401),
        (Identity(staff_id="x", role=Role.ANALYST), 403),
    ):
        status, _ = await services.call(
            "POST", "intake", "/tracking/opinion", json=payload, identity=identity, channel="phone"
        )
        assert status == expected
    intake = stack.apps["intake"].app[POOL]
    assert not await intake.fetchval(
        "SELECT count(*) FROM citizen_replies c JOIN requests r ON r.id = c.request_id "
        "WHERE r.code = $1",
        code,
    )


FOCAL_POINT = "koffi.suivi"  # a focal point of the body that answered (tests/treatment/pages)
BY_PHONE = lifecycle.BODY_BY_PHONE_LABELS


async def _bodys_page(stack, code: str) -> str:
    """The request's page, as the body's focal point reads it."""
    async with await signed_in_session(stack.gateway, FOCAL_POINT, PASSWORD) as http:
        status, page = await page_of(http, f"{stack.gateway}/admin/requetes/{code}")
    assert status == 200, page
    return page


async def _bodys_history(stack, code: str) -> str:
    """The page's « Historique »."""
    page = await _bodys_page(stack, code)
    return _text(page[page.index('id="historique-titre"') :])


async def _bodys_replies(stack, code: str) -> str:
    """The page's « Retours de l'usager »."""
    page = await _bodys_page(stack, code)
    start = page.index('id="retours-titre"')
    return _text(page[start : page.index("</section>", start)])


async def _reply_line(stack, code: str, kind: str) -> dict:
    """Treatment's history line of the citizen's reply, once applied: its label and details."""
    treatment = stack.apps["treatment"].app[POOL]
    row = await eventually(
        lambda: treatment.fetchrow(
            """SELECT h.actor_role, h.details::text FROM history h
               JOIN treatments t USING (request_id) WHERE t.code = $1 AND h.kind = $2""",
            code,
            kind,
        )
    )
    return {"role": row["actor_role"], "details": json.loads(row["details"])}


async def test_the_body_reads_in_its_history_that_the_call_centre_took_the_reply_by_phone(
    stack, database_url, amqp_url, namespace
):
    """The caller's opinion and « Relancer », recorded by the operator, reach treatment saying
    they came by telephone and which operator took them (citizen.*_recorded.v2): the body's
    history says « par téléphone … centre d'appels », where the citizen's own reply reads as
    before."""
    await create_account(database_url, Role.FOCAL_POINT, FOCAL_POINT, PASSWORD, BODY, "Koffi YAO")
    reopened, _ = await _answered(stack, amqp_url, namespace, EMAIL)
    closed, _ = await _answered(stack, amqp_url, namespace, EMAIL)
    operator_id, http = await _operator(stack, database_url, "centre.historique")
    async with http:
        status, page = await _post(
            http,
            stack,
            URL + "/relancer",
            {"code": reopened, "email": MOBILE, "message": "Le reçu porte un autre montant."},
        )
        assert status == 200, page
        status, page = await _post(
            http,
            stack,
            URL + "/avis",
            {"code": closed, "email": MOBILE, "opinion": "partly_satisfied", "comment": "Lent."},
        )
        assert status == 200, page

    taken = {"channel": "phone", "operator_id": operator_id, "operator_login": "centre.historique"}
    # Still the citizen's reply (no agent of the body acted), taken by this operator.
    assert await _reply_line(stack, reopened, "reopened") == {"role": None, "details": taken}
    assert await _reply_line(stack, closed, "opinion_given") == {
        "role": None,
        "details": {"opinion": "partly_satisfied", **taken},
    }
    # The staff's history names the operator who took it, as a line names its agent
    # (« Prise en compte (Koffi YAO) »): an account without a name, by its login.
    took = "(opérateur : centre.historique)"
    history = await _bodys_history(stack, reopened)
    said = f"— {BY_PHONE[lifecycle.Event.REOPENED]} {took} Le reçu porte un autre montant."
    assert said in history, history
    assert "Relancée par l'usager par téléphone, via le centre d'appels (retraitement)" in history
    # « Retours de l'usager » says it too.
    said = f"Demande de nouveau traitement (relance), par téléphone, via le centre d'appels {took}"
    assert said in await _bodys_replies(stack, reopened)
    # The body's system reads the same line in the ministry API, naming no operator (neither
    # his id nor his login: the call centre's staff are no agents of the body), in a request's
    # history and in the changes feed.
    async with aiohttp.ClientSession() as session:
        api = Api(session, stack.gateway, await new_key(stack))
        status, one, _ = await api.get(f"/requests/{reopened}")
        assert status == 200, one

        async def fed():
            status, feed, _ = await api.get("/changes")
            assert status == 200, feed
            lines = [i for i in feed["items"] if (i["code"], i["kind"]) == (reopened, "reopened")]
            return lines or None

        [fed_line] = await eventually(fed)
    line = one["history"][-1]
    assert (line["label"], line["details"]) == (
        BY_PHONE[lifecycle.Event.REOPENED],
        {"channel": "phone"},
    )
    assert (fed_line["label"], fed_line["details"]) == (line["label"], line["details"])
    for said in (json.dumps(one), json.dumps(fed_line)):
        assert operator_id not in said and "centre.historique" not in said
    history = await _bodys_history(stack, closed)
    said = f"— {BY_PHONE[lifecycle.Event.OPINION_GIVEN]} {took} Partiellement satisfait Lent."
    assert said in history, history
    assert "Avis de l'usager recueilli par téléphone, via le centre d'appels" in said
    said = f"Avis : Partiellement satisfait, par téléphone, via le centre d'appels {took} Lent."
    assert said in await _bodys_replies(stack, closed)
    # The citizen's own tracking page, once it shows the reply, never names the operator.
    for code, kind in ((reopened, "request.reopened"), (closed, "request.opinion_given")):
        page = await _citizens_page(stack, code, kind)
        assert "centre.historique" not in page and "opérateur :" not in page
    # Intake's history line of each reply is linked to it by the reply's id, which went to
    # treatment and came back with its event (never by the moment).
    intake = stack.apps["intake"].app[POOL]
    for code, kind in ((reopened, "request.reopened"), (closed, "request.opinion_given")):
        linked = await intake.fetchval(
            """SELECT h.reply_id = c.id FROM request_history h
               JOIN citizen_replies c USING (request_id) JOIN requests r ON r.id = h.request_id
               WHERE r.code = $1 AND h.event_type = $2""",
            code,
            kind,
        )
        assert linked, (code, kind)
    # The call centre's own page (« Suivi d'un appel ») names him too, to a colleague who
    # looks the request up again, and on the page that refuses a second reply.
    _, http = await _operator(stack, database_url, "centre.collegue")
    async with http:
        status, page = await _post(http, stack, URL, {"code": reopened, "email": MOBILE})
        assert status == 200, page
        said = f"L'appelant a relancé la requête pour un nouveau traitement (retraitement). {took}"
        assert said in _text(page[page.index('id="historique"') :]), page
        status, page = await _post(
            http, stack, URL + "/avis", {"code": closed, "email": MOBILE, "opinion": "satisfied"}
        )
        assert status == 409, page
        said = f"L'appelant a donné son avis sur le service reçu : Partiellement satisfait. {took}"
        assert said in _text(page[page.index('id="historique"') :]), page

    # The citizen's own reply, on their tracking page: the line as it always read.
    web, _ = await _answered(stack, amqp_url, namespace, EMAIL)
    async with new_session() as citizen:
        token = await form_token(citizen, stack.gateway + "/suivre")
        form = {"csrf_token": token, "code": web, "email": EMAIL, "opinion": "satisfied"}
        async with citizen.post(stack.gateway + "/suivre/avis", data=form) as resp:
            assert resp.status in (200, 303), await resp.text()
    line = await _reply_line(stack, web, "opinion_given")
    assert line == {"role": None, "details": {"opinion": "satisfied", "channel": "web"}}
    history = await _bodys_history(stack, web)
    assert "— Avis de l'usager Satisfait" in history
    assert "téléphone" not in history and "opérateur" not in history
    replies = await _bodys_replies(stack, web)
    assert "— Avis : Satisfait" in replies and "téléphone" not in replies


@pytest.fixture
async def strict_stack(settings_for, smtp_server) -> AsyncIterator[Stack]:
    """The platform with intake's low tracking limits (tests/track/conftest.STRICT)."""
    exits = await start_stack(settings_for, smtp_server.port, **STRICT)
    async with exits:
        yield exits.stack  # type: ignore[attr-defined]


async def test_intakes_limits_count_each_operator_apart(
    strict_stack, database_url, amqp_url, namespace
):
    """The operators of a call centre share one address: one operator's wrong tries stop him at
    intake's limit, in the citizen page's words, and never his colleague."""
    stack = strict_stack
    code, _ = await _answered(stack, amqp_url, namespace, EMAIL)
    _, first = await _operator(stack, database_url, "centre.un")
    _, second = await _operator(stack, database_url, "centre.deux")
    async with first, second:
        wrong = {"code": code, "email": "07 07 99 99 99"}
        for _ in range(STRICT["tracking_per_code"]):
            status, _page = await _post(first, stack, URL, wrong)
            assert status == 404
        status, page = await _post(first, stack, URL, {"code": code, "email": MOBILE})
        assert status == 429
        assert "Trop de tentatives. Réessayez dans 15 minutes." in page
        assert f'name="code" value="{code}"' in page
        status, page = await _post(second, stack, URL, {"code": code, "email": MOBILE})
        assert status == 200, page
        assert "Votre remboursement a été viré le 3 février." in page


def _line(kind: str, details: dict, role: str | None = None) -> dict:
    """A history line as treatment gives it to the gateway (a citizen's reply: no agent)."""
    label = lifecycle.BODY_EVENT_LABELS[lifecycle.Event.of_kind(kind)]
    if details.get("channel") == "phone":
        label = BY_PHONE.get(lifecycle.Event.of_kind(kind), label)
    return {
        "at": "2026-12-07T09:30:00+00:00",
        "kind": kind,
        "label": label,
        "actor_login": None,
        "actor_role": role,
        "message": "",
        "details": details,
    }


def test_the_staff_name_the_operator_by_his_name_and_a_v1_reply_reads_as_before():
    """The operator's account has a name: the lines say it, as they say an agent's (the login
    stands for an account without one, the test above). A v1 reply (no channel) and the
    citizen's own read as before; a reply the platform refused says who took it by phone."""
    taken = {"channel": "phone", "operator_id": "id-1", "operator_login": "aya.k"}
    refused = {"reply": "opinion", "reason": "La requête était déjà close.", **taken}
    item = {
        "history": [
            _line("opinion_given", {"opinion": "satisfied", **taken}),
            _line("reopened", {}),  # v1
            _line("reopened", {"channel": "web"}),
            _line("citizen_reply_refused", refused, role="system"),
        ]
    }
    names = {"aya.k": "Aya KONAN"}
    lines = [(x["label"], x["who"], x["extra"]) for x in _history(item, names)]
    assert lines == [
        (BY_PHONE[lifecycle.Event.OPINION_GIVEN], "opérateur : Aya KONAN", "Satisfait"),
        ("Relancée par l'usager (retraitement)", "", ""),
        ("Relancée par l'usager (retraitement)", "", ""),
        (
            lifecycle.BODY_EVENT_LABELS[lifecycle.Event.CITIZEN_REPLY_REFUSED],
            "la plateforme",
            "La requête était déjà close. — Recueillie par téléphone, via le centre d'appels "
            "(opérateur : Aya KONAN)",
        ),
    ]
    assert [r["what"] for r in _replies(item, names)] == [
        "Avis : Satisfait, par téléphone, via le centre d'appels (opérateur : Aya KONAN)",
        "Demande de nouveau traitement (relance)",
        "Demande de nouveau traitement (relance)",
    ]
