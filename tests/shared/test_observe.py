"""What ``shared.web.observe`` gives every answer of a process: its correlation id
(``X-Correlation-ID``, the one its log lines carry), a file streamed as it is read too (the
ministry API's documents and the citizens' attachments), which is prepared before the middleware
sees it; and, for an error of ours, a JSON body in French as every other API message."""

from __future__ import annotations

from aiohttp import web

from shared.service import ServiceSpec, create_service_app
from shared.settings import ServiceSettings
from shared.web import CORRELATION_HEADER
from tests.support import RunningApp, signed_session


async def _streamed(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "application/pdf"})
    await response.prepare(request)
    await response.write(b"%PDF-1.7 ...")
    await response.write_eof()
    return response


async def _whole(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def _broken(request: web.Request) -> web.Response:
    raise RuntimeError("a bug")


async def test_a_streamed_answer_carries_the_correlation_id_as_a_whole_one_does(settings_for):
    app = create_service_app(
        settings_for(ServiceSettings, db_pool_min=1),
        ServiceSpec("treatment", sql_dir=None, uses_broker=False),
    )
    app.router.add_get("/streamed", _streamed)
    app.router.add_get("/whole", _whole)
    app.router.add_get("/broken", _broken)
    async with RunningApp(app) as service, signed_session() as http:
        for path in ("/streamed", "/whole"):
            async with http.get(service.url + path, headers={CORRELATION_HEADER: "abc123"}) as r:
                assert r.status == 200, path
                assert r.headers.get(CORRELATION_HEADER) == "abc123", path
            async with http.get(service.url + path) as r:
                assert len(r.headers.get(CORRELATION_HEADER, "")) == 32, path

        # The gateway passes a service's error body on to /api/v1's clients as it is.
        async with http.get(service.url + "/broken") as r:
            body = await r.json()
            assert (r.status, body["error"]) == (500, "internal_error")
            assert body["message"] == (
                "Une erreur inattendue est survenue : donnez au support le correlation_id."
            )
            assert body["correlation_id"] == r.headers[CORRELATION_HEADER]
