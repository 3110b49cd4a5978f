"""The citizen's opinion reaches treatment after its clock closed the request « sans retour »:
the citizen, told « enregistré » at once, is told it was not taken into account, and why.

The six real processes; a réclamation submitted, validated by an analyst and answered by the
body's focal point; treatment stopped (the broker down for treatment, or the last minute); the
citizen gives their opinion at intake (« Votre avis a été enregistré »), which forwards it
through its outbox; treatment's clock closes the request « sans retour » before treatment
reads it (the clock's own code, run here so that it comes first, as it did in production);
treatment started again refuses the opinion. The citizen's tracking page (the gateway's) says
so in the request's history, the status still « Clôturée sans retour », and the citizen gets
the email; the body's focal point reads it in the request's history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.header import decode_header, make_header

import asyncpg

from services.treatment import clock
from shared import db, french
from shared.identity import Role
from shared.messages import RequestCitizenReplyRefusedV1, RequestTreatedV1
from tests.e2e.conftest import BODY
from tests.e2e.test_citizen_opinion import _call, answered
from tests.staff.helpers import create_account, sign_in
from tests.support import eventually

EMAIL = "refus@example.ci"
NO_OPINION_DAYS = 30
PASSWORD = "le point focal lit l'historique"


async def _intake_lines(database_url: str, code: str, event_type: str) -> list[str]:
    """The sentences of intake's history lines of ``event_type`` for ``code``. Read from its
    tables to wait: the tracking API throttles look-ups per code and address, as it should."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            """SELECT h.message FROM intake.request_history h
               JOIN intake.requests r ON r.id = h.request_id
               WHERE r.code = $1 AND h.event_type = $2 ORDER BY h.occurred_at""",
            code,
            event_type,
        )
    finally:
        await conn.close()
    return [r["message"] for r in rows]


async def test_an_opinion_after_the_clock_closed_the_request_is_told_to_the_citizen(
    platform, database_url, smtp_server, page
):
    code, _ = await answered(platform, EMAIL)
    tracking = platform.url("intake") + "/tracking"
    await eventually(lambda: _intake_lines(database_url, code, RequestTreatedV1.name))
    await platform.stop("treatment")
    status, given = await _call(
        "POST",
        tracking + "/opinion",
        body={"code": code, "email": EMAIL, "opinion": "satisfied", "comment": "Merci."},
    )
    assert status == 202, given
    assert given["message"].startswith("Votre avis a été enregistré")
    recorded_day = french.day(given["view"]["pending_reply"]["recorded_at"])

    # The opinion window ends while the opinion waits in treatment's queue.
    pool = await db.create_pool(database_url, "treatment", min_size=1, max_size=2)
    try:
        treated_at = await pool.fetchval("SELECT treated_at FROM treatments WHERE code = $1", code)
        now = max(treated_at + timedelta(days=NO_OPINION_DAYS + 1), datetime.now(UTC))
        assert await clock.close_without_opinion(pool, now=now, days=NO_OPINION_DAYS) == [code]
    finally:
        await pool.close()

    await platform.start("treatment")
    await platform.wait_ready(["treatment"])
    sentence = (
        f"Votre avis du {recorded_day} n'a pas pu être pris en compte : la requête avait été "
        f"clôturée sans retour le {french.day(now)}."
    )
    refused = RequestCitizenReplyRefusedV1.name
    assert await eventually(lambda: _intake_lines(database_url, code, refused)) == [sentence]

    # The citizen's tracking page, on the gateway: the line in the history, still « sans retour ».
    await page.goto(platform.url("gateway") + "/suivre")
    await page.get_by_label("Code Requête").fill(code)
    await page.get_by_label("Adresse e-mail ou numéro de mobile").fill(EMAIL)
    await page.get_by_role("button", name="Valider").click()
    assert (await page.locator("#status").inner_text()).strip() == "Clôturée sans retour"
    history = " ".join((await page.locator("ol.history").inner_text()).split())
    assert sentence in history

    def subject(mail) -> str:
        return str(make_header(decode_header(mail["Subject"])))

    async def emailed():
        return [m for m in smtp_server.to(EMAIL) if code in subject(m) and "pas pu" in subject(m)]

    [mail] = await eventually(emailed)
    assert subject(mail) == f"Miliê — requête n° {code} : votre avis n'a pas pu être pris en compte"
    assert sentence in " ".join(mail.get_body(("plain",)).get_content().split())

    # The body reads it too, in the request's history on the focal point's page.
    await create_account(database_url, Role.FOCAL_POINT, "pf.education", PASSWORD, BODY, "PF")
    await sign_in(page, platform.url("gateway"), "pf.education", PASSWORD)
    await page.goto(platform.url("gateway") + f"/admin/requetes/{code}")
    history = page.locator("section", has=page.get_by_role("heading", name="Historique"))
    line = history.locator("li").filter(has_text="Avis de l'usager non pris en compte")
    said = " ".join((await line.inner_text()).split())
    assert said.endswith(
        "Avis de l'usager non pris en compte (la plateforme) Avis « Satisfait » du "
        f"{recorded_day} reçu après la clôture sans retour du {french.day(now)}. Merci."
    ), said
