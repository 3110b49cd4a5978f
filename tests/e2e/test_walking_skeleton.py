"""A request through the real processes: the gateway's page, intake, the broker, notify's email at
a real SMTP server, stats' count, triage's queue, and the tracking page."""

from __future__ import annotations

from email.header import decode_header, make_header

from tests.browser import ARTIFACTS
from tests.e2e.conftest import analyst_headers
from tests.support import eventually, signed_session

BODY = "ministere-budget"


async def _json(method: str, url: str, **kw):
    async with signed_session() as http, http.request(method, url, **kw) as resp:
        return resp.status, await resp.json()


async def _body_total(platform, body_id: str) -> int:
    status, data = await _json("GET", platform.url("gateway") + "/api/v1/stats/bodies")
    assert status == 200
    return next((b["total"] for b in data["bodies"] if b["body_id"] == body_id), 0)


async def test_submit_then_email_stats_queue_and_tracking(platform, page, smtp_server):
    gateway = platform.url("gateway")
    email = "aya.kouassi@example.ci"
    before = await _body_total(platform, BODY)

    await page.goto(gateway + "/")
    await page.get_by_role("link", name="Soumettre une requête").first.click()
    # The guide's steps: the nature, then the body (searched), then the form.
    await page.get_by_role("link", name="Réclamation").first.click()
    await page.get_by_label("Rechercher un organisme").fill("budget")
    await page.get_by_role("button", name="Rechercher").click()
    await page.get_by_role("link", name="Ministère du budget et du Portefeuille de l'Etat").click()
    await page.get_by_label("Commune ou S/Préfecture").select_option("abidjan-plateau")
    await page.get_by_label("Thème").select_option("accueil-espace")
    await page.get_by_label("Message").fill("L'accueil est décevant, la file d'attente est longue.")
    await page.get_by_label("Nom", exact=True).fill("KOUASSI")
    await page.get_by_label("Prénoms").fill("Aya")
    await page.get_by_label("Téléphone portable").fill("07 07 12 34 56")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("J'accepte").check()
    await page.get_by_role("button", name="Soumettre votre requête").click()
    await page.get_by_role("button", name="Envoyer ma requête").click()  # « Êtes-vous sûr… ? »

    await page.get_by_text("Votre Réclamation a bien été enregistrée.").wait_for()
    code = (await page.locator("#code").inner_text()).replace(" ", "")
    assert len(code) == 10 and code.isdigit()
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=ARTIFACTS / "skeleton-submitted.png", full_page=True)

    # The acknowledgement email reaches the SMTP server, with the code.
    [mail] = await smtp_server.wait_for(email)
    assert code in str(mail)
    assert "réclamation" in str(make_header(decode_header(mail["Subject"])))

    # stats counted it (and, once notify reported it, the email sent); triage queued it.
    await eventually(lambda: _moved(platform, before))
    await eventually(lambda: _emails_sent(platform, 1))
    status, item = await _json(
        "GET", platform.url("triage") + f"/queue/{code}", headers=analyst_headers()
    )
    assert status == 200 and item["status"] == "waiting"

    # The tracking page shows the status for the right pair, nothing for a wrong one.
    await page.goto(gateway + "/suivre")
    await page.get_by_label("Code Requête").fill(code)
    await page.get_by_label("Adresse e-mail ou numéro de mobile").fill(email.upper())
    await page.get_by_role("button", name="Valider").click()
    assert (await page.locator("#status").inner_text()).strip() == "En attente de traitement"

    await page.goto(gateway + "/suivre")
    await page.get_by_label("Code Requête").fill(code)
    await page.get_by_label("Adresse e-mail ou numéro de mobile").fill("someone.else@example.ci")
    await page.get_by_role("button", name="Valider").click()
    await page.get_by_text("Aucune requête ne correspond").wait_for()
    assert await page.locator("#status").count() == 0
    assert await page.locator("table").count() == 0


async def _emails_sent(platform, n: int) -> bool:
    _, data = await _json("GET", platform.url("stats") + "/stats/deliveries")
    return data["deliveries"].get("email", {}).get("sent") == n


async def _moved(platform, before):
    return await _body_total(platform, BODY) == before + 1


async def test_bad_input_gets_french_errors_beside_the_fields_and_keeps_what_was_typed(
    platform, page
):
    await page.goto(
        platform.url("gateway") + f"/soumettre/formulaire?nature=reclamation&organisme={BODY}"
    )
    await page.get_by_label("Nature").select_option("suggestion")
    await page.get_by_label("Message").fill("Ouvrir le guichet le samedi.")
    await page.get_by_label("Téléphone portable").fill("12")
    await page.get_by_label("Email").fill("pas-une-adresse")
    await page.get_by_role("button", name="Soumettre votre requête").click()

    await page.get_by_role("heading", name="Veuillez corriger les erreurs ci-dessous").wait_for()
    phone = page.get_by_label("Téléphone portable")
    assert await phone.input_value() == "12"
    assert await phone.get_attribute("aria-invalid") == "true"
    phone_error = await page.locator("#err-phone").inner_text()
    assert "numéro" in phone_error
    assert "adresse électronique n'est pas valide" in await page.locator("#err-email").inner_text()
    assert "conditions d'utilisation" in await page.locator("#err-terms_accepted").inner_text()
    assert await page.get_by_label("Message").input_value() == "Ouvrir le guichet le samedi."
    assert await page.get_by_label("Nature").input_value() == "suggestion"


async def test_json_api_answers_4xx_listing_each_faulty_field(platform):
    url = platform.url("gateway") + "/api/v1/requests"
    status, body = await _json(
        "POST",
        url,
        json={"nature": "plainte", "body_id": "nulle-part", "message": "", "contact": {}},
    )
    assert status == 422
    fields = {e["field"] for e in body["errors"]}
    assert {"nature", "message"} <= fields

    status, body = await _json(
        "POST",
        url,
        json={
            "nature": "reclamation",
            "body_id": "nulle-part",
            "message": "Bonjour",
            "contact": {"country": "CI", "phone": "0707123456", "email": "a@example.ci"},
        },
    )
    assert status == 422
    assert [e["field"] for e in body["errors"]] == ["body_id"]

    # A body that is not JSON, or not said to be, gets the same JSON refusal on every route.
    tracking_url = url.replace("/api/v1/requests", "/api/v1/tracking")
    async with signed_session() as http:
        for route in (url, tracking_url):
            async with http.post(
                route, data=b"{oops", headers={"Content-Type": "application/json"}
            ) as r:
                assert r.status == 400
                assert (await r.json())["error"] == "invalid_json"
            async with http.post(
                route, data=b"code=1", headers={"Content-Type": "text/plain"}
            ) as r:
                assert r.status == 415
                assert (await r.json())["error"] == "unsupported_media_type"
    status, body = await _json(
        "POST",
        url,
        json={
            "nature": "demande_information",
            "body_id": BODY,
            "message": "Quels documents pour un passeport ?",
            "contact": {"country": "CI", "phone": "+225 07 07 12 34 56", "email": "b@example.ci"},
            "submission_key": "client-retry-1",
        },
    )
    assert status == 201
    again_status, again = await _json(
        "POST",
        url,
        json={
            "nature": "demande_information",
            "body_id": BODY,
            "message": "Quels documents pour un passeport ?",
            "contact": {"country": "CI", "phone": "+225 07 07 12 34 56", "email": "b@example.ci"},
            "submission_key": "client-retry-1",
        },
    )
    assert again_status == 200 and again["code"] == body["code"] and again["replayed"]
