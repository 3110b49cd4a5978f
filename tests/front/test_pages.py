"""Every citizen page, and its error states: axe-core finds no violation (at 360 px), each error
message is linked to its field (aria-describedby), the keyboard reaches every field in reading
order, the « Organismes » directory searches and pages, « Statistiques » shows the
counts stats keeps, and each page's weight (HTML + CSS) is measured."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import uuid

import aiohttp
from playwright.async_api import expect

from shared.codes import grouped
from tests.browser import ARTIFACTS, axe_violations
from tests.front.pages import (
    BUDGET_NAME,
    fill_form,
    new_page,
    screenshots,
    submit_form,
    unlinked_errors,
)
from tests.support import RunningApp, eventually, free_port, signed_session


async def _api_submission(gateway: str, email: str) -> str:
    payload = {
        "nature": "reclamation",
        "body_id": "ministere-budget",
        "theme_id": "accueil-agent",
        "message": "L'agent d'accueil était absent de son poste.",
        "contact": {"country": "CI", "phone": "0505123456", "email": email},
    }
    async with (
        signed_session() as http,
        http.post(gateway + "/api/v1/requests", json=payload) as resp,
    ):
        assert resp.status == 201, await resp.text()
        return (await resp.json())["code"]


async def _weights(gateway: str, paths: dict[str, str]) -> dict[str, dict[str, int]]:
    """Bytes of HTML (as served, and gzipped) and of CSS of each page, fetched without cookies."""
    import gzip

    out = {}
    async with signed_session() as http:
        async with http.get(gateway + "/static/milie.css") as resp:
            css = await resp.read()
        for name, path in paths.items():
            async with http.get(gateway + path) as resp:
                html = await resp.read()
            out[name] = {
                "html": len(html),
                "css": len(css),
                "total": len(html) + len(css),
                "total_gzip": len(gzip.compress(html)) + len(gzip.compress(css)),
            }
    return out


async def test_every_citizen_page_passes_axe_and_the_directory_and_statistics_work(stack, browser):
    gateway = stack.gateway
    email = f"awa.{uuid.uuid4().hex[:6]}@example.ci"
    code = await _api_submission(gateway, email)
    context, page = await new_page(browser)
    found: dict[str, list] = {}

    async def check(name: str) -> None:
        found[name] = await axe_violations(page)

    try:
        plain = {
            "accueil": "/",
            "a-propos": "/a-propos",
            "informations": "/informations",
            "guide": "/guide",
            "nature": "/soumettre",
            "organisme": "/soumettre/organisme?nature=reclamation",
            "organisme-page-2": "/soumettre/organisme?nature=reclamation&page=2",
            "organisme-aucun": "/soumettre/organisme?nature=reclamation&q=zzz",
            "formulaire": "/soumettre/formulaire?nature=reclamation&organisme=ministere-budget",
            "saisie-expiree": f"/soumettre/confirmer?brouillon={uuid.uuid4()}",
            "organismes": "/organismes",
            "organismes-recherche": "/organismes?q=eaux",
            "organismes-page-2": "/organismes?page=2",
            "organismes-aucun": "/organismes?q=zzz",
            "suivre": "/suivre",
            "code-oublie": "/suivre/code-oublie",
        }
        for name, path in plain.items():
            await page.goto(gateway + path)
            await check(name)
            if name in ("saisie-expiree", "organismes-recherche", "organisme-aucun"):
                await screenshots(page, f"12-{name}")

        # « Statistiques »: the request submitted above, counted by stats from its event.
        async def counted():
            await page.goto(gateway + "/statistiques")
            row = page.get_by_role("row", name=re.compile(re.escape(BUDGET_NAME)))
            return await row.count() == 1 and (await row.inner_text()).split("\t")[1] == "1"

        await eventually(counted)
        assert "TOTAUX" in await page.content()
        await check("statistiques")
        # Its wide table scrolls inside its region; the page itself never scrolls sideways (the
        # hidden « aucun avis » of the last column once pushed it wider than 360 px).
        wide = "document.scrollingElement.scrollWidth <= window.innerWidth"
        assert await page.evaluate(wide), "« Statistiques » scrolls sideways at 360 px"
        # The table's title stays whole on screen: it is not scrolled off with the table.
        title = await page.get_by_text("Requêtes par organisme public et par nature").bounding_box()
        assert title["x"] + title["width"] <= await page.evaluate("window.innerWidth")
        await screenshots(page, "10-statistiques")

        # « Organismes »: search, pages, and the way from a body to its form.
        await page.goto(gateway + "/organismes")
        assert "Nombre de résultats : 11" in await page.content()
        await screenshots(page, "11-organismes")
        await page.get_by_label("Rechercher un organisme").fill("eaux forets")
        await page.get_by_role("button", name="Rechercher").click()
        found_bodies = page.locator("ul.bodies > li")
        assert await found_bodies.count() == 1
        text = await found_bodies.inner_text()
        assert "Ministère des Eaux et Forêts (MINEF)" in text
        assert "Téléphone : +225 27 20 21 72 67 / +225 27 20 21 94 06" in text
        assert "Localisation : Plateau, Cité administrative, Tour D, 19ème étage" in text
        await page.goto(gateway + "/organismes")  # every body on one page: no « Page suivante »
        await expect(page.get_by_role("link", name="Page suivante")).to_have_count(0)
        await page.get_by_role("link", name=re.compile("Adresser une requête")).last.click()
        await page.get_by_role("link", name=re.compile("^Demande d'information")).click()
        await page.get_by_role("heading", name="Exprimez votre préoccupation").wait_for()
        assert await page.get_by_label("Nature").input_value() == "demande_information"

        # The form with every kind of error, then the confirmation and the code.
        await page.goto(gateway + plain["formulaire"])
        await _tab_through_the_form(page)
        await submit_form(page)
        await page.locator("#erreurs").wait_for()
        assert await unlinked_errors(page) == []
        await check("formulaire-erreurs")
        await fill_form(page, email=email)
        await submit_form(page)
        await page.get_by_role("button", name="Envoyer ma requête").wait_for()
        await check("confirmation")
        await page.get_by_role("button", name="Envoyer ma requête").click()
        await page.locator("#code").wait_for()
        await check("enregistree")

        # « Suivre une requête » and its result as they are now (another engineer's pages).
        await page.goto(gateway + "/suivre")
        await page.get_by_label("Code Requête").fill(code)
        await page.get_by_label("Adresse e-mail ou numéro de mobile").fill(email)
        await page.get_by_role("button", name="Valider").click()
        await page.get_by_text(grouped(code)).first.wait_for()
        await check("suivi-resultat")
        await page.get_by_role("heading", name="Comprendre les étapes de traitement").wait_for()

        # Its error states: fields left empty, then a code and an address that do not match.
        await page.goto(gateway + "/suivre")
        await page.get_by_role("button", name="Valider").click()
        await page.locator("#err-code").wait_for()
        assert await unlinked_errors(page) == []
        await check("suivre-erreurs")
        await page.get_by_label("Code Requête").fill(code)
        await page.get_by_label("Adresse e-mail ou numéro de mobile").fill("personne@example.ci")
        await page.get_by_role("button", name="Valider").click()
        await page.get_by_text("Aucune requête ne correspond").wait_for()
        await check("suivre-inconnue")

        # « Code requête oublié ? »: the address left empty, then the answer.
        await page.goto(gateway + "/suivre")
        await page.get_by_role("link", name="Code requête oublié ?").click()
        await page.get_by_role("button", name="Recevoir mes codes").click()
        await page.locator("#err-email").wait_for()
        assert await unlinked_errors(page) == []
        await check("code-oublie-erreur")
        await page.get_by_label("Adresse e-mail ou numéro de mobile").fill(email)
        await page.get_by_role("button", name="Recevoir mes codes").click()
        await page.locator("#resultat").wait_for()
        await check("code-oublie-envoye")

        # axe does see faults (an unlabelled input): its silence above means something.
        await page.set_content('<html lang="fr"><title>t</title><main><input></main></html>')
        assert any(v.startswith("label: ") for v in await axe_violations(page))
    finally:
        await context.close()

    weights = await _weights(gateway, {**plain, "statistiques": "/statistiques"})
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "axe-citizen-pages.json").write_text(json.dumps(found, indent=2))
    (ARTIFACTS / "page-weights.json").write_text(json.dumps(weights, indent=2))
    faulty = {name: v for name, v in found.items() if v}
    assert faulty == {}, json.dumps(faulty, indent=2, ensure_ascii=False)
    # The result page of « Suivre », « Modifier » and its error: tests/track/test_tracking_page;
    # the throttled answer: tests/track/test_throttling.
    assert len(found) == 25
    heaviest = max(weights.values(), key=lambda w: w["total"])
    assert heaviest["total"] < 64 * 1024, weights  # a slow mobile connection in mind


async def _tab_through_the_form(page) -> None:
    """From the top of the page, Tab alone reaches every field, in reading order."""
    order = []
    for _ in range(60):
        await page.keyboard.press("Tab")
        focused = await page.evaluate(
            "document.activeElement.id || document.activeElement.textContent"
        )
        order.append(focused.strip())
        if focused.strip() == "Soumettre votre requête":
            break
    fields = [f for f in order if f.startswith("f-")]
    assert fields == [
        "f-place_id",
        "f-nature",
        "f-theme_id",
        "f-message",
        "f-attachments",
        "f-last_name",
        "f-first_names",
        "f-country",
        "f-phone",
        "f-email",
        "f-terms_accepted",
    ], order
    assert order[0] == "Aller au contenu" and order[-1] == "Soumettre votre requête"


async def test_the_unavailable_page_when_intake_and_stats_do_not_answer(settings_for, browser):
    """Intake or stats down: the citizen's page answers 503 « Service momentanément indisponible »
    in French, with when to come back (``Retry-After``), passes axe, and says nothing was lost."""
    from gateway.app import create_app
    from gateway.settings import GatewaySettings

    nobody = f"http://127.0.0.1:{free_port()}"
    settings = settings_for(GatewaySettings, db_pool_min=1, intake_url=nobody, stats_url=nobody)
    async with RunningApp(create_app(settings)) as gateway:
        context, page = await new_page(browser)
        try:
            for path in ("/soumettre/organisme?nature=reclamation", "/organismes", "/statistiques"):
                response = await page.goto(gateway.url + path)
                assert response.status == 503, path
                assert await response.header_value("retry-after") == "5", path
                heading = page.get_by_role("heading", name="Service momentanément indisponible")
                await heading.wait_for()
                assert "Rien n'a été perdu" in await page.content()
                assert await axe_violations(page) == [], path
            await screenshots(page, "13-service-indisponible")
        finally:
            await context.close()


async def test_error_pages_are_pages_of_the_site_and_the_api_answers_json(settings_for, browser):
    """An unknown address, a form's address opened directly, a form too large, an error of ours:
    a French page of the site (axe-clean), the error of ours with a reference that is the
    answer's correlation id; the same mistakes on /api/, and a body too large, get JSON."""
    from gateway.app import create_app
    from gateway.settings import GatewaySettings

    async def broken(request):
        raise RuntimeError("a bug")

    app = create_app(settings_for(GatewaySettings, db_pool_min=1))
    app.router.add_get("/essai-erreur", broken)
    async with RunningApp(app) as gateway:
        context, page = await new_page(browser)
        try:
            for path, status, title in (
                ("/nulle-part", 404, "Page introuvable"),
                ("/suivre/modifier", 405, "Cette page ne s'ouvre pas directement"),
                ("/essai-erreur", 500, "Une erreur est survenue"),
            ):
                response = await page.goto(gateway.url + path)
                assert response.status == status, path
                await page.get_by_role("heading", name=title).wait_for()
                assert await page.get_by_role("link", name="Revenir à l'accueil").count() == 1
                assert await axe_violations(page) == [], path
            reference = response.headers["x-correlation-id"]
            assert f"Référence : {reference}" in await page.inner_text("main")
            # A form over the size limit, posted from the page.
            await page.goto(gateway.url + "/suivre")
            await page.evaluate(
                """() => {
                    const form = document.querySelector('form[action="/suivre"]');
                    const big = document.createElement('textarea');
                    big.name = 'extra';
                    big.value = 'x'.repeat(3 * 1024 * 1024);
                    form.appendChild(big);
                    form.submit();
                }"""
            )
            await page.get_by_role("heading", name="Envoi trop volumineux").wait_for()
        finally:
            await context.close()
        async with signed_session() as http:
            async with http.get(gateway.url + "/api/v1/nulle-part") as resp:
                assert (resp.status, (await resp.json())["error"]) == (404, "not_found")
            async with http.get(gateway.url + "/api/v1/requests") as resp:
                assert (resp.status, (await resp.json())["error"]) == (405, "method_not_allowed")
                assert "POST" in resp.headers["Allow"]
            too_large = b'{"message": "' + b"x" * (3 * 1024 * 1024) + b'"}'
            async with http.post(
                gateway.url + "/api/v1/requests",
                data=too_large,
                headers={"Content-Type": "application/json"},
            ) as resp:
                assert (resp.status, (await resp.json())["error"]) == (
                    413,
                    "request_entity_too_large",
                )


async def test_every_answer_carries_the_security_headers(settings_for):
    """A page, an error page, and the redirects a handler raises (they skipped them once)."""
    from gateway.app import create_app
    from gateway.settings import GatewaySettings
    from gateway.web.security_headers import SECURITY_HEADERS

    async with (
        RunningApp(create_app(settings_for(GatewaySettings, db_pool_min=1))) as gateway,
        signed_session() as http,
    ):
        for path, status in (
            ("/", 200),
            ("/nulle-part", 404),
            ("/admin", 301),
            ("/admin/comptes", 303),
        ):
            async with http.get(gateway.url + path, allow_redirects=False) as resp:
                assert resp.status == status, path
                for name, value in SECURITY_HEADERS.items():
                    assert resp.headers.get(name) == value, (path, name)


async def malformed_answer(port: int, raw: bytes) -> tuple[int, dict[str, str], str]:
    """(status, headers by lower-case name, body) of the gateway on ``port`` for ``raw`` bytes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(raw)
        await writer.drain()
        answer = await reader.read()
    finally:
        writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return int(status.split()[1]), headers, body.decode()


MALFORMED = b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n"


async def test_malformed_http_is_answered_with_the_same_security_headers(settings_for):
    """aiohttp's parser refuses malformed HTTP before any route: its answer skipped the hook that
    gives every page its security headers (no Content-Security-Policy, no X-Frame-Options…)."""
    from gateway.app import create_app
    from gateway.settings import GatewaySettings
    from gateway.web import malformed_http
    from gateway.web.security_headers import SECURITY_HEADERS

    async with RunningApp(create_app(settings_for(GatewaySettings, db_pool_min=1))) as gateway:
        for raw in (
            MALFORMED,
            b"GET / HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 9000 + b"\r\n\r\n",
        ):
            status, headers, body = await malformed_answer(gateway.port, raw)
            assert status == 400
            assert body.strip() == malformed_http.TEXT
            for name, value in SECURITY_HEADERS.items():
                assert headers.get(name.lower()) == value, (raw[:40], name)
            assert "strict-transport-security" not in headers  # MILIE_ENV=test: no HSTS


async def test_metrics_are_served_apart_from_the_public_address(settings_for):
    """Prometheus reads the gateway on a listener of its own (loopback unless said); the public
    address answers /metrics like any unknown page."""
    from deploy.local.platform import GATEWAY_METRICS_PORT
    from gateway.app import create_app
    from gateway.settings import GatewaySettings
    from gateway.web.keys import METRICS_URL

    defaults = GatewaySettings()
    assert (defaults.metrics_host, defaults.metrics_port) == ("127.0.0.1", GATEWAY_METRICS_PORT)
    port = free_port()
    settings = settings_for(GatewaySettings, db_pool_min=1, metrics_port=port)
    async with (
        RunningApp(create_app(settings)) as gateway,
        aiohttp.ClientSession() as http,
    ):
        async with http.get(gateway.url + "/") as resp:
            assert resp.status == 200
        async with http.get(gateway.url + "/metrics") as resp:
            assert resp.status == 404
            assert "milie_http_requests_total" not in await resp.text()
        assert gateway.app[METRICS_URL] == f"http://127.0.0.1:{port}"
        async with http.get(f"http://127.0.0.1:{port}/metrics") as resp:
            assert resp.status == 200
            text = await resp.text()
        assert 'milie_http_requests_total{method="GET",route="/",status="200"}' in text
        assert 'route="unmatched",status="404"' in text  # the refused /metrics, counted
        async with http.get(f"http://127.0.0.1:{port}/") as resp:
            assert resp.status == 404  # nothing else there
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))  # closed with the gateway
