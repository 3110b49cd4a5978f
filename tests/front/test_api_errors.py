"""The public JSON API's refusals as a program reads them: a JSON body whose ``error`` names the
reason and whose ``message`` is French, as every other message of the API (« Certains champs
sont invalides. »), never aiohttp's « 404: Not Found » nor English sentences; a service that
does not answer is a 503 saying when to try again."""

from __future__ import annotations

from urllib.parse import urlsplit

import aiohttp

from gateway.app import create_app as gateway_app
from gateway.settings import GatewaySettings
from services.intake.app import create_app as intake_app
from services.intake.settings import IntakeSettings
from tests.relay import Relay
from tests.support import RunningApp, free_port


async def _refusal(http: aiohttp.ClientSession, method: str, url: str, **kw) -> tuple:
    async with http.request(method, url, **kw) as resp:
        body = await resp.json()
        return resp.status, body["error"], body["message"], resp.headers


async def test_refusals_of_the_api_are_json_with_a_french_message(front):
    async with aiohttp.ClientSession() as http:
        submit = front + "/api/v1/requests"
        status, error, message, _ = await _refusal(
            http, "POST", submit, data="{}", headers={"Content-Type": "text/plain"}
        )
        assert (status, error) == (415, "unsupported_media_type")
        assert message == "Envoyez du JSON (Content-Type: application/json)."
        status, error, message, _ = await _refusal(
            http,
            "POST",
            front + "/api/v1/tracking",
            data="{x",
            headers={"Content-Type": "application/json"},
        )
        assert (status, error, message) == (
            400,
            "invalid_json",
            "Le corps n'est pas du JSON valide.",
        )
        status, error, message, _ = await _refusal(http, "GET", front + "/api/v1/inconnu")
        assert (status, error, message) == (404, "not_found", "Point d'accès inconnu.")
        status, error, message, headers = await _refusal(http, "DELETE", submit)
        assert (status, error) == (405, "method_not_allowed")
        assert message == "Méthode non permise à cette adresse (voir l'en-tête Allow)."
        assert headers["Allow"] == "POST"


async def test_a_submission_key_used_for_another_request_is_refused_in_french(front):
    submission = {
        "nature": "suggestion",
        "body_id": "ministere-budget",
        "message": "Ouvrir le guichet le samedi matin.",
        "contact": {"email": "kone@example.ci"},
        "submission_key": "si-sigfip-000123",
    }
    async with aiohttp.ClientSession() as http:
        async with http.post(front + "/api/v1/requests", json=submission) as resp:
            assert resp.status == 201, await resp.text()
        other = {**submission, "message": "Une tout autre requête."}
        status, error, message, _ = await _refusal(
            http, "POST", front + "/api/v1/requests", json=other
        )
    assert (status, error) == (409, "submission_key_reused")
    assert message == (
        "Cette clé de soumission a déjà servi pour une autre requête : prenez-en une nouvelle "
        "pour une nouvelle requête."
    )


async def test_every_refusal_names_the_call_by_its_correlation_id(front):
    # Intake words the tracking's 404 and the limits' 429 itself: they came without it.
    async with aiohttp.ClientSession() as http:
        lookup = {"code": "5030529490", "email": "personne@example.ci"}
        async with http.post(front + "/api/v1/tracking", json=lookup) as resp:
            body = await resp.json()
            assert (resp.status, body["error"]) == (404, "not_found")
            assert body["correlation_id"] == resp.headers["X-Correlation-ID"]


async def test_a_limit_passed_says_when_to_come_back_and_names_the_call(settings_for):
    intake_settings = settings_for(
        IntakeSettings, db_pool_min=1, submission_limits={"submissions_per_email": 1}
    )
    async with RunningApp(intake_app(intake_settings)) as intake:
        settings = settings_for(GatewaySettings, db_pool_min=1, intake_url=intake.url)
        async with RunningApp(gateway_app(settings)) as gateway, aiohttp.ClientSession() as http:
            submission = {
                "nature": "suggestion",
                "body_id": "ministere-budget",
                "message": "Ouvrir le guichet le samedi matin.",
                "contact": {"email": "limite@example.ci"},
            }
            async with http.post(gateway.url + "/api/v1/requests", json=submission) as resp:
                assert resp.status == 201, await resp.text()
            async with http.post(gateway.url + "/api/v1/requests", json=submission) as resp:
                body = await resp.json()
                assert (resp.status, body["error"]) == (429, "throttled")
                assert resp.headers["Retry-After"] == str(body["retry_after"])
                assert body["correlation_id"] == resp.headers["X-Correlation-ID"]


async def test_a_service_that_does_not_answer_is_a_503_with_retry_after(settings_for):
    nobody = f"http://127.0.0.1:{free_port()}"
    settings = settings_for(GatewaySettings, db_pool_min=1, intake_url=nobody, stats_url=nobody)
    async with RunningApp(gateway_app(settings)) as gateway, aiohttp.ClientSession() as http:
        for method, path, kw in (
            ("GET", "/api/v1/bodies", {}),
            ("GET", "/api/v1/stats/bodies", {}),
            ("POST", "/api/v1/requests", {"json": {"nature": "suggestion"}}),
            ("POST", "/api/v1/tracking", {"json": {"code": "5030529490", "email": "a@b.ci"}}),
        ):
            status, error, message, headers = await _refusal(http, method, gateway.url + path, **kw)
            assert (status, error) == (503, "service_unavailable"), path
            assert message == "Le service ne répond pas : réessayez dans un moment."
            assert headers["Retry-After"] == "5"


async def test_a_service_whose_database_is_down_says_when_to_come_back_through_the_gateway(
    settings_for, database_url
):
    """Intake up but its database gone: intake's own 503 reaches the program with its
    ``Retry-After``, as the gateway's 503 for a service that does not answer does (the gateway
    passed the body on and dropped the header; Open311 made it a 500). And intake then stops:
    its catalogue listener, retrying its connection, swallowed the cancellation and its shutdown
    waited forever."""
    server = urlsplit(database_url)
    async with Relay(server.hostname or "127.0.0.1", server.port or 5432) as relay:
        through = server._replace(netloc=f"{server.username}@127.0.0.1:{relay.port}").geturl()
        intake_settings = settings_for(IntakeSettings, db_pool_min=1, database_url=through)
        async with RunningApp(intake_app(intake_settings)) as intake:
            settings = settings_for(GatewaySettings, db_pool_min=1, intake_url=intake.url)
            async with (
                RunningApp(gateway_app(settings)) as gateway,
                aiohttp.ClientSession() as http,
            ):
                await relay.cut()
                lookup = {"code": "5030529490", "email": "personne@example.ci"}
                status, error, _, headers = await _refusal(
                    http, "POST", gateway.url + "/api/v1/tracking", json=lookup
                )
                assert (status, error) == (503, "service_unavailable")
                assert headers["Retry-After"] == "5"
                # Open311 in its own words: a 503 too, not an « Erreur interne » 500.
                async with http.get(gateway.url + "/open311/v2/requests/5030529490.json") as r:
                    assert r.status == 503
                    assert (await r.json())[0]["code"] == 503
                    assert r.headers["Retry-After"] == "5"
