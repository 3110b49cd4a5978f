"""« Suivi d'un appel » while a caller's reply waits for treatment: intake recorded it (the
operator took it by telephone) and the body has not applied it yet. The call centre's page says
who took it, in the staff's words (``shared.lifecycle``); the citizen's page says « (enregistré) »
as ever and never names him. Intake and the gateway only (treatment is not running, so the reply
waits for it), intake's events delivered as its consumer applies them."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator

import pytest

from gateway.app import create_app as gateway_app
from gateway.settings import GatewaySettings
from services.intake.app import create_app as intake_app
from services.intake.settings import IntakeSettings
from shared import lifecycle
from shared.identity import Role
from tests.staff.helpers import create_account, form_token, new_session, signed_in_session
from tests.support import RunningApp, free_port
from tests.track.test_replies import _treated
from tests.track.test_treatment_events import Intake

PASSWORD = "le centre d'appels rappelle"
URL = "/admin/appel/suivi"


class Front:
    def __init__(self, intake: Intake, gateway: str) -> None:
        self.intake, self.gateway = intake, gateway


@pytest.fixture
async def front(settings_for) -> AsyncIterator[Front]:
    settings = settings_for(IntakeSettings, db_pool_min=1)
    async with RunningApp(intake_app(settings)) as intake:
        # Treatment's address answers nothing: the reply waits, as when treatment is down.
        settings = settings_for(
            GatewaySettings,
            db_pool_min=1,
            intake_url=intake.url,
            treatment_url=f"http://127.0.0.1:{free_port()}",
        )
        async with RunningApp(gateway_app(settings)) as gateway:
            yield Front(Intake(intake), gateway.url)


async def _answered(intake: Intake) -> tuple[str, str]:
    """A réclamation validated and answered by the body: (code, email)."""
    _, code, email, _ = await _treated(intake)
    return code, email


async def _post(http, gateway: str, path: str, data: dict) -> tuple[int, str]:
    token = await form_token(http, gateway + URL)
    async with http.post(gateway + path, data={"csrf_token": token, **data}) as resp:
        return resp.status, html.unescape(await resp.text())


def _text(fragment: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", fragment).split())


def _opinion_cell(page: str) -> str:
    """« Avis du citoyen »."""
    found = re.search(r'<td id="opinion">(.*?)</td>', page, re.S)
    assert found, page
    return _text(found.group(1))


def _notice(page: str) -> str:
    """The note of a reply recorded and not yet applied."""
    found = re.search(r'id="reply-recorded">(.*?)</div>', page, re.S)
    assert found, page
    return _text(found.group(1))


async def test_the_call_centre_reads_who_took_a_reply_waiting_for_treatment(front, database_url):
    gateway = front.gateway
    opinion, email = await _answered(front.intake)
    reopened, email_2 = await _answered(front.intake)
    await create_account(
        database_url, Role.OPERATOR, "centre.attente", PASSWORD, display_name="Aya KONAN"
    )
    async with await signed_in_session(gateway, "centre.attente", PASSWORD) as http:
        status, page = await _post(
            http,
            gateway,
            URL + "/avis",
            {"code": opinion, "email": email, "opinion": "not_satisfied", "comment": "Lent."},
        )
        assert status == 200 and "<h1>Avis enregistré</h1>" in page, page
        status, page = await _post(
            http,
            gateway,
            URL + "/relancer",
            {"code": reopened, "email": email_2, "message": "Le reçu porte un autre montant."},
        )
        assert status == 200 and "<h1>Relance enregistrée</h1>" in page, page

    # The staff's words for a reply taken by phone (shared.lifecycle.by_phone).
    took = "par téléphone, via le centre d'appels (opérateur : Aya KONAN)"
    # A colleague looks the request up again while treatment has not applied the reply.
    await create_account(database_url, Role.OPERATOR, "centre.collegue", PASSWORD)
    async with await signed_in_session(gateway, "centre.collegue", PASSWORD) as http:
        status, page = await _post(http, gateway, URL, {"code": opinion, "email": email})
        assert status == 200, page
        assert _opinion_cell(page) == f"Non satisfait (enregistré) — {took}"
        said = _notice(page)
        assert said.startswith("L'avis de l'appelant a été enregistré le ")
        assert f"Réponse de l'appelant recueillie {took}." in said
        # A « Relancer » waiting: no opinion in the cell, the notice says who took it.
        status, page = await _post(http, gateway, URL, {"code": reopened, "email": email_2})
        assert status == 200, page
        assert _opinion_cell(page) == "Aucun"
        said = _notice(page)
        assert said.startswith("La relance de l'appelant a été enregistrée le ")
        assert f"Réponse de l'appelant recueillie {took}." in said

    assert lifecycle.by_phone("Aya KONAN") == took
    # The citizen's own page: « (enregistré) », nobody named.
    async with new_session() as citizen:
        token = await form_token(citizen, gateway + "/suivre")
        form = {"csrf_token": token, "code": opinion, "email": email}
        async with citizen.post(gateway + "/suivre", data=form) as resp:
            assert resp.status == 200
            page = html.unescape(await resp.text())
    assert _opinion_cell(page) == "Non satisfait (enregistré)"
    for never in ("Aya KONAN", "centre.attente", "opérateur", lifecycle.BY_PHONE):
        assert never not in page, never
