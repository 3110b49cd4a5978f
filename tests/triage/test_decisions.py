"""The analysts' decisions through triage's API, on real PostgreSQL and RabbitMQ, with intake's
catalogue answering the re-index: each decision is a history line, an event and an audit line,
written together; two at once make one; a request sent back returns when rewritten."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg

from shared.identity import Identity, Role
from shared.messages import (
    Nature,
    Opinion,
    RequestClarificationSentV1,
    RequestReformulationRequestedV1,
    RequestReindexedV1,
    RequestRejectedV1,
    RequestResubmittedV1,
    RequestValidatedV1,
)
from shared.working_days import Calendar, day_of
from tests.support import eventually, publish_event, submitted_event
from tests.triage.helpers import ADMIN, ANALYST, OTHER_ANALYST, Api, published, wait_events
from tests.triage.test_opinions import opinion, treated

VALIDATED = RequestValidatedV1.type_name()
# Published by a test after the events it waits for (no service is bound to its routing key).
MARKER = "test.marker.v1"


async def _count(pool: asyncpg.Pool, sql: str, *args) -> int:
    async with pool.acquire() as conn:
        return await conn.fetchval(sql, *args)


async def test_validation_sends_the_request_on_and_tells_who_decided_first(triage):
    reclamation = submitted_event(nature=Nature.RECLAMATION)
    suggestion = submitted_event(nature=Nature.SUGGESTION)
    api = triage.api
    async with published(triage.amqp_url, triage.namespace) as events:
        item = await triage.queued(reclamation)
        await triage.queued(suggestion)
        assert item["may_decide"] is True
        assert [h["kind"] for h in item["history"]] == ["submitted"]

        status, done = await api.post(
            f"/queue/{reclamation.code}/validate",
            {"message": "Recevable.", "version": item["version"]},
            address="203.0.113.7",
        )
        assert (status, done["status"]) == (200, "validated")
        status, _ = await api.post(f"/queue/{suggestion.code}/validate", {})
        assert status == 200

        # Another analyst, later: told who decided, and nothing happens twice.
        status, refused = await api.post(
            f"/queue/{reclamation.code}/reject", {"message": "Hors sujet"}, identity=OTHER_ANALYST
        )
        assert status == 409
        assert refused["error"] == "already_decided"
        assert refused["message"].startswith("Cette requête a déjà été traitée par awa.kone le ")
        assert refused["decided_by"] == "awa.kone"

        validated = await wait_events(events, VALIDATED, 2)

    by_code = {e["code"]: e for e in validated}
    first = by_code[reclamation.code]
    assert first["needs_treatment"] is True
    assert first["analyst_message"] == "Recevable."
    assert first["actor"] == {"staff_id": "a-1", "role": "analyst", "body_id": None}
    assert first["contact"]["email"] == reclamation.contact.email
    assert first["message"] == reclamation.message
    assert first["body_id"] == reclamation.body_id
    # A suggestion is read and forwarded to the body (« lue et transmise à l'organisme »).
    assert by_code[suggestion.code]["needs_treatment"] is False
    assert by_code[suggestion.code]["analyst_message"] is None

    _, after = await api.get(f"/queue/{reclamation.code}")
    assert after["status"] == "validated" and after["decided_by"] == "awa.kone"
    assert after["may_decide"] is False and after["overdue"] is False
    assert [h["kind"] for h in after["history"]] == ["submitted", "validated"]
    assert after["history"][1]["actor_login"] == "awa.kone"
    assert after["history"][1]["message"] == "Recevable."
    # Decided requests leave the waiting queue.
    _, waiting = await api.get("/queue")
    assert waiting["total"] == 0
    # The audit log: the decision with the address the gateway gave, the refused one too.
    status, log = await api.get("/audit", identity=ADMIN)
    assert status == 200
    lines = {(i["action"], i["outcome"], i["actor_login"]): i for i in log["items"]}
    decided = lines[("validated", "done", "awa.kone")]
    assert decided["request_code"] in (reclamation.code, suggestion.code)
    assert any(i["address"].startswith("203.0.113.7") for i in log["items"])
    assert ("rejected", "conflict", "yao.kouame") in lines


async def test_two_decisions_at_once_make_one(triage):
    event = submitted_event()
    await triage.queued(event)
    api = triage.api
    async with published(triage.amqp_url, triage.namespace) as events:
        results = await asyncio.gather(
            api.post(f"/queue/{event.code}/validate", {"message": "ok"}),
            api.post(
                f"/queue/{event.code}/reject", {"message": "non recevable"}, identity=OTHER_ANALYST
            ),
        )
        statuses = sorted(status for status, _ in results)
        assert statuses == [200, 409]
        winner = next(body for status, body in results if status == 200)
        loser = next(body for status, body in results if status == 409)
        kind = VALIDATED if winner["decision"] == "validated" else RequestRejectedV1.type_name()
        await wait_events(events, kind, code=event.code)
        # Nothing more can come: triage's outbox has published every row it holds (each one
        # confirmed, so in our queue already), and a marker published after them has arrived.
        unsent = "SELECT count(*) = 0 FROM outbox WHERE sent_at IS NULL"
        await eventually(lambda: _count(triage.pool, unsent))
        await publish_event(
            triage.amqp_url,
            triage.namespace,
            submitted_event(),
            routing_key="request.test-marker",
            message_type=MARKER,
        )

        async def marker_arrived() -> bool:
            return any(type_name == MARKER for type_name, _ in events)

        await eventually(marker_arrived)
        decided = [e for e in events if e[0] in (VALIDATED, RequestRejectedV1.type_name())]

    assert len(decided) == 1
    assert loser["error"] == "already_decided"
    assert "Cette requête a déjà été traitée par" in loser["message"]
    decisions = await _count(
        triage.pool,
        """SELECT count(*) FROM history h JOIN queue_items q USING (request_id)
           WHERE q.code = $1 AND h.kind IN ('validated', 'rejected')""",
        event.code,
    )
    outbox_rows = await _count(
        triage.pool,
        """SELECT count(*) FROM outbox
           WHERE message_type IN ('request.validated.v1', 'request.rejected.v1')""",
    )
    assert (decisions, outbox_rows) == (1, 1)
    assert winner["decision"] in ("validated", "rejected")


WORKING_DAYS = Calendar()


async def test_reformulation_then_the_rewrite_returns_to_the_queue(triage):
    event = submitted_event(
        nature=Nature.DEMANDE_INFORMATION,
        submitted_at=datetime.now(UTC) - timedelta(days=14),
    )
    api = triage.api
    item = await triage.queued(event)
    # Five working days for a demande d'information (a setting per nature): overdue already.
    due = WORKING_DAYS.add(day_of(event.submitted_at), 5)
    assert item["days_left"] == WORKING_DAYS.left(datetime.now(UTC).date(), due) < 0
    assert item["overdue"] is True
    async with published(triage.amqp_url, triage.namespace) as events:
        status, refused = await api.post(f"/queue/{event.code}/reformulate", {"message": "  "})
        assert status == 422
        assert refused["errors"][0]["field"] == "message"
        assert "reformuler" in refused["errors"][0]["message"]
        status, _ = await api.post(
            f"/queue/{event.code}/reformulate", {"message": "Précisez le service concerné."}
        )
        assert status == 200
        [sent] = await wait_events(events, RequestReformulationRequestedV1.type_name())
    assert sent["analyst_message"] == "Précisez le service concerné."
    _, after = await api.get(f"/queue/{event.code}")
    assert after["status"] == "reformulation_requested"

    rewritten_at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
    rewrite = RequestResubmittedV1(
        request_id=event.request_id,
        code=event.code,
        message="Le service des passeports de Cocody ne répond pas.",
        resubmitted_at=rewritten_at,
    )
    await publish_event(triage.amqp_url, triage.namespace, rewrite)

    async def back():
        _, body = await api.get(f"/queue/{event.code}")
        return body if body["status"] == "waiting" else None

    again = await eventually(back)
    assert again["message"] == rewrite.message
    assert datetime.fromisoformat(again["queued_at"]) == rewritten_at
    # A new deadline from the rewrite: five working days again.
    assert again["days_left"] == 5 and again["overdue"] is False
    assert again["version"] > after["version"]
    kinds = [(h["kind"], h["message"]) for h in again["history"]]
    assert kinds == [
        ("submitted", event.message),
        ("reformulation_requested", "Précisez le service concerné."),
        ("resubmitted", rewrite.message),
    ]
    # Waiting again: an analyst may decide anew.
    status, _ = await api.post(f"/queue/{event.code}/reject", {"message": "Doublon."})
    assert status == 200


async def test_rejection_carries_the_reason(triage):
    event = submitted_event()
    await triage.queued(event)
    async with published(triage.amqp_url, triage.namespace) as events:
        status, missing = await triage.api.post(f"/queue/{event.code}/reject", {})
        assert status == 422 and missing["errors"][0]["field"] == "message"
        for content_type, raw, refused in (
            ("application/json", b"{oops", (400, "invalid_json")),
            ("text/plain", b"message=Non", (415, "unsupported_media_type")),
        ):
            status, answer = await triage.api.call(
                "POST",
                f"/queue/{event.code}/reject",
                data=raw,
                extra_headers={"Content-Type": content_type},
            )
            assert (status, answer["error"]) == refused
        status, _ = await triage.api.post(
            f"/queue/{event.code}/reject", {"message": "Requête injurieuse."}
        )
        assert status == 200
        [rejected] = await wait_events(events, RequestRejectedV1.type_name())
    assert rejected["reason"] == "Requête injurieuse."
    assert rejected["actor"]["staff_id"] == "a-1"


async def test_reindex_checks_the_catalogue_and_a_stale_form_is_refused(triage):
    event = submitted_event(body_id="ministere-budget", theme_id="accueil-espace")
    api = triage.api
    item = await triage.queued(event)
    async with published(triage.amqp_url, triage.namespace) as events:
        cases = [
            ({}, "body_id"),
            ({"body_id": "ministere-inconnu"}, "body_id"),
            ({"body_id": "Ministère !"}, "body_id"),
            ({"body_id": "ministere-justice", "theme_id": "pas-un-theme"}, "theme_id"),
            ({"body_id": "ministere-budget", "theme_id": "accueil-espace"}, "body_id"),
        ]
        for body, field in cases:
            status, answer = await api.post(f"/queue/{event.code}/reindex", body)
            assert (status, answer["errors"][0]["field"]) == (422, field), (body, answer)
        status, done = await api.post(
            f"/queue/{event.code}/reindex",
            {
                "body_id": "ministere-justice",
                "theme_id": "accueil-agent",
                "message": "Relève de la Justice.",
                "version": item["version"],
            },
        )
        assert status == 200, done
        [reindexed] = await wait_events(events, RequestReindexedV1.type_name())

    assert reindexed["body_id"] == "ministere-justice"
    assert reindexed["body_name"].startswith("Garde des Sceaux")
    assert reindexed["theme_label"] == "ACCUEIL : Problème avec agent d'accueil"
    assert reindexed["previous_body_id"] == "ministere-budget"
    assert reindexed["previous_theme_id"] == "accueil-espace"
    _, after = await api.get(f"/queue/{event.code}")
    assert after["status"] == "waiting" and after["body_id"] == "ministere-justice"
    line = after["history"][-1]
    assert line["kind"] == "reindexed" and line["message"] == "Relève de la Justice."
    assert line["details"]["previous_body_name"] == event.body_name

    # The other analyst's page was read before the re-index: their validation is refused.
    status, stale = await api.post(
        f"/queue/{event.code}/validate",
        {"version": item["version"]},
        identity=OTHER_ANALYST,
    )
    assert status == 409 and stale["error"] == "modified"
    assert "modifiée entre-temps par awa.kone" in stale["message"]
    status, _ = await api.post(
        f"/queue/{event.code}/validate", {"version": after["version"]}, identity=OTHER_ANALYST
    )
    assert status == 200


async def test_clarification_only_after_validation(triage):
    """… and once the citizen said « Non satisfait » (tests/triage/test_opinions.py)."""
    event = submitted_event()
    await triage.queued(event)
    api = triage.api
    status, refused = await api.post(f"/queue/{event.code}/clarify", {"message": "Bonjour"})
    assert (status, refused["error"]) == (409, "not_allowed")
    await api.post(f"/queue/{event.code}/validate", {})
    await publish_event(triage.amqp_url, triage.namespace, treated(event))
    await publish_event(
        triage.amqp_url, triage.namespace, opinion(event, Opinion.NOT_SATISFIED, "Rien reçu")
    )

    async def unsatisfied():
        return (await api.get(f"/queue/{event.code}"))[1]["may_clarify"]

    await eventually(unsatisfied)
    async with published(triage.amqp_url, triage.namespace) as events:
        status, _ = await api.post(f"/queue/{event.code}/clarify", {"message": ""})
        assert status == 422
        status, _ = await api.post(
            f"/queue/{event.code}/clarify",
            {"message": "Le ministère a rouvert votre dossier."},
        )
        assert status == 200
        [sent] = await wait_events(events, RequestClarificationSentV1.type_name())
    assert sent["message"] == "Le ministère a rouvert votre dossier."
    _, after = await api.get(f"/queue/{event.code}")
    assert after["status"] == "validated"
    assert after["history"][-1]["kind"] == "clarification_sent"


async def test_bad_calls_get_clear_answers_and_refusals_are_audited(triage):
    event = submitted_event()
    await triage.queued(event)
    api = triage.api
    code = event.code
    # No identity: 401; a focal point or an operator: 403 — both in the audit log.
    assert (await api.get("/queue", identity=None))[0] == 401
    status, _ = await api.post(f"/queue/{code}/validate", {}, identity=None)
    assert status == 401
    focal = Identity(staff_id="pf-1", role=Role.FOCAL_POINT, body_id="ministere-budget")
    assert (await api.post(f"/queue/{code}/validate", {}, identity=focal))[0] == 403
    assert (await api.get("/audit"))[0] == 403  # an analyst does not read the audit log
    # Malformed bodies and unknown codes.
    async with api.http.post(
        f"{api.base}/queue/{code}/validate",
        data=b"{not json",
        headers={**_signed(api), "Content-Type": "application/json"},
    ) as resp:
        assert resp.status == 400
    assert (await api.post(f"/queue/{code}/validate", {"version": 0}))[0] == 422
    assert (await api.post(f"/queue/{code}/validate", {"surprise": 1}))[0] == 422
    assert (await api.post(f"/queue/{code}/validate", ["a"]))[0] == 422
    assert (await api.post("/queue/1234567890/validate", {}))[0] == 404
    assert (await api.post("/queue/1234567891/validate", {}))[0] == 404
    assert (await api.post(f"/queue/{code}/validate", {"message": "x" * 5001}))[0] == 422
    status, _ = await api.get(f"/queue/{code}")
    assert status == 200

    _, log = await api.get("/audit", identity=ADMIN)
    refused = [i for i in log["items"] if i["outcome"] == "refused"]
    assert {(i["actor_role"], i["detail"]) for i in refused} == {
        (None, "identité signée absente ou invalide"),
        ("focal-point", "rôle non autorisé"),
        ("analyst", "rôle non autorisé"),
    }
    assert any(i["request_code"] == code for i in refused)


def _signed(api: Api) -> dict:
    from tests.triage.helpers import headers

    return headers(api.secret, ANALYST)
