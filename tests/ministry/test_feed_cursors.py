"""The changes feed's cursors say nothing of Miliê's inside. Treatment's cursor is a PostgreSQL
transaction id and a history line id counted over every body: handed out as they were, a body's
system read in its own cursors how many lines every other body's requests had got between two
polls. The gateway seals them (``gateway/public_api/ministry/cursors.py``); a made-up or altered
cursor is refused, never read as another place in the feed."""

from __future__ import annotations

import re

import aiohttp

from gateway.public_api.ministry import cursors
from tests.ministry.helpers import OTHER_BODY, Api, new_key, validated_reclamation
from tests.support import eventually

SECRET = b"a secret of thirty-two bytes at least, for tests"


def test_a_sealed_cursor_opens_to_what_was_sealed_and_to_nothing_else():
    for raw in ("0-0", "23660-5", f"{2**64 - 1}-{2**64 - 1}"):
        sealed = cursors.seal(raw, SECRET)
        assert re.fullmatch(cursors.PATTERN, sealed), sealed
        assert cursors.unseal(sealed, SECRET) == raw
        assert cursors.unseal(sealed, b"another secret, another gateway....") is None
        altered = sealed[:5] + ("A" if sealed[5] != "A" else "B") + sealed[6:]
        assert cursors.unseal(altered, SECRET) is None
    for junk in ("", "0-0", "23660-5", "é" * 32, "A" * 32, "A" * 31, "!" * 32):
        assert cursors.unseal(junk, SECRET) is None, junk


async def test_the_feed_hands_out_sealed_cursors_and_skips_nothing(stack):
    code = await validated_reclamation(stack)
    ours = await new_key(stack)
    async with aiohttp.ClientSession() as http:
        api = Api(http, stack.gateway, ours)
        stranger = Api(http, stack.gateway, await new_key(stack, OTHER_BODY))

        async def lines(after: str, count: int) -> dict:
            async def enough():
                path = f"/changes?after={after}" if after else "/changes"
                status, feed, _ = await api.get(path)
                assert status == 200, feed
                return feed if len(feed["items"]) >= count else None

            return await eventually(enough)

        feed = await lines("", 1)
        for cursor in [c["cursor"] for c in feed["items"]] + [feed["next"]]:
            assert re.fullmatch(cursors.PATTERN, cursor), cursor
        status, page, _ = await stranger.get("/changes")
        assert (status, page["items"]) == (200, [])
        assert re.fullmatch(cursors.PATTERN, page["next"])

        status, done, _ = await api.post(f"/requests/{code}/take", {})
        assert status == 200, done
        later = await lines(feed["next"], 1)
        assert [(c["code"], c["kind"]) for c in later["items"]] == [(code, "assigned")]
        status, again, _ = await api.get(f"/changes?after={later['next']}")
        assert (status, again["items"], again["next"]) == (200, [], later["next"])

        # Treatment's own form, or a cursor altered by one character: refused, with the field.
        forged = later["next"][:-1] + ("A" if later["next"][-1] != "A" else "B")
        for after in ("1-1", forged):
            status, problem, _ = await api.get(f"/changes?after={after}")
            assert (status, problem["code"]) == (422, "validation_failed"), after
            assert problem["errors"][0]["field"] == "after"
            assert problem["errors"][0]["code"] == "invalid_cursor"
