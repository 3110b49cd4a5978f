"""Treatment's clock closes a request « sans retour » and the citizen's tracking view says so:
both services running, the closing leaving treatment through its outbox and reaching intake over
the broker, at a moment the test chooses (``clock.sweep``)."""

from __future__ import annotations

from datetime import timedelta

from services.treatment import actions, clock
from services.treatment.settings import TreatmentSettings
from tests.support import eventually, publish_event
from tests.track.test_treatment_events import (  # noqa: F401  (the fixtures)
    AGENT,
    _lines,
    intake,
    intake_db,
    treatment,
    validated_event,
)


async def test_the_clock_closes_without_return_and_the_citizen_reads_it(
    intake,  # noqa: F811
    treatment,  # noqa: F811
    intake_db,  # noqa: F811
    amqp_url,
    namespace,
):
    request_id, code, email = await intake.submit()
    await publish_event(amqp_url, namespace, validated_event(request_id=request_id, code=code))
    await eventually(lambda: treatment.row(code))
    who = actions.Who(AGENT, "10.0.0.7")
    await actions.answer(treatment.pool, code, who, message="Réglé.", version=1)
    treated_at = (await treatment.row(code))["treated_at"]

    settings = TreatmentSettings(no_opinion_days=30)
    swept = await clock.sweep(treatment.pool, settings, treated_at + timedelta(days=31))
    assert swept.closed == [code]

    async def closed():
        return await intake_db.fetchval(
            "SELECT true FROM request_history WHERE request_id = $1 AND event_type = $2",
            request_id,
            "request.closed",
        )

    await eventually(closed)
    view = await intake.view(code, email)
    assert view["status_label"] == "Clôturée sans retour"
    assert view["citizen_opinion"] is None
    assert _lines(view)[-1] == "La requête est clôturée sans retour de votre part."
