"""The analyst's back office once the body answered (the exploratory trial's findings): a request
the call centre typed, validated, answered, judged « Non satisfait ».

- The analyst's request page says where the request is in its life (« Clôturée — Non
  satisfait »), and the analysts' decision as a decision (« Validée par … le … »), not as the
  status.
- Its history names the operator who typed the request by phone, as the body's history names the
  operator who took a reply; never « (l'usager) ». A rewrite is said once: no « (l'usager) »
  after « Requête reformulée par l'usager ».
- From « Insatisfaits », an analyst reaches the « Message d'éclaircissement à l'usager » and
  sends it (a real Chromium)."""

from __future__ import annotations

import json
import re
from html import unescape

from playwright.async_api import expect

from gateway.backoffice.triage import request as analyst_page
from shared import lifecycle
from shared.identity import Identity, Role
from shared.messages import Opinion
from tests.purge.conftest import AGENT, rewritten, submitted, validated
from tests.staff.helpers import create_account, form_token, sign_in, signed_in_session
from tests.support import as_staff, eventually, signed_session
from tests.triage.test_call_centre_sms import _call

PASSWORD = "l'analyste relit la réponse"
ANALYST_NAME = "Awa KONÉ"
OPERATOR_NAME = "Cécile N'GUESSAN"
CALLER_EMAIL = "kouame.yeboue@example.ci"
PHONE = "07 07 12 34 56"
STAFF = as_staff(Identity(staff_id="t", role=Role.ANALYST, login="awa.kone"))


async def _typed_by_the_call_centre(gateway: str) -> str:
    """A réclamation the operator « cc.operateur » types on « Saisir une requête »: its code."""
    url = gateway + "/admin/appel"
    async with await signed_in_session(gateway, "cc.operateur", PASSWORD) as http:
        token = await form_token(http, url)
        message = "Le bulletin de mon fils n'est pas arrivé au lycée."
        page = await _call(http, url, token, message=message, phone=PHONE, email=CALLER_EMAIL)
    return re.sub(r"\D", "", re.search(r'id="code"[^>]*>([^<]*)<', page)[1])


async def _answered_then_unsatisfied(stack, code: str) -> None:
    """Validated by awa.kone, taken in charge and answered by the body, « Non satisfait »."""
    await validated(stack, code, "Recevable.")
    treatment = stack.url("treatment")
    async with signed_session() as http:

        async def call(path: str, body: dict) -> None:
            url = f"{treatment}/requests/{code}/{path}"
            async with http.post(url, json=body, headers=as_staff(AGENT)) as r:
                assert r.status == 200, await r.text()

        async def in_treatment() -> bool:
            url = f"{treatment}/requests/{code}"
            async with http.get(url, headers=as_staff(AGENT)) as r:
                return r.status == 200

        await eventually(in_treatment)
        await call("take", {"version": 1})
        await call("answer", {"message": "Le bulletin est à la direction régionale."})
        opinion = {
            "code": code,
            "email": CALLER_EMAIL,
            "opinion": Opinion.NOT_SATISFIED.value,
            "comment": "On m'a renvoyé à l'école.",
        }

        async def given() -> bool:
            async with http.post(f"{stack.gateway}/api/v1/tracking/opinion", json=opinion) as r:
                return r.status == 202

        await eventually(given)

        async def triage_knows() -> bool:
            url = f"{stack.url('triage')}/queue/{code}?contact=0"
            async with http.get(url, headers=STAFF) as r:
                return (await r.json()).get("may_clarify") is True

        await eventually(triage_knows)

        async def listed() -> bool:
            url = f"{treatment}/requests?view=insatisfaits"
            async with http.get(url, headers=STAFF) as r:
                return code in await r.text()

        await eventually(listed)


def _fact(html: str, term: str) -> str:
    found = re.search(rf"<dt>{term}</dt><dd[^>]*>(.*?)</dd>", html, re.S)
    assert found, (term, html)
    return re.sub(r"\s+", " ", found[1]).strip()


def _back_link(html: str) -> str:
    found = re.search(r'<a href="([^"]*)">Retour à la liste</a>', html)
    assert found, html
    return found[1]


def _history(html: str) -> str:
    part = html[html.find('id="historique-titre"') :]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", part[: part.find("</section>")]))


async def test_the_analyst_after_the_body_answered(stack, database_url, page):
    await create_account(database_url, Role.ANALYST, "awa.kone", PASSWORD, None, ANALYST_NAME)
    await create_account(database_url, Role.OPERATOR, "cc.operateur", PASSWORD, None, OPERATOR_NAME)
    code = await _typed_by_the_call_centre(stack.gateway)
    await _answered_then_unsatisfied(stack, code)
    _, rewrite = await submitted(stack)
    await rewritten(stack, rewrite)

    async with await signed_in_session(stack.gateway, "awa.kone", PASSWORD) as http:
        async with http.get(f"{stack.gateway}/admin/traitements/{code}") as resp:
            html = unescape(await resp.text())
            assert resp.status == 200, html
        # Where the request is now, in the life cycle's words; the decision as a decision.
        assert _fact(html, "Statut") == "Clôturée — Non satisfait"
        assert re.fullmatch(
            rf"Validée par {ANALYST_NAME} le \d\d/\d\d/\d{{4}} à \d\d:\d\d",
            _fact(html, "Décision de l'analyste"),
        ), _fact(html, "Décision de l'analyste")
        # The operator who typed it, for staff; never the citizen.
        history = _history(html)
        assert f"Requête soumise (opérateur : {OPERATOR_NAME})" in history, history
        assert "(l'usager)" not in history, history

        async with http.get(f"{stack.gateway}/admin/traitements/{rewrite}") as resp:
            history = _history(unescape(await resp.text()))
        assert "Requête reformulée par l'usager (l'usager)" not in history, history
        assert "Requête reformulée par l'usager" in history, history
        assert "Requête soumise (l'usager)" in history, history  # the citizen's own, on the web

        # The body's page, read-only for an analyst, leads to the clarification.
        async with http.get(f"{stack.gateway}/admin/requetes/{code}") as resp:
            html = unescape(await resp.text())
        assert f'href="/admin/traitements/{code}?ouvrir=clarifier' in html, html

        # « Retour à la liste » leads back only to a list of the back office, whatever
        # « retour » says.
        for hostile in (
            "//evil.example/x",
            "/admin/traitements/../comptes",
            "https://evil.example",
        ):
            url = f"{stack.gateway}/admin/traitements/{code}"
            async with http.get(url, params={"retour": hostile}) as resp:
                html = unescape(await resp.text())
            assert _back_link(html) == "/admin/traitements", (hostile, _back_link(html))
            assert 'name="retour"' not in html, hostile

    # The citizen's own view of it names no agent.
    async with (
        signed_session() as http,
        http.post(
            f"{stack.gateway}/api/v1/tracking", json={"code": code, "email": CALLER_EMAIL}
        ) as resp,
    ):
        tracked = json.dumps(await resp.json(), ensure_ascii=False)
        assert resp.status == 200, tracked
    assert "cc.operateur" not in tracked and OPERATOR_NAME not in tracked, tracked

    # « Insatisfaits » → the clarification, sent (Chromium, as the analyst works).
    await sign_in(page, stack.gateway, "awa.kone", PASSWORD)
    await page.goto(f"{stack.gateway}/admin/traitements/insatisfaits")
    row = page.locator("table tbody tr", has_text=code)
    await row.get_by_role("link", name=re.compile("Message d'éclaircissement")).click()
    form = page.locator("details.decision-clarifier")
    await expect(form).to_have_attribute("open", "")
    await form.get_by_label("Message à l'usager").fill("Le bulletin part de la direction demain.")
    await form.get_by_role("button", name="Envoyer le message").click()
    await expect(page.get_by_role("status")).to_contain_text(
        "Le message d'éclaircissement est envoyé à l'usager."
    )
    # Back to « Insatisfaits », where the analyst came from, not to the triage queue.
    back = page.get_by_role("link", name="Retour à la liste")
    await expect(back).to_have_attribute("href", "/admin/traitements/insatisfaits")


def test_the_submission_line_names_the_operator_triage_keeps_or_says_by_phone():
    """Who typed it is read from triage's line (request.submitted.v1 ``operator``), by the
    account's id first, else its login; a request typed by phone before the event said who
    keeps the channel's words; a citizen's own submission is « l'usager »."""

    def line(details: dict) -> dict:
        at = "2026-12-07T10:00:00+00:00"
        return {"at": at, "kind": "submitted", "label": "Requête soumise", "details": details}

    phone = {"channel": "phone"}
    item = {
        "history": [
            line({**phone, "operator_id": "id-1", "operator_login": "ancien.login"}),
            line({**phone, "operator_id": "id-2", "operator_login": "cc.operateur"}),
            line({**phone, "operator_id": "id-3", "operator_login": "parti"}),
            line(phone),  # typed before request.submitted named the operator
            line({"channel": "web"}),
        ]
    }
    names = {"id-1": OPERATOR_NAME, "cc.operateur": "Aya KONAN"}
    assert [x["who"] for x in analyst_page._history(item, names)] == [
        f"opérateur : {OPERATOR_NAME}",
        "opérateur : Aya KONAN",
        "opérateur : parti",
        lifecycle.BY_PHONE,
        "l'usager",
    ]


def test_only_a_list_of_the_back_office_is_carried_back():
    """« retour » kept for the queue (its filters and page) and « Insatisfaits », carried by a
    decision's redirect unless it is the queue itself."""
    safe = analyst_page.safe_back
    assert safe("/admin/traitements/insatisfaits") == "/admin/traitements/insatisfaits"
    assert safe("/admin/traitements?statut=tous&page=2") == "/admin/traitements?statut=tous&page=2"
    for hostile in (
        "",
        "//evil.example",
        "https://evil.example/admin/traitements",
        "/admin/traitements/../comptes",
        "/admin/traitements/5030529490",
        "/admin/traitements/insatisfaits#x",
        "/\\evil.example",
    ):
        assert safe(hostile) == "/admin/traitements", hostile
    done = "/admin/traitements/5030529490?fait=clarifier"
    assert analyst_page.with_back(done, "/admin/traitements") == done
    assert analyst_page.with_back(done, "/admin/traitements/insatisfaits") == (
        done + "&retour=%2Fadmin%2Ftraitements%2Finsatisfaits"
    )
