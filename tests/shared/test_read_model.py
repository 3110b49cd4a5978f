"""shared.web.read_model and FieldErrors: what every service's endpoint answers to bad input."""

from __future__ import annotations

from typing import Annotated

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import BaseModel, ConfigDict, StringConstraints

from shared.web import FieldErrors, field_error, observe, read_model


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message: Annotated[str, StringConstraints(min_length=1, max_length=10)]


async def note(request: web.Request) -> web.Response:
    given = await read_model(request, NoteIn)
    if given.message == "non":
        raise FieldErrors([field_error("message", "Pas ce message-là.")], view={"x": 1})
    return web.json_response({"message": given.message})


async def _client() -> TestClient:
    app = web.Application(middlewares=[observe])
    app.router.add_post("/notes", note)
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


async def test_a_valid_body_is_the_model():
    client = await _client()
    try:
        response = await client.post("/notes", json={"message": "bonjour"})
        assert (response.status, await response.json()) == (200, {"message": "bonjour"})
    finally:
        await client.close()


async def test_bad_input_is_415_400_or_one_422_in_french():
    client = await _client()
    try:
        response = await client.post("/notes", data=b"message=x")
        assert response.status == 415
        assert (await response.json())["error"] == "unsupported_media_type"

        response = await client.post(
            "/notes", data=b"{oops", headers={"Content-Type": "application/json"}
        )
        assert response.status == 400
        assert (await response.json())["error"] == "invalid_json"

        response = await client.post("/notes", json={"message": "x" * 11, "other": 1})
        body = await response.json()
        assert response.status == 422
        assert (body["error"], body["message"]) == (
            "validation_failed",
            "Certains champs sont invalides.",
        )
        assert body["errors"] == [
            {"field": "message", "code": "string_too_long", "message": "Ce texte est trop long."},
            {"field": "other", "code": "extra_forbidden", "message": "Champ inconnu."},
        ]

        # What only the signed call says is refused before the model is asked.
        response = await client.post("/notes", json={"message": "a", "channel": "web"})
        body = await response.json()
        assert response.status == 422
        assert [(e["field"], e["code"]) for e in body["errors"]] == [("channel", "extra_forbidden")]

        # A handler's own refusal: the same answer, with what it adds.
        response = await client.post("/notes", json={"message": "non"})
        body = await response.json()
        assert response.status == 422
        assert body["errors"] == [
            {"field": "message", "code": "value_error", "message": "Pas ce message-là."}
        ]
        assert body["view"] == {"x": 1}
    finally:
        await client.close()
