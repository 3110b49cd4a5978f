"""Every service answers only calls the gateway signed (shared/signing.py), against the real
apps: a call without a signature, replayed, signed for another path, service or body, or expired
is refused with 401; the channel and the client's address are the signed call's, whatever the
body or the query say."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import aiohttp
import asyncpg
import pytest

from services.intake.app import create_app as intake_app
from services.intake.settings import IntakeSettings
from shared import signing
from shared.codes import new_code
from shared.identity import Identity, Role
from shared.service import POOL, SETTINGS
from tests.front.conftest import OWNER, PNG, submission_fields
from tests.stack import start_stack
from tests.support import RunningApp, as_staff, signed_session

# One route of each service that a signed call may ask (treatment has no route yet: a signed
# call gets 404 there, an unsigned one 401 before any route is looked up).
ROUTES = {
    "intake": "/catalogue/bodies",
    "triage": "/queue",
    "treatment": "/nothing-here",
    "notify": f"/deliveries?request_id={uuid.uuid4()}",
    "stats": "/stats/bodies",
}


@pytest.fixture
async def platform(settings_for, smtp_server):
    # A small limit per client address, to see whose address intake counts.
    exits = await start_stack(settings_for, smtp_server.port, tracking_per_client=3)
    async with exits:
        yield exits.stack  # type: ignore[attr-defined]


def _secret(stack, name: str) -> bytes:
    return stack.apps[name].app[SETTINGS].identity_secret.get_secret_value().encode()


def _signed(stack, name: str, method: str, target: str, body: bytes = b"", **kw) -> dict:
    return signing.sign_call(_secret(stack, name), name, method, target, body, **kw)


async def _send(http, method: str, url: str, headers: dict, data: bytes | None = None):
    async with http.request(method, url, data=data, headers=headers) as resp:
        return resp.status, await resp.json(content_type=None)


async def test_every_service_refuses_unsigned_calls_and_answers_signed_ones(platform):
    admin = Identity(staff_id="adm", role=Role.ADMINISTRATOR)
    async with aiohttp.ClientSession() as raw, signed_session() as http:
        for name, path in ROUTES.items():
            url = platform.url(name) + path
            status, body = await _send(raw, "GET", url, {})
            assert (status, body["error"]) == (401, "unsigned_call"), name
            assert body["message"]
            # The operations routes stay open to probes and Prometheus.
            for open_path in ("/health/live", "/health/ready", "/metrics"):
                async with raw.get(platform.url(name) + open_path) as resp:
                    assert resp.status == 200, (name, open_path)
            async with http.get(url, headers=as_staff(admin)) as resp:
                assert resp.status == (404 if name == "treatment" else 200), name
        # The citizen's routes too (no staff identity, but signed): the reply to an answer at
        # intake, an answer's document at treatment (a signed call for an unknown one: 404).
        citizen = [
            ("POST", "intake", "/tracking/opinion"),
            ("POST", "intake", "/tracking/reopen"),
            ("GET", "treatment", f"/citizen/documents/{uuid.uuid4()}?code={new_code()}"),
        ]
        for method, name, path in citizen:
            status, body = await _send(raw, method, platform.url(name) + path, {})
            assert (status, body["error"]) == (401, "unsigned_call"), path
        async with http.get(platform.url("treatment") + citizen[2][2]) as resp:
            assert (resp.status, (await resp.json())["error"]) == (404, "not_found")
        # A forged signature, or an envelope without its MAC.
        url = platform.url("intake") + "/catalogue/bodies"
        forged = signing.sign_call(b"guessed", "intake", "GET", "/catalogue/bodies", b"")
        status, body = await _send(raw, "GET", url, forged)
        assert (status, body["error"]) == (401, "bad_signature")
        envelope = forged[signing.HEADER].partition(".")[0]
        status, body = await _send(raw, "GET", url, {signing.HEADER: envelope})
        assert (status, body["error"]) == (401, "bad_signature")


async def test_a_signed_call_is_good_once_for_its_service_path_body_and_minute(
    platform, settings_for
):
    intake = platform.url("intake")
    async with aiohttp.ClientSession() as raw:
        # Replayed, to the same copy of intake and to another copy on the same database.
        headers = _signed(platform, "intake", "GET", "/catalogue/bodies")
        assert (await _send(raw, "GET", intake + "/catalogue/bodies", headers))[0] == 200
        status, body = await _send(raw, "GET", intake + "/catalogue/bodies", headers)
        assert (status, body["error"]) == (401, "replayed")
        headers = _signed(platform, "intake", "GET", "/catalogue/places")
        other_settings = settings_for(IntakeSettings, db_pool_min=1)
        async with RunningApp(intake_app(other_settings)) as other:
            assert (await _send(raw, "GET", intake + "/catalogue/places", headers))[0] == 200
            status, body = await _send(raw, "GET", other.url + "/catalogue/places", headers)
            assert (status, body["error"]) == (401, "replayed")

        # Signed for another path, another query, another method, another service.
        cases = [
            ("GET", "/catalogue/themes", "intake", intake + "/catalogue/bodies"),
            ("GET", "/catalogue/bodies?q=a", "intake", intake + "/catalogue/bodies?q=b"),
            ("POST", "/catalogue/bodies", "intake", intake + "/catalogue/bodies"),
            ("GET", "/stats/bodies", "intake", platform.url("stats") + "/stats/bodies"),
        ]
        for method, target, service, url in cases:
            headers = _signed(platform, service, method, target)
            status, body = await _send(raw, "GET", url, headers)
            assert (status, body["error"]) == (401, "bad_signature"), (target, url)

        # Signed for another body.
        lookup = json.dumps({"code": "0000000000", "email": "a@example.ci"}).encode()
        other = json.dumps({"code": "1111111111", "email": "a@example.ci"}).encode()
        headers = {
            **_signed(platform, "intake", "POST", "/tracking", lookup),
            "Content-Type": "application/json",
        }
        status, body = await _send(raw, "POST", intake + "/tracking", headers, other)
        assert (status, body["error"]) == (401, "bad_signature")

        # Expired: signed more than a minute ago (a header copied from a log).
        headers = _signed(platform, "intake", "GET", "/catalogue/bodies", now=time.time() - 2 * 60)
        status, body = await _send(raw, "GET", intake + "/catalogue/bodies", headers)
        assert (status, body["error"]) == (401, "expired")
        # ... or made to last longer than a call may.
        headers = _signed(platform, "intake", "GET", "/catalogue/bodies", now=time.time() + 10 * 60)
        status, body = await _send(raw, "GET", intake + "/catalogue/bodies", headers)
        assert (status, body["error"]) == (401, "bad_signature")


async def test_streams_only_where_a_route_reads_one_and_the_owner_as_signed(platform):
    intake = platform.url("intake")
    owner = {"X-Draft-Owner": OWNER}
    async with aiohttp.ClientSession() as raw, signed_session() as http:
        async with http.post(intake + "/drafts", json={}, headers=owner) as resp:
            draft_id = (await resp.json())["draft_id"]
        files = f"/drafts/{draft_id}/files?filename=a.png"
        # A JSON route does not take an unhashed body.
        headers = _signed(platform, "intake", "POST", "/drafts", None, headers=owner)
        status, body = await _send(raw, "POST", intake + "/drafts", headers, b"{}")
        assert (status, body["error"]) == (401, "bad_signature")
        # The file route takes the stream, with the owner it was signed for only.
        headers = _signed(platform, "intake", "POST", files, None, headers=owner)
        headers["X-Draft-Owner"] = "x" * 32
        status, body = await _send(raw, "POST", intake + files, headers, PNG)
        assert (status, body["error"]) == (401, "bad_signature")
        headers = _signed(platform, "intake", "POST", files, None, headers=owner)
        status, body = await _send(raw, "POST", intake + files, headers, PNG)
        assert status == 201, body
        # An owner header that was not signed is no owner.
        headers = {**_signed(platform, "intake", "GET", f"/drafts/{draft_id}"), **owner}
        status, body = await _send(raw, "GET", intake + f"/drafts/{draft_id}", headers)
        assert (status, body["error"]) == (400, "owner_required")


async def _channel_of(platform, code: str) -> str:
    pool: asyncpg.Pool = platform.apps["intake"].app[POOL]
    return await pool.fetchval("SELECT channel FROM requests WHERE code = $1", code)


async def test_the_channel_and_the_address_are_the_signed_calls(platform):
    intake = platform.url("intake")
    async with signed_session() as http:
        # A body that names a channel or an address is refused; the signed call's is recorded.
        for extra in ({"channel": "phone"}, {"channel": "api"}, {"client_address": "10.0.0.1"}):
            fields = {**submission_fields(), **extra}
            async with http.post(intake + "/requests", json=fields) as resp:
                body = await resp.json()
                assert resp.status == 422, body
                assert [e["field"] for e in body["errors"]] == list(extra)
        async with http.post(
            intake + "/requests", json=submission_fields(), headers=as_staff(channel="api")
        ) as resp:
            code = (await resp.json())["code"]
        assert await _channel_of(platform, code) == "api"
        # The phone channel, said by the signed call, still needs a signed operator.
        async with http.post(
            intake + "/requests", json=submission_fields(), headers=as_staff(channel="phone")
        ) as resp:
            assert resp.status == 401
        # Open311: the channel is the key's name, from the signed call only.
        form = {"service_code": "ministere-budget.reclamation", "description": "x" * 30}
        async with http.post(
            intake + "/open311/requests", json={**form, "channel": "autre"}
        ) as resp:
            assert resp.status == 400
        async with http.get(intake + "/open311/requests?channel=autre") as resp:
            assert resp.status == 400
        async with http.get(intake + "/open311/requests?client_address=10.0.0.1") as resp:
            assert resp.status == 400

        # Tracking: a body naming an address is refused, and the look-ups are counted against
        # the signed call's address (3 per window here), not one the body could vary.
        lookup = {"code": new_code(), "email": "a@example.ci"}

        async def track(address: str, **extra) -> int:
            async with http.post(
                intake + "/tracking",
                json={**lookup, **extra, "email": f"{uuid.uuid4().hex[:8]}@example.ci"},
                headers=as_staff(client_address=address),
            ) as resp:
                return resp.status

        assert await track("203.0.113.9", client_address="198.51.100.1") == 422
        statuses = [await track("203.0.113.9") for _ in range(4)]
        assert statuses[-1] == 429 and 429 not in statuses[:3], statuses
        assert await track("203.0.113.10") == 404


async def test_the_gateway_signs_its_calls_with_the_channel_it_knows(platform):
    """Through the gateway, a JSON API submission is recorded as ``api`` and a web page's
    look-up is counted against the client's address."""
    async with aiohttp.ClientSession() as http:
        async with http.post(
            platform.gateway + "/api/v1/requests", json=submission_fields()
        ) as resp:
            body = await resp.json()
            assert resp.status == 201, body
        assert await _channel_of(platform, body["code"]) == "api"
        async with http.post(
            platform.gateway + "/api/v1/requests", json={**submission_fields(), "channel": "web"}
        ) as resp:
            assert resp.status == 422


async def test_expired_call_ids_are_dropped(platform):
    pool: asyncpg.Pool = platform.apps["stats"].app[POOL]
    async with signed_session() as http:
        async with http.get(platform.url("stats") + "/stats/bodies") as resp:
            assert resp.status == 200
    assert await pool.fetchval("SELECT count(*) FROM seen_calls") >= 1
    await pool.execute("UPDATE seen_calls SET expires_at = now() - interval '1 hour'")
    assert await signing.forget_expired(pool, 5) >= 1
    assert await pool.fetchval("SELECT count(*) FROM seen_calls") == 0


async def test_calls_arriving_together_are_each_good_once(platform, settings_for):
    """The one-time ids of calls that arrive together are claimed in one insert
    (``signing.NonceBatcher``): sent twenty times at once, to two copies of intake, a captured
    call is answered once; twenty distinct calls at once are each answered."""
    intake = platform.url("intake")
    other_settings = settings_for(IntakeSettings, db_pool_min=1)
    async with aiohttp.ClientSession() as raw, RunningApp(intake_app(other_settings)) as other:
        headers = _signed(platform, "intake", "GET", "/catalogue/places")
        urls = [(intake if i % 2 else other.url) + "/catalogue/places" for i in range(20)]
        answers = await asyncio.gather(*(_send(raw, "GET", url, headers) for url in urls))
        statuses = sorted(status for status, _ in answers)
        assert statuses == [200] + [401] * 19, statuses
        assert {body["error"] for status, body in answers if status == 401} == {"replayed"}

        distinct = [_signed(platform, "intake", "GET", "/catalogue/places") for _ in range(20)]
        answers = await asyncio.gather(
            *(_send(raw, "GET", intake + "/catalogue/places", h) for h in distinct)
        )
        assert [status for status, _ in answers] == [200] * 20
        # ... and each of them, sent again, is a replay.
        again = await asyncio.gather(
            *(_send(raw, "GET", intake + "/catalogue/places", h) for h in distinct)
        )
        assert {(status, body["error"]) for status, body in again} == {(401, "replayed")}


def test_a_nul_character_in_any_text_is_a_422_not_a_database_error():
    import pytest

    from shared.web import FieldErrors, refuse_nul

    refuse_nul({"message": "bonjour", "n": 3, "list": ["a"]})
    with pytest.raises(FieldErrors) as refused:
        refuse_nul({"message": "bon\x00jour", "contact": {"names": ["a", "b\x00"]}})
    assert [e["field"] for e in refused.value.errors] == ["message", "contact.names.1"]
