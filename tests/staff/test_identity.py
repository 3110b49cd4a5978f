"""The staff identity the gateway signs into each call (gateway/clients/transport.py,
shared/signing.py) and a service checks (shared.identity.requires): a small service app, called
over HTTP like the real ones."""

from __future__ import annotations

import time

from aiohttp import web
from pydantic import SecretStr

from gateway.clients.transport import Services
from shared import signing
from shared.identity import Identity, Role, identity_of, requires
from shared.service import ServiceSpec, create_service_app
from shared.settings import ServiceSettings
from tests.support import RunningApp, signed_session

SECRET = "the-secret-every-process-shares"
ANALYST = Identity(staff_id="7b0c", role=Role.ANALYST, login="awa.kone")


def _service(settings_for) -> web.Application:
    settings = settings_for(ServiceSettings, identity_secret=SecretStr(SECRET), db_pool_min=1)
    app = create_service_app(settings, ServiceSpec("triage", sql_dir=None, uses_broker=False))

    @requires(Role.ANALYST, Role.ADMINISTRATOR, Role.FOCAL_POINT)
    async def queue(request: web.Request) -> web.Response:
        who = identity_of(request)
        return web.json_response(
            {"staff_id": who.staff_id, "login": who.login, "body": who.body_id}
        )

    app.router.add_get("/queue", queue)
    return app


async def test_a_service_refuses_a_call_without_a_valid_identity(settings_for):
    async with RunningApp(_service(settings_for)) as service, signed_session() as http:
        url = f"{service.url}/queue"
        signing_ = Services(http, {"triage": service.url}, identity_secret=SECRET.encode())
        # The gateway's way: signed for this one call.
        assert await signing_.call("GET", "triage", "/queue", identity=ANALYST) == (
            200,
            {"staff_id": "7b0c", "login": "awa.kone", "body": None},
        )
        # A signed call that names no staff member (a citizen's page).
        status, body = await signing_.call("GET", "triage", "/queue")
        assert (status, body["error"]) == (401, "unauthenticated")
        # Signed with another secret.
        forger = Services(http, {"triage": service.url}, identity_secret=b"guessed")
        status, body = await forger.call("GET", "triage", "/queue", identity=ANALYST)
        assert (status, body["error"]) == (401, "bad_signature")
        # Signed right but expired (a header copied from a log, replayed later).
        old = signing.sign_call(
            SECRET.encode(), "triage", "GET", "/queue", b"", identity=ANALYST, now=time.time() - 600
        )
        async with http.get(url, headers=old) as resp:
            assert (resp.status, (await resp.json())["error"]) == (401, "expired")
        # A role changed inside a valid envelope: the signature no longer matches.
        good = signing.sign_call(SECRET.encode(), "triage", "GET", "/queue", b"", identity=ANALYST)
        text, _, mac = good[signing.HEADER].partition(".")
        tampered = signing._b64(signing._unb64(text).replace(b"analyst", b"operator"))
        async with http.get(url, headers={signing.HEADER: f"{tampered}.{mac}"}) as resp:
            assert (resp.status, (await resp.json())["error"]) == (401, "bad_signature")
        # A valid identity of a role the endpoint does not serve.
        operator = Identity(staff_id="9", role=Role.OPERATOR)
        assert (await signing_.call("GET", "triage", "/queue", identity=operator))[0] == 403
        # A focal point's body travels with their identity.
        focal = Identity(staff_id="1", role=Role.FOCAL_POINT, body_id="ministere-budget")
        status, body = await signing_.call("GET", "triage", "/queue", identity=focal)
        assert (status, body["body"]) == (200, "ministere-budget")
        assert focal.can_see_body("ministere-budget") and not focal.can_see_body(
            "ministere-justice"
        )
