"""The tracking page's words and the throttle's keys, without I/O."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from gateway.citizen.tracking import retry_message
from services.intake.throttle import Rule, bucket, client_key
from services.intake.tracking import store, view
from services.intake.tracking.view import STATUS_LABELS, Status, status_label, step_of
from shared import citizen_replies, lifecycle
from shared.messages import CitizenReply

TREATED = datetime(2019, 1, 17, 10, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "label", "step"),
    [
        ("submitted", "En attente de traitement", 1),
        ("reformulation_requested", "Renvoyée pour reformulation", 1),
        ("rejected", "Clôturée : requête non recevable", 4),
        ("validated", "En cours de traitement", 2),
        ("in_treatment", "En cours de traitement", 2),
        ("on_hold", "En cours de traitement (mise en attente)", 2),
        ("acknowledged", "Lue et transmise à l'organisme", 4),
        ("reopened", "Retraitement", 2),
        ("treated", "Traité", 3),
        ("closed", "Clôturée", 4),
    ],
)
def test_every_status_of_the_design_has_its_words_and_step(status, label, step):
    assert status_label(status) == label
    assert step_of(status) == step


def test_no_status_is_left_without_words():
    assert set(STATUS_LABELS) == set(Status)


def test_treated_and_closed_read_like_the_guide():
    assert status_label("treated", treated_at=TREATED) == "Traité le 17/01/2019"
    assert status_label("closed", treated_at=TREATED, opinion="not_satisfied") == (
        "Clôturée — Non satisfait"
    )
    assert status_label("closed", treated_at=TREATED) == "Clôturée sans retour"
    # A status a newer service may add is not shown as a code.
    assert status_label("escalated") == "En cours de traitement"


def test_client_keys():
    assert client_key("203.0.113.9") == "203.0.113.9"
    assert client_key("::ffff:203.0.113.9") == "203.0.113.9"
    # One IPv6 subscriber holds a /64: counted as one client.
    assert client_key("2001:db8:1:2:aaaa::1") == client_key("2001:db8:1:2:ffff::9")
    assert client_key("2001:db8:1:2::1") != client_key("2001:db8:1:3::1")
    assert client_key("inconnue") == client_key(None) == "unknown"


def test_buckets_hide_what_they_count():
    rule = Rule("lookup:email", 10, 900)
    name = bucket(rule, "aya.kouassi@example.ci")
    assert name.startswith("lookup:email:") and "aya" not in name
    assert name != bucket(Rule("reminder:email", 3, 3600), "aya.kouassi@example.ci")


def test_retry_message_in_minutes():
    assert retry_message(1) == "Trop de tentatives. Réessayez dans 1 minute."
    assert retry_message(61) == "Trop de tentatives. Réessayez dans 2 minutes."
    assert retry_message(900) == "Trop de tentatives. Réessayez dans 15 minutes."


def test_codes_read_in_groups_and_addresses_masked():
    from shared.codes import grouped, masked_email, new_code, normalize

    assert grouped("5030529490") == "503 052 9490"
    code = new_code()
    assert normalize(grouped(code)) == code  # the form takes it back as shown
    assert grouped("12345") == "12345"  # not a code: as it is
    assert masked_email("aya.kouassi@example.ci") == "a***@example.ci"
    assert masked_email("pas-une-adresse") == "***"


def test_the_admissibility_date_runs_from_the_last_entry_in_the_queue():
    from datetime import date

    from services.intake.tracking.view import admissibility_deadline
    from shared.working_days import calendar

    submitted = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
    rewritten = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    lines = [
        {"event": "request.submitted", "at": submitted.isoformat()},
        {"event": "request.reformulation_requested", "at": submitted.isoformat()},
        {"event": "request.resubmitted", "at": rewritten.isoformat()},
    ]
    # 15 working days: three weeks, and two more for the Lendemain de la Nuit du Destin (Monday
    # 16 March) and the Fête de fin du Ramadan (Friday 20 March).
    assert admissibility_deadline("submitted", submitted, lines[:1]) == date(2026, 3, 25)
    # From the rewrite, over the same two days.
    assert admissibility_deadline("submitted", submitted, lines) == date(2026, 4, 2)
    # The administrators' value and a day they declared off.
    off = calendar([date(2026, 3, 4)])
    assert admissibility_deadline("submitted", submitted, lines[:1], 5, off) == date(2026, 3, 10)
    # Waiting for nothing of the analysts': no date.
    assert admissibility_deadline("reformulation_requested", submitted, lines[:2]) is None
    assert admissibility_deadline("in_treatment", submitted, lines) is None


_SECOND_PERSON = re.compile(r"\b(vous|votre|vos)\b", re.IGNORECASE)


def test_the_call_centre_reads_each_sentence_about_the_caller_and_the_citizen_as_before():
    """« Suivi d'un appel » (for_operator) speaks of « l'appelant », never « vous »; the
    citizen's own wording is the default and unchanged."""
    at = datetime(2027, 1, 12, 9, 30, tzinfo=UTC)
    E = lifecycle.Event
    request = {"citizen_opinion": "partly_satisfied"}
    lines = {
        E.SUBMITTED: None,
        E.RESUBMITTED: view.resubmitted_sentence(["plan.pdf"]),
        E.REFORMULATION_REQUESTED: view.reformulation_sentence(),
        E.CLARIFICATION_SENT: view.clarification_sentence(),
        E.TREATED: view.treated_sentence(at),
        E.OPINION_GIVEN: view.opinion_sentence("partly_satisfied"),
        E.REOPENED: view.reopened_sentence(),
        E.CLOSED: view.closed_sentence(None),
        E.CITIZEN_ANSWERED: view.citizen_answered_sentence(),
    }
    for event, stored in lines.items():
        line = {"event_type": event.value, "message": stored, "occurred_at": at}
        said = view.caller_sentence(line, request)
        assert said and not _SECOND_PERSON.search(said), (event, said)
        assert "appelant" in said, (event, said)
    resubmitted = {"event_type": E.RESUBMITTED.value, "message": lines[E.RESUBMITTED]}
    assert view.caller_sentence(resubmitted, request).endswith(" Document ajouté : plan.pdf.")
    # A line that speaks to nobody keeps its sentence.
    neutral = {"event_type": E.RESUMED.value, "message": view.resumed_sentence()}
    assert view.caller_sentence(neutral, request) is None
    # The citizen's words, as they were.
    assert view.submitted_sentence() == (
        "Vous avez soumis la requête ; elle attend l'examen de l'analyste."
    )
    assert view.recorded_sentence("reopening", at).startswith("Votre relance a été enregistrée")
    assert view.recorded_sentence("reopening", at, True).startswith("La relance de l'appelant")

    for status in lifecycle.Status:
        assert lifecycle.citizen_banner(status) == lifecycle.CITIZEN_BANNERS[status]
        said = lifecycle.citizen_banner(status, for_operator=True)
        assert said == lifecycle.CALLER_BANNERS[status]
        assert not _SECOND_PERSON.search(said), (status, said)
    for kind, said in lifecycle.CALLER_REPLY_BANNERS.items():
        assert lifecycle.citizen_banner("treated", kind, for_operator=True) == said
        assert not _SECOND_PERSON.search(said)


def test_a_reply_treatment_refused_reads_about_the_caller_and_the_citizen_as_before():
    """request.citizen_reply_refused's line keeps the citizen's sentence (« Votre avis du … »),
    its reason in the citizen's words; the call centre reads it about the caller, the reason
    too, for every reason treatment can give."""
    E, at = lifecycle.Event, datetime(2027, 1, 12, 9, 30, tzinfo=UTC)
    sent, closed = datetime(2027, 1, 10, 8, 0, tzinfo=UTC), datetime(2027, 1, 11, tzinfo=UTC)
    reasons = [
        citizen_replies.refusal_reason(s, o, closed)
        for s, o in [
            (Status.CLOSED, None),
            (Status.CLOSED, "satisfied"),
            (Status.REOPENED, None),
            (Status.IN_TREATMENT, None),
            (Status.SUBMITTED, None),
            (None, None),
        ]
    ] + [citizen_replies.answered_since_reason(closed)]
    request = {"citizen_opinion": None}
    for reply in CitizenReply:
        for reason in reasons:
            stored = citizen_replies.refused_sentence(reply, sent, reason)
            assert stored.startswith(f"Votre {'relance' if reply == 'reopening' else 'avis'} du ")
            line = {"event_type": E.CITIZEN_REPLY_REFUSED.value, "message": stored}
            said = view.caller_sentence(line, request)
            assert said and not _SECOND_PERSON.search(said), (reply, said)
            assert said == citizen_replies.refused_sentence(reply, sent, reason, for_operator=True)
            # The citizen's own view keeps the stored sentence.
            row = {**line, "occurred_at": at, "status": "closed", "detail": None}
            assert view.history_line(row)["label"] == stored
    said = view.caller_sentence(
        {
            "event_type": E.CITIZEN_REPLY_REFUSED.value,
            "message": citizen_replies.refused_sentence(
                CitizenReply.OPINION,
                sent,
                citizen_replies.refusal_reason(Status.CLOSED, "satisfied", closed),
            ),
        },
        request,
    )
    assert said == (
        "L'avis de l'appelant du 10/01/2027 n'a pas pu être pris en compte : la requête avait "
        "déjà été clôturée le 11/01/2027 avec son avis « Satisfait »."
    )
    reopening = citizen_replies.refused_sentence(
        CitizenReply.REOPENING, sent, citizen_replies.answered_since_reason(closed), True
    )
    assert reopening == (
        "La relance de l'appelant du 10/01/2027 n'a pas pu être prise en compte : l'organisme "
        "avait répondu de nouveau le 11/01/2027 : recueillez son avis sur cette nouvelle réponse."
    )
    # A sentence that is not one of these (an older wording) is shown as stored.
    odd = {"event_type": E.CITIZEN_REPLY_REFUSED.value, "message": "Réponse non prise en compte."}
    assert view.caller_sentence(odd, request) is None


def test_a_reply_refused_at_intake_speaks_of_the_caller_to_the_operator_only():
    """The refusals and field errors of a reply (intake's reply endpoint): the citizen's words
    by default, the caller's for a reply taken by phone; the same machine words."""
    for for_operator in (False, True):
        errors = store.check_opinion("", "x" * (store.COMMENT_MAX + 1), for_operator)
        errors += store.check_opinion("bof", None, for_operator)
        errors += store.check_reopening("", for_operator)
        errors += store.check_reopening("x" * (store.MESSAGE_MAX + 1), for_operator)
        assert [e["field"] for e in errors] == [
            "opinion",
            "comment",
            "opinion",
            "message",
            "message",
        ]
        said = [e["message"] for e in errors]
        rows = [
            {
                "status": "treated",
                "reply_kind": "opinion",
                "citizen_opinion": None,
                "treated_at": at,
            }
            for at in [TREATED]
        ] + [
            {
                "status": "treated",
                "reply_kind": "reopening",
                "citizen_opinion": None,
                "treated_at": TREATED,
            },
            {
                "status": "closed",
                "reply_kind": None,
                "citizen_opinion": None,
                "treated_at": TREATED,
            },
            {
                "status": "reopened",
                "reply_kind": None,
                "citizen_opinion": None,
                "treated_at": TREATED,
            },
            {
                "status": "in_treatment",
                "reply_kind": None,
                "citizen_opinion": None,
                "treated_at": None,
            },
        ]
        refusals = [store._refusal(r, lifecycle.Event.OPINION_GIVEN, for_operator) for r in rows]
        assert [r[0] for r in refusals] == [
            "already_given",
            "already_reopened",
            "closed",
            "already_reopened",
            "not_answered",
        ]
        said += [r[1] for r in refusals]
        if for_operator:
            for sentence in said:
                assert not _SECOND_PERSON.search(sentence), sentence
            assert said[0].startswith("Choisissez l'avis de l'appelant : Satisfait")
            assert said[5].startswith("L'appelant a déjà donné son avis")
        else:
            assert said[0].startswith("Choisissez votre avis : Satisfait")
            assert said[5] == "Vous avez déjà donné votre avis sur la réponse du ministère."
