"""The proof of work past the suspicion threshold (issue 14): many submissions from one address
in a short time make the form ask for a small proof of work — a signed, single-use, expiring
challenge the page's plain JavaScript solves, or, without JavaScript, a stated wait — instead of
refusing every citizen behind that address. A wrong, reused, foreign or early proof is refused."""

from __future__ import annotations

import hashlib
import html
import re

import pytest

from services.intake import proof
from services.intake.limits import Config
from tests.abuse.conftest import (
    BODY,
    draft_of,
    new_email,
    set_config,
    stored,
    web_confirm,
    web_fill,
    web_session,
)
from tests.browser import axe_violations
from tests.front.pages import fill_form, submit_form
from tests.support import eventually

KEY = proof.key_of("a-test-secret")
CHALLENGE = re.compile(r'name="proof_challenge" value="([^"]+)"')
BITS = re.compile(r'name="proof_nonce" value="" data-bits="(\d+)"')


# -- the rules, without I/O ----------------------------------------------------------------------


def test_a_challenge_is_signed_bound_to_its_client_and_expires():
    config = Config(proof_difficulty_bits=8, proof_wait_seconds=30, proof_lifetime_seconds=900)
    challenge = proof.issue(KEY, "198.51.100.7", config, now=1_000_000)
    assert proof.read(KEY, challenge.token, "198.51.100.7", now=1_000_001) == challenge
    # Another client, another key, a changed field, or past its expiry: not a challenge of ours.
    assert proof.read(KEY, challenge.token, "198.51.100.8", now=1_000_001) is None
    assert proof.read(proof.key_of("other"), challenge.token, "198.51.100.7", now=1) is None
    forged = challenge.token.replace(".8.", ".0.", 1)
    assert proof.read(KEY, forged, "198.51.100.7", now=1_000_001) is None
    assert proof.read(KEY, challenge.token, "198.51.100.7", now=1_000_900) is None
    # Solved by a nonce with enough zero bits; waited by time.
    nonce = proof.solve(challenge.token, 8)
    assert proof.solves(challenge, nonce)
    assert not proof.solves(challenge, "")
    assert proof.waited_left(challenge, now=1_000_010) == 20
    assert proof.waited_left(challenge, now=1_000_030) == 0


@pytest.mark.parametrize(
    ("digest", "bits"), [(b"\x00\x00\xff", 16), (b"\x00\x10", 11), (b"\x80", 0)]
)
def test_zero_bits(digest, bits):
    assert proof.zero_bits(digest) == bits


# -- through the citizen's pages -----------------------------------------------------------------


async def _submit_once(http, gateway: str) -> None:
    status, location = await web_fill(http, gateway)
    assert status == 303, location
    status, location, _ = await web_confirm(http, gateway, draft_of(location))
    assert status == 303 and "/soumettre/enregistree" in location, location


async def test_past_the_threshold_the_form_asks_a_proof_and_checks_it(strict_stack, database_url):
    gateway = strict_stack.gateway
    await set_config(
        database_url, suspicion_per_client=1, proof_difficulty_bits=8, proof_wait_seconds=600
    )
    async with web_session() as http:
        await _submit_once(http, gateway)  # under the threshold: no question asked

        # The next one from this address: the confirmation page asks a proof, nothing stored.
        before = await stored(database_url)
        status, location = await web_fill(http, gateway, email=new_email())
        draft_id = draft_of(location)
        status, page, _ = await web_confirm(http, gateway, draft_id)
        assert status == 200
        assert "Vérification avant l'envoi" in html.unescape(page)
        assert "patientez 600 secondes" in html.unescape(page)  # the <noscript> way
        assert 'src="/static/proof.' in page
        token = CHALLENGE.search(page).group(1)
        assert int(BITS.search(page).group(1)) == 8
        assert await stored(database_url) == before

        # A wrong nonce: refused, a new challenge.
        wrong = next(str(n) for n in range(10_000) if not proof.solves(_read(token), str(n)))
        status, page, _ = await web_confirm(
            http, gateway, draft_id, proof_challenge=token, proof_nonce=wrong
        )
        assert status == 200 and "La vérification n'a pas abouti" in html.unescape(page)
        assert CHALLENGE.search(page).group(1) != token
        # No nonce and not waited: the same challenge, the time left said.
        status, page, _ = await web_confirm(http, gateway, draft_id, proof_challenge=token)
        assert "Il faut encore patienter" in html.unescape(page)
        assert CHALLENGE.search(page).group(1) == token
        # A forged challenge: refused.
        status, page, _ = await web_confirm(
            http, gateway, draft_id, proof_challenge=token[:-4] + "0000", proof_nonce="1"
        )
        assert "La vérification n'a pas abouti" in html.unescape(page)
        assert await stored(database_url) == before

        # Solved: stored.
        nonce = proof.solve(token, 8)
        status, location, _ = await web_confirm(
            http, gateway, draft_id, proof_challenge=token, proof_nonce=nonce
        )
        assert status == 303 and "/soumettre/enregistree" in location
        assert (await stored(database_url))[0] == before[0] + 1

        # The same solution again, for another request: used already, refused.
        status, location = await web_fill(http, gateway, email=new_email())
        status, page, _ = await web_confirm(
            http, gateway, draft_of(location), proof_challenge=token, proof_nonce=nonce
        )
        assert status == 200 and "La vérification n'a pas abouti" in html.unescape(page)
        assert CHALLENGE.search(page).group(1) != token
        assert (await stored(database_url))[0] == before[0] + 1


def _read(token: str) -> proof.Challenge:
    # The test reads the challenge's fields (its difficulty) without the server's key.
    parts = token.split(".")
    return proof.Challenge(None, int(parts[2]), int(parts[3]), int(parts[4]), int(parts[5]), token)


async def test_without_javascript_waiting_the_stated_time_is_enough(strict_stack, database_url):
    gateway = strict_stack.gateway
    await set_config(database_url, suspicion_per_client=1, proof_wait_seconds=1)
    async with web_session() as http:
        await _submit_once(http, gateway)
        _, location = await web_fill(http, gateway, email=new_email())
        draft_id = draft_of(location)
        status, page, _ = await web_confirm(http, gateway, draft_id)
        assert status == 200
        token = CHALLENGE.search(page).group(1)

        async def sent_after_the_wait():
            # What a citizen does: wait as the page says, then « Envoyer ma requête » again.
            answer = await web_confirm(http, gateway, draft_id, proof_challenge=token)
            return answer if answer[0] == 303 else None

        _, location, _ = await eventually(sent_after_the_wait)
        assert "/soumettre/enregistree" in location


async def test_the_pages_script_solves_it_in_a_real_browser(strict_stack, database_url, page):
    gateway = strict_stack.gateway
    await set_config(database_url, suspicion_per_client=1, proof_difficulty_bits=16)
    async with web_session() as http:  # a first request from this address (127.0.0.1)
        await _submit_once(http, gateway)

    await page.goto(gateway + f"/soumettre/formulaire?nature=reclamation&organisme={BODY}")
    await page.get_by_role("heading", name="Exprimez votre préoccupation").wait_for()
    await fill_form(page, email=new_email())
    await submit_form(page)
    send = page.get_by_role("button", name="Envoyer ma requête")
    await send.click()
    await page.get_by_role("heading", name="Vérification avant l'envoi").wait_for()
    # The page looks like the one before the click: it says at its top that nothing left yet.
    told = page.locator("#pas-encore-envoyee")
    assert "Votre requête n'est pas encore envoyée." in await told.inner_text()
    assert (await told.bounding_box())["y"] < page.viewport_size["height"]
    status = page.locator("#proof-status[data-state=done]")
    await status.wait_for()
    assert "Vérification terminée" in await status.inner_text()
    assert await axe_violations(page) == []
    nonce = await page.locator("input[name=proof_nonce]").input_value()
    token = await page.locator("input[name=proof_challenge]").input_value()
    assert proof.zero_bits(hashlib.sha256(f"{token}:{nonce}".encode()).digest()) >= 16
    await send.click()
    await page.wait_for_url(re.compile(r"/soumettre/enregistree"))
    assert re.fullmatch(r"\d{3} \d{3} \d{4}", await page.locator("#code").inner_text())
