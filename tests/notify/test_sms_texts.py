"""The SMS texts (services/notify/sms_texts.py): each in the GSM-7 alphabet, one segment with a
tracking link of the usual length, never more than two with a long quoted reason."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from services.notify import sms_texts
from services.notify.emails import tracking_link
from shared.messages import (
    Actor,
    Nature,
    RemindedRequest,
    RequestPutOnHoldV1,
    RequestValidatedV1,
)
from tests.support import submitted_event

CODE = "2029392357"
LINK = tracking_link("https://milie.gouv.ci", CODE)
FOCAL = Actor(staff_id="pf-1", role="focal_point", body_id="ministere-budget")


def _held(reason: str) -> RequestPutOnHoldV1:
    return RequestPutOnHoldV1(
        request_id=uuid.uuid4(),
        code=CODE,
        body_id="ministere-budget",
        reason=reason,
        actor=FOCAL,
        held_at=datetime.now(UTC),
    )


def _validated(nature: Nature) -> RequestValidatedV1:
    citizen = submitted_event(nature=nature, code=CODE)
    return RequestValidatedV1(
        **citizen.model_dump(exclude={"channel", "theme_id", "place_id"}),
        needs_treatment=nature.needs_treatment,
        actor=Actor(staff_id="an-1", role="analyst"),
        decided_at=datetime.now(UTC),
    )


def every_text() -> list[str]:
    return [
        *(sms_texts.acknowledgement(submitted_event(nature=n, code=CODE), LINK) for n in Nature),
        *(sms_texts.validated(_validated(n), LINK) for n in Nature),
        sms_texts.reformulation(CODE, LINK),
        sms_texts.rejected(CODE, LINK),
        sms_texts.clarification(CODE, LINK),
        sms_texts.put_on_hold(_held("Pièces demandées."), LINK),
        sms_texts.treated(CODE, LINK),
        sms_texts.citizen_answered(CODE, LINK),
        sms_texts.reopened(CODE, LINK),
        sms_texts.closed_without_return(CODE, LINK),
    ]


@pytest.mark.parametrize("text", every_text())
def test_each_text_is_one_gsm7_segment_with_the_link(text):
    assert sms_texts.is_gsm7(text), [c for c in text if not sms_texts.is_gsm7(c)]
    assert sms_texts.segments(text) == 1, (len(text), text)
    assert text.startswith("Milie : ")
    assert text.endswith(LINK)


def test_a_long_reason_is_cut_to_two_segments_and_written_in_gsm7():
    reason = "Nous attendons « le relevé » de la banque, à fournir avant l’été. " * 10
    text = sms_texts.put_on_hold(_held(reason), LINK)
    assert sms_texts.is_gsm7(text)
    assert sms_texts.segments(text) == 2
    assert '" le relevé "' in text and "avant l'été" in text
    assert "..." in text and text.endswith(LINK)


def test_segments_are_counted_as_the_networks_do():
    assert sms_texts.segments("a" * 160) == 1
    assert sms_texts.segments("a" * 161) == 2
    assert sms_texts.segments("€" * 80) == 1  # two septets each
    assert sms_texts.segments("ê" * 70) == 1  # UCS-2
    assert sms_texts.segments("ê" * 71) == 2


def test_the_forgotten_codes_fit_in_two_segments():
    now = datetime.now(UTC)
    many = [
        RemindedRequest(code=submitted_event().code, nature=Nature.RECLAMATION, submitted_at=now)
        for _ in range(50)
    ]
    text = sms_texts.codes_reminder(many, "https://milie.gouv.ci/suivre")
    assert sms_texts.is_gsm7(text) and sms_texts.segments(text) <= 2
    assert many[0].code in text and many[1].code in text
    assert many[-1].code not in text
