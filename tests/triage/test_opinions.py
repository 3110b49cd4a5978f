"""Triage reads the citizen's opinion (treatment's events over the broker): the analysts'
« Message d'éclaircissement » becomes possible once a citizen has said « Non satisfait » or
« Partiellement satisfait », and only then — in triage's API and on the back office's page."""

from __future__ import annotations

import html as markup
import re
import uuid
from datetime import UTC, datetime, timedelta

from shared.identity import Identity, Role
from shared.messages import (
    Actor,
    Opinion,
    RequestClosedV1,
    RequestOpinionGivenV1,
    RequestPutOnHoldV1,
    RequestReopenedV1,
    RequestResumedV1,
    RequestTreatedV1,
)
from tests.front.conftest import submission_fields
from tests.staff.helpers import create_account, signed_in_session
from tests.support import as_staff, eventually, publish_event, signed_session, submitted_event

FOCAL = Actor(staff_id="pf-1", role="focal_point", body_id="ministere-budget")
CLARIFY = "Message d'éclaircissement à l'usager"
PASSWORD = "un mot de passe d'analyste"


def _ids(event) -> dict:
    return {"request_id": event.request_id, "code": event.code, "body_id": event.body_id}


def treated(event) -> RequestTreatedV1:
    return RequestTreatedV1(
        **_ids(event), message="Réglé.", actor=FOCAL, treated_at=datetime.now(UTC)
    )


def opinion(event, said: Opinion, comment: str | None = None) -> RequestOpinionGivenV1:
    return RequestOpinionGivenV1(
        **_ids(event), opinion=said, comment=comment, given_at=datetime.now(UTC)
    )


async def _validated(triage) -> object:
    event = submitted_event()
    await triage.queued(event)
    status, _ = await triage.api.post(f"/queue/{event.code}/validate", {})
    assert status == 200
    return event


async def _when(triage, code: str, check) -> dict:
    """The queue's item once ``check(item)`` holds (triage applied the events)."""

    async def probe():
        status, body = await triage.api.get(f"/queue/{code}")
        return body if status == 200 and check(body) else None

    return await eventually(probe)


async def test_a_clarification_waits_for_a_citizen_not_fully_satisfied(triage):
    api, url, ns = triage.api, triage.amqp_url, triage.namespace
    unsatisfied, partly, satisfied = [await _validated(triage) for _ in range(3)]
    item = await _when(triage, unsatisfied.code, lambda b: True)
    assert item["may_clarify"] is False  # validated, no answer yet
    status, refused = await api.post(f"/queue/{unsatisfied.code}/clarify", {"message": "Bonjour"})
    assert (status, refused["error"]) == (409, "not_allowed")
    assert "« Non satisfait » ou « Partiellement satisfait »" in refused["message"]

    for event in (unsatisfied, partly, satisfied):
        await publish_event(url, ns, treated(event))
    item = await _when(triage, unsatisfied.code, lambda b: b["body_status"] == "treated")
    assert item["may_clarify"] is False  # answered, the citizen has not said yet

    said = uuid.uuid4()
    await publish_event(
        url, ns, opinion(unsatisfied, Opinion.NOT_SATISFIED, "Rien reçu"), message_id=str(said)
    )
    await publish_event(url, ns, opinion(partly, Opinion.PARTLY_SATISFIED))
    await publish_event(url, ns, opinion(satisfied, Opinion.SATISFIED))
    item = await _when(triage, unsatisfied.code, lambda b: b["opinion"] == "not_satisfied")
    assert (item["body_status"], item["opinion_label"], item["opinion_comment"]) == (
        "closed",
        "Non satisfait",
        "Rien reçu",
    )
    assert item["may_clarify"] is True
    assert (await _when(triage, partly.code, lambda b: b["opinion"]))["may_clarify"] is True
    assert (await _when(triage, satisfied.code, lambda b: b["opinion"]))["may_clarify"] is False
    status, refused = await api.post(f"/queue/{satisfied.code}/clarify", {"message": "Bonjour"})
    assert (status, refused["error"]) == (409, "not_allowed")

    status, _ = await api.post(
        f"/queue/{unsatisfied.code}/clarify", {"message": "Le ministère rouvre votre dossier."}
    )
    assert status == 200
    _, after = await api.get(f"/queue/{unsatisfied.code}")
    assert after["history"][-1]["kind"] == "clarification_sent"

    # The opinion delivered again, and a late event after the closing: nothing moves.
    await publish_event(
        url, ns, opinion(unsatisfied, Opinion.NOT_SATISFIED, "Rien reçu"), message_id=str(said)
    )
    await publish_event(url, ns, treated(unsatisfied))
    marker = await _validated(triage)  # published after them: once seen, they were applied
    await publish_event(url, ns, treated(marker))
    await _when(triage, marker.code, lambda b: b["body_status"] == "treated")
    _, after = await api.get(f"/queue/{unsatisfied.code}")
    assert (after["body_status"], after["opinion"], after["may_clarify"]) == (
        "closed",
        "not_satisfied",
        True,
    )


async def test_reopened_or_closed_without_return_allows_no_clarification(triage):
    url, ns = triage.amqp_url, triage.namespace
    reopened, silent = await _validated(triage), await _validated(triage)
    for event in (reopened, silent):
        await publish_event(url, ns, treated(event))
    await publish_event(
        url,
        ns,
        RequestReopenedV1(**_ids(reopened), message="Relance", reopened_at=datetime.now(UTC)),
    )
    await publish_event(url, ns, RequestClosedV1(**_ids(silent), closed_at=datetime.now(UTC)))
    item = await _when(triage, reopened.code, lambda b: b["body_status"] == "reopened")
    assert item["may_clarify"] is False
    item = await _when(triage, silent.code, lambda b: b["body_status"] == "closed")
    assert (item["opinion"], item["may_clarify"]) == (None, False)


async def test_the_request_page_offers_the_clarification_only_when_allowed(
    stack, database_url, amqp_url, namespace
):
    await create_account(database_url, Role.ANALYST, "awa.kone", PASSWORD)
    body = submission_fields("avis@example.ci")
    async with (
        signed_session() as http,
        http.post(stack.gateway + "/api/v1/requests", json=body) as resp,
    ):
        created = await resp.json()
        assert resp.status == 201, created
    code = created["code"]
    who = as_staff(Identity(staff_id="t", role=Role.ANALYST))
    triage_url = f"{stack.url('triage')}/queue/{code}"

    async def item(check):
        async with signed_session() as http:

            async def probe():
                async with http.get(triage_url, headers=who) as r:
                    found = await r.json() if r.status == 200 else None
                return found if found and check(found) else None

            return await eventually(probe)

    queued = await item(lambda b: True)
    awa = await signed_in_session(stack.gateway, "awa.kone", PASSWORD)
    page_url = f"{stack.gateway}/admin/traitements/{code}"
    async with awa:
        async with awa.get(page_url) as resp:
            html = markup.unescape(await resp.text())
        token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
        async with awa.post(
            f"{page_url}/valider",
            data={"csrf_token": token, "version": str(queued["version"]), "confirm": "oui"},
            allow_redirects=False,
        ) as resp:
            assert resp.status == 303
        async with awa.get(page_url) as resp:
            html = markup.unescape(await resp.text())
        assert CLARIFY not in html

        request_id = uuid.UUID(queued["request_id"])
        ids = {"request_id": request_id, "code": code, "body_id": queued["body_id"]}
        url, ns = amqp_url, namespace
        await publish_event(
            url,
            ns,
            RequestTreatedV1(**ids, message="Réglé.", actor=FOCAL, treated_at=datetime.now(UTC)),
        )
        await publish_event(
            url,
            ns,
            RequestOpinionGivenV1(
                **ids,
                opinion=Opinion.PARTLY_SATISFIED,
                comment="Trop lent",
                given_at=datetime.now(UTC),
            ),
        )
        await item(lambda b: b["may_clarify"])
        async with awa.get(page_url) as resp:
            html = markup.unescape(await resp.text())
        assert CLARIFY in html
        assert "Partiellement satisfait : « Trop lent »" in html


async def test_a_late_body_event_does_not_undo_a_later_one(triage):
    """Two copies of triage on one queue apply a request's body events in any order: the
    « Retraitement » that one copy applies after the other applied the answer that followed it
    leaves the request answered, as treatment has it."""
    url, ns = triage.amqp_url, triage.namespace
    event = await _validated(triage)
    first = datetime.now(UTC)
    reopened_at, answered_at = first + timedelta(minutes=1), first + timedelta(minutes=2)
    await publish_event(url, ns, treated(event).model_copy(update={"treated_at": first}))
    await publish_event(url, ns, treated(event).model_copy(update={"treated_at": answered_at}))
    late = await publish_event(
        url, ns, RequestReopenedV1(**_ids(event), message="Relance", reopened_at=reopened_at)
    )

    async def applied():
        return await triage.pool.fetchval(
            "SELECT EXISTS (SELECT 1 FROM inbox WHERE message_id = $1)", uuid.UUID(late)
        )

    await eventually(applied)
    item = await _when(triage, event.code, lambda b: True)
    assert item["body_status"] == "treated"


async def test_a_hold_and_its_end_are_followed_as_the_body_has_them(triage):
    """The analysts' page says where the request is: on hold at the body (« Mettre en attente »),
    then in treatment again (« Reprendre »), as treatment's events tell it."""
    url, ns = triage.amqp_url, triage.namespace
    event = await _validated(triage)
    held_at = datetime.now(UTC)
    await publish_event(
        url,
        ns,
        RequestPutOnHoldV1(**_ids(event), reason="Pièce attendue", actor=FOCAL, held_at=held_at),
    )
    await _when(triage, event.code, lambda b: b["body_status"] == "on_hold")
    await publish_event(
        url,
        ns,
        RequestResumedV1(**_ids(event), actor=FOCAL, resumed_at=held_at + timedelta(minutes=1)),
    )
    item = await _when(triage, event.code, lambda b: b["body_status"] == "in_treatment")
    assert item["may_clarify"] is False
