"""The staff identity the gateway signs (gateway/clients.py) and a service checks
(shared.identity.requires): a small service app, called over HTTP like the real ones."""

from __future__ import annotations

import time

from aiohttp import web
from pydantic import SecretStr

from gateway.clients import Services
from shared import identity as signed
from shared.identity import HEADER, Identity, Role, identity_of, requires
from shared.service import SETTINGS
from shared.settings import ServiceSettings
from tests.support import RunningApp, signed_session

SECRET = "the-secret-every-process-shares"
ANALYST = Identity(staff_id="7b0c", role=Role.ANALYST, login="awa.kone")


def _service() -> web.Application:
    app = web.Application()
    app[SETTINGS] = ServiceSettings(identity_secret=SecretStr(SECRET))

    @requires(Role.ANALYST, Role.ADMINISTRATOR)
    async def queue(request: web.Request) -> web.Response:
        who = identity_of(request)
        return web.json_response({"staff_id": who.staff_id, "login": who.login})

    app.router.add_get("/queue", queue)
    return app


async def test_a_service_refuses_a_call_without_a_valid_identity():
    async with RunningApp(_service()) as service, signed_session() as http:
        url = f"{service.url}/queue"
        signing = Services(http, {"triage": service.url}, identity_secret=SECRET.encode())
        # The gateway's way: signed for this one call.
        assert await signing.call("GET", "triage", "/queue", identity=ANALYST) == (
            200,
            {"staff_id": "7b0c", "login": "awa.kone"},
        )
        # No identity at all (a caller that went round the gateway).
        status, body = await signing.call("GET", "triage", "/queue")
        assert (status, body["error"]) == (401, "unauthenticated")
        # Signed with another secret.
        forger = Services(http, {"triage": service.url}, identity_secret=b"guessed")
        assert (await forger.call("GET", "triage", "/queue", identity=ANALYST))[0] == 401
        # Signed right but expired (a header copied from a log, replayed later).
        old = signed.sign(ANALYST, SECRET.encode(), now=time.time() - 600)
        async with http.get(url, headers={HEADER: old}) as resp:
            assert resp.status == 401
        # A role changed inside a valid token: the signature no longer matches.
        good = signed.sign(ANALYST, SECRET.encode())
        body_part, _, mac = good.partition(".")
        tampered = signed._b64(signed._unb64(body_part).replace(b"analyst", b"operator"))
        async with http.get(url, headers={HEADER: f"{tampered}.{mac}"}) as resp:
            assert resp.status == 401
        # A valid identity of a role the endpoint does not serve.
        operator = Identity(staff_id="9", role=Role.OPERATOR)
        assert (await signing.call("GET", "triage", "/queue", identity=operator))[0] == 403


async def test_the_signed_identity_carries_the_body_of_a_focal_point():
    token = signed.sign(
        Identity(staff_id="1", role=Role.FOCAL_POINT, body_id="ministere-budget", login="pf"),
        b"s",
    )
    who = signed.verify(token, b"s")
    assert who is not None and who.body_id == "ministere-budget"
    assert who.can_see_body("ministere-budget") and not who.can_see_body("ministere-justice")
