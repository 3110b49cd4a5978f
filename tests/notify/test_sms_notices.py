"""Every message that tells a citizen something goes by SMS too, to the mobile number they gave:
the code, the analysts' decisions, the hold, the answer, the reopening acknowledged, the closing
« sans retour », the forgotten codes — once each, a redelivered event sending nothing more (real
PostgreSQL, RabbitMQ and SMTP server; a local fake of Orange's SMS API)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest

from services.notify import sms_texts
from services.notify.app import create_app
from services.notify.settings import NotifySettings
from shared.messages import (
    Actor,
    CodesReminderRequestedV2,
    Contact,
    Opinion,
    RemindedRequest,
    RequestClarificationSentV1,
    RequestClosedV1,
    RequestPutOnHoldV1,
    RequestReformulationRequestedV1,
    RequestRejectedV1,
    RequestReopenedV1,
    RequestTreatedV1,
    RequestValidatedV1,
)
from tests.fakes.orange_sms import FakeOrangeSms
from tests.support import RunningApp, eventually, publish_event, submitted_event

PUBLIC_URL = "https://portail.milie.test"
ANALYST = Actor(staff_id="an-1", role="analyst")
FOCAL = Actor(staff_id="pf-1", role="focal_point")
BODY_ID = "ministere-budget"


@pytest.fixture
async def fake_sms() -> AsyncIterator[FakeOrangeSms]:
    async with FakeOrangeSms() as fake:
        yield fake


def _mobile() -> str:
    return f"+22507{uuid.uuid4().int % 10**8:08d}"


async def test_each_message_reaches_a_caller_without_email_once_by_sms(
    settings_for, amqp_url, namespace, smtp_server, fake_sms
):
    settings = settings_for(
        NotifySettings,
        smtp_port=smtp_server.port,
        public_url=PUBLIC_URL,
        **fake_sms.settings,
    )
    mobile = _mobile()
    caller = submitted_event(
        contact=Contact(last_name="YAO", first_names="Jean", phone=mobile, email=None)
    )
    rid, code, now = caller.request_id, caller.code, datetime.now(UTC)
    ids = {"request_id": rid, "code": code}
    link = f"{PUBLIC_URL}/suivre?code={code}"
    validated = RequestValidatedV1(
        **caller.model_dump(exclude={"channel", "theme_id", "place_id"}),
        needs_treatment=True,
        actor=ANALYST,
        decided_at=now,
    )
    events = [
        RequestReformulationRequestedV1(
            **ids, analyst_message="Précisez le guichet.", actor=ANALYST, decided_at=now
        ),
        validated,
        RequestPutOnHoldV1(
            **ids, body_id=BODY_ID, reason="Pièces demandées.", actor=FOCAL, held_at=now
        ),
        RequestTreatedV1(
            **ids, body_id=BODY_ID, message="C'est réglé.", actor=FOCAL, treated_at=now
        ),
        RequestReopenedV1(**ids, body_id=BODY_ID, message="Rien reçu.", reopened_at=now),
        RequestClarificationSentV1(**ids, message="Voici le détail.", actor=ANALYST, sent_at=now),
        RequestClosedV1(**ids, body_id=BODY_ID, closed_at=now),
        RequestRejectedV1(**ids, reason="Hors du champ.", actor=ANALYST, decided_at=now),
    ]
    async with RunningApp(create_app(settings)):
        await publish_event(amqp_url, namespace, caller)
        await fake_sms.wait_for(mobile)
        for event in events:
            message_id = await publish_event(amqp_url, namespace, event)
            # The same event delivered again (a relay's retry): nothing more is sent.
            await publish_event(amqp_url, namespace, event, message_id=message_id)
        # A closing by the citizen's own opinion tells them nothing.
        await publish_event(
            amqp_url,
            namespace,
            RequestClosedV1(**ids, body_id=BODY_ID, opinion=Opinion.SATISFIED, closed_at=now),
        )
        reminder = CodesReminderRequestedV2(
            phone=mobile,
            requests=[RemindedRequest(code=code, nature=caller.nature, submitted_at=now)],
            requested_at=now,
        )
        reminder_id = await publish_event(amqp_url, namespace, reminder)
        await publish_event(amqp_url, namespace, reminder, message_id=reminder_id)
        texts = await fake_sms.wait_for(mobile, count=1 + len(events) + 1)

        async def all_handled() -> bool:
            conn = await asyncpg.connect(settings.database_url)
            try:
                return await conn.fetchval("SELECT count(*) FROM notify.inbox") == 3 + len(events)
            finally:
                await conn.close()

        await eventually(all_handled)
        conn = await asyncpg.connect(settings.database_url)
        try:
            logged = await conn.fetch(
                "SELECT medium, about_message_type, status FROM notify.deliveries"
                " WHERE recipient = $1 ORDER BY created_at",
                mobile,
            )
        finally:
            await conn.close()

    messages = [t.message for t in texts]
    assert len(fake_sms.to(mobile)) == len(messages) == 1 + len(events) + 1
    assert {r["medium"] for r in logged} == {"sms"}
    assert sorted(r["about_message_type"] for r in logged) == sorted(
        [caller.type_name(), *(e.type_name() for e in events), reminder.type_name()]
    )
    link_texts = messages[:-1]
    assert all(m.endswith(link) for m in link_texts)
    said = "\n".join(messages)
    for words in (
        f"votre réclamation est enregistrée. Son code : {code}",
        "est à reformuler",
        "est recevable et transmise à l'organisme concerné",
        "est mise en attente. Motif : Pièces demandées.",
        "l'organisme a répondu",
        "nouveau traitement",
        "l'OSEP vous écrit",
        "est close (sans retour)",
        "n'a pas été jugée recevable",
        f"code(s) de vos demandes : {code}. Suivez-les sur {PUBLIC_URL}/suivre",
    ):
        assert words in said, words
    assert all(sms_texts.is_gsm7(m) and sms_texts.segments(m) == 1 for m in messages)
    assert smtp_server.messages == []  # no address given: no email
