"""The analysts' validation reaches the body: triage and treatment running side by side on the
broker, as in production (no handler called by hand)."""

from shared.messages import Nature
from tests.support import eventually, submitted_event
from tests.treatment.conftest import AGENT, BODY
from tests.triage.conftest import triage  # noqa: F401  (the fixture)


async def test_a_validated_reclamation_is_in_the_bodys_en_cours(treatment, triage):  # noqa: F811
    reclamation = submitted_event(body_id=BODY)
    suggestion = submitted_event(body_id=BODY, nature=Nature.SUGGESTION)
    for event in (reclamation, suggestion):
        await triage.queued(event)
        status, _ = await triage.api.post(
            f"/queue/{event.code}/validate", {"message": "Transmise à l'organisme."}
        )
        assert status == 200

    async def both_arrived():
        rows = [await treatment.row(e.code) for e in (reclamation, suggestion)]
        return rows if all(rows) else None

    rows = await eventually(both_arrived)
    assert [r["status"] for r in rows] == ["in_treatment", "acknowledged"]
    assert rows[0]["analyst_message"] == "Transmise à l'organisme."
    status, body = await treatment.api.get("/requests", identity=AGENT)
    assert [item["code"] for item in body["items"]] == [reclamation.code]
    # The body's agents see the citizen's contact as the analyst passed it on (« Contact »).
    assert body["items"][0]["contact"]["email"] == reclamation.contact.email
