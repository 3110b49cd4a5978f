"""Attachments on mobile data, in a real Chromium throttled to DevTools' « Fast 3G » profile: a
2 Mo file takes some 25 s to go up, and still reaches the draft and then the request (the gateway
once gave up after 10 s whatever the bytes were doing, and said the service was down)."""

from __future__ import annotations

import json

import asyncpg

from tests.front.conftest import big_pdf
from tests.front.pages import BUDGET, fill_form, new_page, submit_form

# Chromium DevTools' « Fast 3G »: 1.6 Mbit/s down at 90 %, 84 Kio/s up (750 kbit/s at 90 %),
# 563 ms of latency; in bytes per second, as Network.emulateNetworkConditions takes them.
FAST_3G = {
    "offline": False,
    "latency": 563,
    "downloadThroughput": 1.6 * 1000 * 1000 / 8 * 0.9,
    "uploadThroughput": 84 * 1024,
}
# Playwright's waits, for steps that carry the file at that speed (no assertion on time).
SLOW_STEP_MS = 180_000


async def test_a_2_mo_file_goes_through_on_fast_3g(front, browser, database_url, tmp_path):
    scan = tmp_path / "Facture scannée.pdf"
    scan.write_bytes(big_pdf(2 * 1024 * 1024))
    context, page = await new_page(browser)
    try:
        cdp = await context.new_cdp_session(page)
        await cdp.send("Network.enable")
        await cdp.send("Network.emulateNetworkConditions", FAST_3G)
        page.set_default_timeout(SLOW_STEP_MS)

        await page.goto(f"{front}/soumettre/formulaire?nature=reclamation&organisme={BUDGET}")
        await page.get_by_role("heading", name="Exprimez votre préoccupation").wait_for()
        await fill_form(page, email="aya.mobile@example.ci", files=[scan])
        async with page.expect_navigation():
            await submit_form(page)
        heading = await page.locator("h1").inner_text()
        assert heading == "Êtes-vous sûr de vouloir soumettre ces informations ?", heading
        # The recap lists the files the draft holds.
        assert "Facture scannée.pdf (2048 Ko)" in await page.locator(".recap").inner_text()
        async with page.expect_navigation():
            await page.get_by_role("button", name="Envoyer ma requête").click()
        await page.get_by_text("Le numéro de la demande est").wait_for()
    finally:
        await context.close()

    conn = await asyncpg.connect(database_url)
    try:
        stored = await conn.fetch("SELECT filename, size, data FROM intake.attachments")
        event = await conn.fetchval(
            "SELECT body FROM intake.outbox WHERE message_type = 'request.submitted.v1'"
        )
    finally:
        await conn.close()
    assert [(r["filename"], r["size"]) for r in stored] == [
        ("Facture scannée.pdf", 2 * 1024 * 1024)
    ]
    assert bytes(stored[0]["data"]) == scan.read_bytes()
    attachments = json.loads(event)["attachments"]
    assert [(a["filename"], a["size"]) for a in attachments] == [
        ("Facture scannée.pdf", 2 * 1024 * 1024)
    ]
