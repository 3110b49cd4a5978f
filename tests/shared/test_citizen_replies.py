"""A citizen's reply treatment could not apply (shared/citizen_replies.py, the event
request.citizen_reply_refused): the reason in the citizen's words for each state the reply may
meet, the sentence of the tracking page and the email, and who hears the event — intake and
notify bind it; stats, triage and treatment are never sent it, so none of them can dead-letter
it as a type they do not know."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.intake.handlers import HANDLERS as INTAKE
from services.notify.handlers import make_handlers
from services.stats import deliveries
from services.stats.handlers import HANDLERS as STATS
from services.treatment.handlers import HANDLERS as TREATMENT
from services.triage.handlers import build_handlers
from services.triage.settings import TriageSettings
from shared.citizen_replies import refusal_reason, refused_sentence
from shared.lifecycle import Status
from shared.messages import CitizenReply, Opinion, RequestCitizenReplyRefusedV1
from shared.service import bindings_of
from shared.topology import EVENTS

AT_THE_BODY = "la requête était de nouveau en cours de traitement par l'organisme"
CLOSED_AT = datetime(2027, 1, 11, 23, 30, tzinfo=UTC)  # Abidjan: UTC all year


@pytest.mark.parametrize(
    ("status", "opinion", "said"),
    [
        (Status.CLOSED, None, "la requête avait été clôturée sans retour le 11/01/2027"),
        (
            Status.CLOSED,
            Opinion.PARTLY_SATISFIED,
            "la requête avait déjà été clôturée le 11/01/2027 avec votre avis "
            "« Partiellement satisfait »",
        ),
        (Status.REOPENED, None, "la requête avait déjà été relancée pour un nouveau traitement"),
        (
            Status.IN_TREATMENT,
            None,
            "la requête était de nouveau en cours de traitement par l'organisme",
        ),
        (
            Status.ON_HOLD,
            None,
            "la requête était de nouveau en cours de traitement par l'organisme",
        ),
        (None, None, "la requête n'était pas connue de l'organisme"),
    ],
)
def test_the_reason_says_what_the_request_had_become(status, opinion, said):
    assert refusal_reason(status, opinion, CLOSED_AT) == said


def test_the_sentence_names_the_reply_and_the_day_it_was_sent():
    sent = datetime(2027, 1, 12, 8, 0, tzinfo=UTC)
    reason = refusal_reason(Status.CLOSED, None, CLOSED_AT)
    assert refused_sentence(CitizenReply.OPINION, sent, reason) == (
        "Votre avis du 12/01/2027 n'a pas pu être pris en compte : la requête avait été "
        "clôturée sans retour le 11/01/2027."
    )
    assert refused_sentence(CitizenReply.REOPENING, sent, reason).startswith(
        "Votre relance du 12/01/2027 n'a pas pu être prise en compte : "
    )


def test_intake_and_notify_hear_it_and_no_other_service_is_sent_it():
    binding = (EVENTS, RequestCitizenReplyRefusedV1.name)
    assert binding in bindings_of(INTAKE)
    assert binding in bindings_of(make_handlers("https://portail.milie.test"))
    for others in (
        {**STATS, **deliveries.HANDLERS},
        build_handlers(TriageSettings()),
        TREATMENT,
    ):
        assert binding not in bindings_of(others)
