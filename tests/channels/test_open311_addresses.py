"""Every address under /open311/v2/ is answered with the spec's errors, whatever it holds: the
gateway's Open311 routes alone (no service is called for an unknown address)."""

from __future__ import annotations

import json
from urllib.parse import quote

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from gateway.public_api import open311
from tests.channels.conftest import OPEN311_KEY


async def test_an_address_with_a_line_break_gets_the_specs_errors():
    # Found by schemathesis: « {tail:.*} » stopped at a line break (%0A), so such an address
    # fell through every route to aiohttp's plain-text 404.
    app = web.Application()
    app.add_routes(open311.routes)
    async with TestClient(TestServer(app)) as client:
        for path in ("/open311/v2/services/a.x%0Ay", "/open311/v2/x%0D%0Ay", "/open311/v2/%0A"):
            resp = await client.get(path)
            assert resp.status == 404, path
            assert resp.content_type == "application/json", path
            assert json.loads(await resp.text())[0]["code"] == 404


# Found by schemathesis: one "code" of 1,006 characters, control characters and astral ones. The
# signed call's envelope that carries it to intake was over aiohttp's 8 KiB header line: the
# services read 32 KiB (shared.service.parser_limits), the tests' apps did not (the gateway
# answered 500).
LONG_ODD_CODE = "\x89\x81Hê" + "I\U000fd0b6k\x85¶\U000cf805" + "Á" * 1000


async def test_a_long_odd_code_is_answered_as_any_unknown_one(channels_stack):
    base = f"{channels_stack.gateway}/open311/v2"
    async with aiohttp.ClientSession() as http:
        for path in ("requests.json", f"requests/{quote(LONG_ODD_CODE, safe='')}.json"):
            params = {"service_request_id": LONG_ODD_CODE} if path == "requests.json" else {}
            async with http.get(f"{base}/{path}", params=params) as resp:
                text = await resp.text()
                assert resp.content_type == "application/json", text
                if path == "requests.json":  # an unknown code is left out of the list
                    assert (resp.status, json.loads(text)) == (200, []), text
                else:
                    assert resp.status == 404, text
                    assert json.loads(text)[0]["code"] == 404


async def test_a_multipart_submission_with_odd_field_names_gets_no_500(channels_stack):
    # Found by schemathesis: a multipart form whose fields are named with control characters
    # and astral ones, and whose values hold them too.
    boundary = "77bad6d1125c692ca3ab665fb8a2830d"
    parts = [
        ("\U000d9439aÇ\x89v\x03\U000ae8f2\U00035fc8\x1f", "{}"),
        ("\U00044b41\x8d", '{"\\u0085zp": [true, false]}'),
        ("service_code", "\U000cac02\x81HêI\U000fd0b6k\x85¶\U000cf805"),
        ("phone", "\x85T§\x94Í~"),
        ("address_id", ""),
        ("last_name", "\U00024063("),
        ("description", ">±\x11{ç\r\U000a663a\U000208ad\x1b\x8c"),
        ("email", "¥ë"),
        ("media_url", "nil"),
        ("lat", "securitySchemes"),
        ("api_key", OPEN311_KEY),
    ]
    body = (
        "".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
            for name, value in parts
        )
        + f"--{boundary}--\r\n"
    )
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{channels_stack.gateway}/open311/v2/requests.json",
            data=body.encode(),
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        ) as resp,
    ):
        text = await resp.text()
        assert resp.status == 400, text
        assert resp.content_type == "application/json", text
        assert json.loads(text)[0]["code"] == 400
