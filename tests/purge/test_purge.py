"""Issue 13's purge search: a request run through the whole platform (a citizen with a name,
telephone, email and sentence nobody else has, a photo, a reformulation and the rewrite with a
document, the analysts' decisions, the focal point's alert, the body's acknowledgement and answer,
the emails and SMS sent, the citizen's opinion, a clarification, a reminder of forgotten codes),
purged a year and a day after its closure; once every service has applied
request.personal_data_purged, no table of any schema holds any of them. The citizen still finds
the request with code + email: its milestones and « Données personnelles supprimées le … »."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import aiohttp
from yarl import URL

from shared import french, topology
from shared.messages import RequestPersonalDataPurgedV1
from shared.purge import phone_forms
from tests.purge.conftest import (
    AGENT,
    ANALYST,
    DOCUMENT,
    EMAIL,
    FIRST_NAMES,
    LAST_NAME,
    LEXEMES,
    MOBILE,
    PHONE_FORMS,
    PHRASE,
    applied_everywhere,
    call_centre_submission,
    closed,
    decide,
    pool_of,
    purge_events,
    quiet,
    rewritten,
    search_everywhere,
    submitted,
    sweep,
    treated_and_closed,
)
from tests.support import as_staff, dead_letters, eventually, publish_event, signed_session
from tests.track.conftest import post_json

NEEDLES = [EMAIL, LAST_NAME, FIRST_NAMES, PHRASE, DOCUMENT, *PHONE_FORMS, *LEXEMES]
FOCAL_EMAIL = "koffi.yao@budget.ci"


async def _tracking_page(gateway: str, code: str, email: str) -> tuple[int, str]:
    async with signed_session(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(gateway + "/suivre") as resp:
            assert resp.status == 200
        token = http.cookie_jar.filter_cookies(URL(gateway))["milie_csrf"].value
        async with http.post(
            gateway + "/suivre", data={"csrf_token": token, "code": code, "email": email}
        ) as resp:
            return resp.status, await resp.text()


async def test_after_the_purge_no_table_of_any_schema_holds_the_citizen(
    stack, smtp_server, fake_sms, database_url, amqp_url, namespace
):
    # A focal point of the body who wants the new-request alerts at once (notify's staff list).
    await pool_of(stack, "notify").execute(
        """INSERT INTO staff_recipients (account_id, login, display_name, email, role, body_id,
                                         alerts)
           VALUES ('purge-pf', 'koffi.yao', 'Koffi Yao', $1, 'focal_point', $2, 'immediate')""",
        FOCAL_EMAIL,
        AGENT.body_id,
    )
    request_id, code = await submitted(stack)
    await rewritten(stack, code)
    await treated_and_closed(stack, code)
    # « Code requête oublié ? »: an email to the address, tied to no request.
    async with (
        signed_session() as http,
        http.post(f"{stack.gateway}/api/v1/tracking/codes-reminder", json={"email": EMAIL}) as r,
    ):
        assert r.status == 202
    # The acknowledgement, the agent's acknowledgement, the answer, the clarification, the codes.
    await smtp_server.wait_for(EMAIL, count=5)
    # The same by SMS to the mobile number.
    await fake_sms.wait_for(MOBILE, count=5)
    # The alert of the new request to the focal point: about the request (its request_id, so
    # that notify's purge finds it), without the citizen's name or words.
    [alert] = await smtp_server.wait_for(FOCAL_EMAIL)
    await quiet(stack)
    said = alert.get_body(("plain",)).get_content()
    assert code in said
    assert not [n for n in NEEDLES if n.lower() in (said + str(alert["Subject"])).lower()]
    notify = pool_of(stack, "notify")
    sent = await notify.fetch(
        "SELECT medium, recipient FROM deliveries WHERE request_id = $1", request_id
    )
    assert {"sms", "email"} <= {d["medium"] for d in sent}
    assert FOCAL_EMAIL in {d["recipient"] for d in sent}
    # The document added at the rewrite is the request's, beside the photo.
    files = await pool_of(stack, "intake").fetch(
        "SELECT filename FROM attachments WHERE request_id = $1", request_id
    )
    assert DOCUMENT in {f["filename"] for f in files}
    before = await search_everywhere(database_url, NEEDLES)
    # The search finds them, in every service's copies, before the purge.
    tables = {f.split('."')[0] for f in before}
    assert tables >= {
        "intake.requests",
        "intake.contacts",
        "intake.attachments",
        "intake.citizen_replies",
        "intake.outbox",
        "triage.queue_items",
        "triage.history",
        "treatment.treatments",
        "treatment.answers",
        "treatment.opinions",
        "notify.recipients",
        "notify.deliveries",
    }
    # The statistics and the gateway never held any of it: nothing of theirs to purge.
    assert not {t for t in tables if t.startswith(("stats.", "gateway."))}

    # Not yet due: a day before the year is up, nothing is purged; a year and a day after, it is.
    assert await sweep(stack, now=datetime.now(UTC) + timedelta(days=364)) == []
    assert await sweep(stack) == [code]
    [event_id] = await purge_events(stack, code)
    await applied_everywhere(stack, event_id)
    await quiet(stack)

    assert await search_everywhere(database_url, NEEDLES) == []
    # The delivery log keeps each delivery, the SMS and the staff's alert too, without recipient.
    logged = await notify.fetch(
        "SELECT medium, recipient FROM deliveries WHERE request_id = $1", request_id
    )
    assert len(logged) == len(sent) and {d["recipient"] for d in logged} == {""}
    # Kept: the code, the body, the nature, the dated milestones, the counts.
    intake = pool_of(stack, "intake")
    row = await intake.fetchrow(
        "SELECT code, body_id, nature, status, purged_at FROM requests WHERE id = $1", request_id
    )
    assert (row["code"], row["body_id"], row["nature"]) == (code, "ministere-budget", "reclamation")
    assert row["purged_at"] is not None
    assert not await intake.fetchval(
        "SELECT count(*) FROM attachments WHERE request_id = $1", request_id
    )
    kinds = await pool_of(stack, "treatment").fetch(
        "SELECT kind, actor_id FROM history WHERE request_id = $1 ORDER BY id", request_id
    )
    assert [k["kind"] for k in kinds][:4] == ["validated", "assigned", "treated", "opinion_given"]
    assert "purge-pf" in {k["actor_id"] for k in kinds}
    counted = await pool_of(stack, "stats").fetchval(
        "SELECT count(*) FROM request_facts WHERE request_id = $1", request_id
    )
    assert counted == 1

    # The staff's views of it still answer, without the citizen.
    async with signed_session() as http:
        for url, who in (
            (f"{stack.url('triage')}/queue/{code}", ANALYST),
            (f"{stack.url('treatment')}/requests/{code}", AGENT),
            (f"{stack.url('notify')}/deliveries?request_id={request_id}", ANALYST),
        ):
            async with http.get(url, headers=as_staff(who)) as r:
                assert r.status == 200, url
                text = await r.text()
            assert EMAIL not in text and LAST_NAME not in text and PHRASE not in text
            if "deliveries" in url:
                assert len(await r.json()) >= 4  # the log keeps each delivery, dated

        # Nobody writes to the citizen any more: it would name them again, for no one to read.
        greeting = f"Bonjour {FIRST_NAMES} {LAST_NAME}"
        for url, who, body in (
            (f"{stack.url('triage')}/queue/{code}/clarify", ANALYST, {"message": greeting}),
            (
                f"{stack.url('treatment')}/requests/{code}/answer-again",
                AGENT,
                {"message": greeting},
            ),
        ):
            async with http.post(url, json=body, headers=as_staff(who)) as r:
                refused = await r.json()
            assert (r.status, refused["error"]) == (409, "purged"), refused
            assert (
                "Les données personnelles de l'usager ont été supprimées le" in refused["message"]
            )

    # The citizen still looks it up with code + email: the milestones and the purge's date.
    status, html = await _tracking_page(stack.gateway, code, EMAIL)
    assert status == 200, html
    day = french.day(row["purged_at"])
    assert "Données personnelles supprimées le <time datetime=" in html
    assert day in html
    assert "Vous avez soumis la requête" in html
    assert PHRASE not in html and LAST_NAME not in html
    # A wrong email still finds nothing.
    status, _ = await _tracking_page(stack.gateway, code, "quelqu.un@example.ci")
    assert status == 404

    # The purge once more (a copy under a new id, as a republished event): nothing changes.
    async def treatment_rows():
        pool = pool_of(stack, "treatment")
        return [
            await pool.fetch(f"SELECT * FROM {t} WHERE request_id = $1 ORDER BY 1", request_id)
            for t in ("treatments", "history", "answers", "opinions")
        ]

    kept = await treatment_rows()
    again = RequestPersonalDataPurgedV1(
        request_id=request_id, code=code, purged_at=row["purged_at"]
    )
    await applied_everywhere(stack, await publish_event(amqp_url, namespace, again))
    assert await treatment_rows() == kept
    assert await search_everywhere(database_url, NEEDLES) == []


async def test_a_redelivered_purge_changes_nothing_and_fails_nothing(stack, amqp_url, namespace):

    request_id, code = await submitted(stack, email="redelivery@example.ci")

    await decide(stack, code, "reject", f"Hors du champ de Miliê, {LAST_NAME}.")
    await closed(stack, code)
    await quiet(stack)
    assert await sweep(stack) == [code]
    [event_id] = await purge_events(stack, code)
    await applied_everywhere(stack, event_id)

    async def snapshot():
        return (
            await pool_of(stack, "triage").fetchrow(
                "SELECT message, contact::text, version FROM queue_items WHERE request_id = $1",
                request_id,
            ),
            await pool_of(stack, "triage").fetch(
                "SELECT kind, message FROM history WHERE request_id = $1 ORDER BY id", request_id
            ),
            await pool_of(stack, "notify").fetch(
                "SELECT recipient, status FROM deliveries WHERE request_id = $1 ORDER BY id",
                request_id,
            ),
        )

    before = await snapshot()
    event = RequestPersonalDataPurgedV1.model_validate_json(
        await pool_of(stack, "intake").fetchval(
            "SELECT body::text FROM outbox WHERE message_id = $1::uuid", event_id
        )
    )
    # The same message again (the inbox ignores it), and a copy under a new id (applied again).
    await publish_event(amqp_url, namespace, event, message_id=event_id)
    again = await publish_event(amqp_url, namespace, event)
    await applied_everywhere(stack, again)
    assert await snapshot() == before
    # A second sweep finds nothing more to purge.
    assert await sweep(stack) == []
    topo = topology.Topology(namespace)
    for service in ("triage", "treatment", "notify"):
        assert await dead_letters(amqp_url, topo.dead_letter_queue(service)) == []

    async def nothing_waits():
        return not await pool_of(stack, "intake").fetchval(
            "SELECT count(*) FROM outbox WHERE sent_at IS NULL"
        )

    await eventually(nothing_waits)


async def test_a_purged_request_without_email_is_found_with_code_and_mobile_number(
    stack, fake_sms, database_url
):
    typed, e164 = "07 59 31 84 26", "+2250759318426"
    request_id, code = await call_centre_submission(stack, typed, "ASSAMOI")
    await fake_sms.wait_for(e164)  # the code, by SMS
    await decide(stack, code, "reject", "Hors du champ de Miliê.")
    await closed(stack, code)
    await quiet(stack)
    assert await sweep(stack) == [code]
    [event_id] = await purge_events(stack, code)
    await applied_everywhere(stack, event_id)
    kept = await pool_of(stack, "intake").fetchrow(
        "SELECT email_hash, phone_hash FROM requests WHERE id = $1", request_id
    )
    assert kept["email_hash"] is None and kept["phone_hash"] not in (None, e164)
    assert await search_everywhere(database_url, ["ASSAMOI", *phone_forms(e164)]) == []

    url = stack.gateway + "/api/v1/tracking"
    for phone in (typed, e164):
        status, view, _ = await post_json(url, {"code": code, "phone": phone})
        assert status == 200, view
        assert view["code"] == code and view["purged_at"]
    # Another number, or an email: nothing, as for any wrong contact.
    for other in ({"phone": "07 59 31 84 27"}, {"email": "assamoi@example.ci"}):
        status, body, _ = await post_json(url, {"code": code, **other})
        assert (status, body["error"]) == (404, "not_found")
