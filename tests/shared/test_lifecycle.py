"""The life cycle's table, walked: every transition the design allows, and every other
(status, event) pair refused. The expected table is written out here again, on purpose: a change
to shared/lifecycle.py's table has to be made twice to pass."""

import itertools
import re
from pathlib import Path

import pytest

from shared import lifecycle, messages
from shared.lifecycle import Event as E
from shared.lifecycle import Opinion as O
from shared.lifecycle import Refused
from shared.lifecycle import Status as S

OPINIONS = (O.SATISFIED, O.PARTLY_SATISFIED, O.NOT_SATISFIED)

# (status, event, keyword arguments, next status)
ALLOWED = [
    (None, E.SUBMITTED, {}, S.SUBMITTED),
    (S.SUBMITTED, E.VALIDATED, {"needs_treatment": True}, S.IN_TREATMENT),
    (S.SUBMITTED, E.VALIDATED, {"needs_treatment": False}, S.ACKNOWLEDGED),
    (S.SUBMITTED, E.REFORMULATION_REQUESTED, {}, S.REFORMULATION_REQUESTED),
    (S.SUBMITTED, E.REJECTED, {}, S.REJECTED),
    (S.SUBMITTED, E.REINDEXED, {}, S.SUBMITTED),
    (S.REFORMULATION_REQUESTED, E.RESUBMITTED, {}, S.SUBMITTED),
    (S.IN_TREATMENT, E.ASSIGNED, {}, S.IN_TREATMENT),
    (S.REOPENED, E.ASSIGNED, {}, S.REOPENED),
    (S.IN_TREATMENT, E.REASSIGNED, {}, S.IN_TREATMENT),
    (S.ON_HOLD, E.REASSIGNED, {}, S.ON_HOLD),
    (S.REOPENED, E.REASSIGNED, {}, S.REOPENED),
    (S.IN_TREATMENT, E.PUT_ON_HOLD, {}, S.ON_HOLD),
    (S.REOPENED, E.PUT_ON_HOLD, {}, S.ON_HOLD),
    (S.ON_HOLD, E.RESUMED, {}, S.IN_TREATMENT),
    (S.IN_TREATMENT, E.TREATED, {}, S.TREATED),
    (S.REOPENED, E.TREATED, {}, S.TREATED),
    (S.IN_TREATMENT, E.DEADLINE_WARNING, {}, S.IN_TREATMENT),
    (S.IN_TREATMENT, E.DEADLINE_MISSED, {}, S.IN_TREATMENT),
    (S.REOPENED, E.DEADLINE_WARNING, {}, S.REOPENED),
    (S.REOPENED, E.DEADLINE_MISSED, {}, S.REOPENED),
    *((S.TREATED, E.OPINION_GIVEN, {"opinion": o}, S.CLOSED) for o in OPINIONS),
    (S.TREATED, E.REOPENED, {}, S.REOPENED),
    (S.TREATED, E.CLOSED, {}, S.CLOSED),
    (S.CLOSED, E.CITIZEN_ANSWERED, {"opinion": O.NOT_SATISFIED}, S.CLOSED),
    (S.CLOSED, E.CLARIFICATION_SENT, {"opinion": O.NOT_SATISFIED}, S.CLOSED),
    (S.CLOSED, E.CLARIFICATION_SENT, {"opinion": O.PARTLY_SATISFIED}, S.CLOSED),
    # A citizen's reply treatment could not apply: told, nothing moves.
    *(
        (s, E.CITIZEN_REPLY_REFUSED, {}, s)
        for s in (S.IN_TREATMENT, S.ON_HOLD, S.REOPENED, S.TREATED, S.CLOSED)
    ),
    (S.REJECTED, E.PERSONAL_DATA_PURGED, {}, S.REJECTED),
    (S.ACKNOWLEDGED, E.PERSONAL_DATA_PURGED, {}, S.ACKNOWLEDGED),
    (S.CLOSED, E.PERSONAL_DATA_PURGED, {}, S.CLOSED),
]
ALLOWED_PAIRS = {(status, event) for status, event, _, _ in ALLOWED}
REFUSED = [
    (status, event)
    for status, event in itertools.product((None, *S), E)
    if (status, event) not in ALLOWED_PAIRS
]
# Rows that hold only with some opinions: the same pair with any other opinion is refused.
REFUSED_OPINIONS = [
    *((S.CLOSED, E.CITIZEN_ANSWERED, o) for o in (None, O.SATISFIED, O.PARTLY_SATISFIED)),
    *((S.CLOSED, E.CLARIFICATION_SENT, o) for o in (None, O.SATISFIED)),
    (S.TREATED, E.OPINION_GIVEN, None),
    (S.TREATED, E.OPINION_GIVEN, "delighted"),
]


@pytest.mark.parametrize(("status", "event", "kwargs", "expected"), ALLOWED)
def test_every_allowed_transition(status, event, kwargs, expected):
    assert lifecycle.next_status(status, event, **kwargs) == expected
    assert lifecycle.allows(status, event, opinion=kwargs.get("opinion"))


def test_the_module_holds_no_more_and_no_fewer_transitions_than_here():
    rows = {
        (t.source, t.event, t.needs_treatment, frozenset(t.opinions or ()), t.target)
        for t in lifecycle.TRANSITIONS
    }
    expected = set()
    for status, event, kwargs, target in ALLOWED:
        opinions = {kwargs["opinion"]} if event == E.OPINION_GIVEN else set()
        if event == E.CITIZEN_ANSWERED:
            opinions = {O.NOT_SATISFIED}
        if event == E.CLARIFICATION_SENT:
            opinions = {O.NOT_SATISFIED, O.PARTLY_SATISFIED}
        needs = kwargs.get("needs_treatment")
        expected.add((status, event, needs, frozenset(opinions), target))
    # opinion_given is one row for the three opinions.
    rows = {r for r in rows if r[1] != E.OPINION_GIVEN}
    expected = {r for r in expected if r[1] != E.OPINION_GIVEN}
    assert rows == expected


@pytest.mark.parametrize(("status", "event"), REFUSED)
def test_every_other_pair_is_refused(status, event):
    with pytest.raises(Refused) as refused:
        lifecycle.next_status(status, event, needs_treatment=True, opinion=O.NOT_SATISFIED)
    assert refused.value.status == status and refused.value.event == event
    assert str(event) in str(refused.value)
    assert not lifecycle.allows(status, event, opinion=O.NOT_SATISFIED)


@pytest.mark.parametrize(("status", "event", "opinion"), REFUSED_OPINIONS)
def test_a_row_kept_for_some_opinions_refuses_the_others(status, event, opinion):
    with pytest.raises(Refused, match="is refused for a request"):
        lifecycle.next_status(status, event, opinion=opinion)
    assert not lifecycle.allows(status, event, opinion=opinion)


def test_the_refusal_says_what_was_asked_and_where_it_is_allowed():
    with pytest.raises(Refused) as refused:
        lifecycle.next_status(S.ON_HOLD, E.TREATED)
    assert str(refused.value) == (
        "request.treated is refused for a request on_hold (allowed from: in_treatment, reopened)"
    )


def test_validation_needs_the_natures_branch():
    with pytest.raises(TypeError):
        lifecycle.next_status(S.SUBMITTED, E.VALIDATED)
    with pytest.raises(TypeError):
        lifecycle.status_after(E.VALIDATED)
    assert lifecycle.after_validation(True) == S.IN_TREATMENT
    assert lifecycle.after_validation(False) == S.ACKNOWLEDGED
    for nature in messages.Nature:
        expected = S.IN_TREATMENT if nature.needs_treatment else S.ACKNOWLEDGED
        assert lifecycle.after_validation(nature.needs_treatment) == expected


@pytest.mark.parametrize("event", list(E))
def test_an_event_leads_to_one_status_whatever_the_status_before(event):
    """What lets a view apply events in the order they come (status_after)."""
    for branch in (True, False) if event == E.VALIDATED else (None,):
        rows = [t for t in lifecycle.TRANSITIONS if t.event == event]
        rows = [t for t in rows if t.needs_treatment in (None, branch)]
        moves = {t.target for t in rows if not t.keeps}
        assert not moves or all(not t.keeps for t in rows), f"{event} both moves and keeps"
        assert len(moves) <= 1
        after = lifecycle.status_after(event, needs_treatment=branch)
        assert after == (next(iter(moves)) if moves else None)


def test_every_event_and_status_of_the_design_is_in_the_table():
    assert {t.event for t in lifecycle.TRANSITIONS} == set(E)
    reached = {t.target for t in lifecycle.TRANSITIONS}
    # validated is the analysts' word for « past them »: the table sends it on by nature.
    assert reached == set(S) - {S.VALIDATED}


def test_the_events_that_exist_are_named_as_their_contracts():
    names = {c.name for c in messages.CONTRACTS.values() if c.name.startswith("request.")}
    assert names <= {e.value for e in E}
    assert E.of_kind("clarification_sent") == E.CLARIFICATION_SENT
    assert E.REFORMULATION_REQUESTED.kind == "reformulation_requested"


def test_a_closed_request_never_moves_again():
    for t in lifecycle.TRANSITIONS:
        if t.source in lifecycle.CLOSED_STATUSES:
            assert t.keeps, t
    assert {s for s in S if lifecycle.is_closed(s)} == {S.REJECTED, S.ACKNOWLEDGED, S.CLOSED}
    assert all(lifecycle.allows(s, E.PERSONAL_DATA_PURGED) for s in lifecycle.CLOSED_STATUSES)


def test_what_each_part_may_do():
    assert [s for s in S if lifecycle.may_decide(s)] == [S.SUBMITTED]
    assert [s for s in S if lifecycle.may_rewrite(s)] == [S.REFORMULATION_REQUESTED]
    assert lifecycle.may_clarify(S.CLOSED, O.NOT_SATISFIED)
    assert lifecycle.may_clarify(S.CLOSED, O.PARTLY_SATISFIED)
    assert not lifecycle.may_clarify(S.CLOSED, O.SATISFIED)
    assert not lifecycle.may_clarify(S.CLOSED, None)
    assert not lifecycle.may_clarify(S.TREATED, O.NOT_SATISFIED)


def test_every_status_has_its_words_and_step():
    assert set(lifecycle.CITIZEN_LABELS) == set(S)
    assert set(lifecycle.STEP_OF) == set(S)
    assert {n for n, _, _ in lifecycle.STEPS} == set(lifecycle.STEP_OF.values())
    assert [lifecycle.OPINION_LABELS[o] for o in OPINIONS] == [
        "Satisfait",
        "Partiellement satisfait",
        "Non satisfait",
    ]
    assert lifecycle.citizen_label("closed", treated_day="17/01/2019", opinion="satisfied") == (
        "Clôturée — Satisfait"
    )
    assert lifecycle.citizen_label("closed", treated_day="17/01/2019") == "Clôturée sans retour"
    assert lifecycle.citizen_label("closed") == "Clôturée"
    assert lifecycle.citizen_label("treated", treated_day="17/01/2019") == "Traité le 17/01/2019"
    assert lifecycle.citizen_label("escalated") == "En cours de traitement"
    assert lifecycle.step_of("escalated") is None


def test_the_queue_of_the_analysts():
    Q = lifecycle.QueueStatus
    assert set(lifecycle.ANALYST_LABELS) == set(Q) == set(lifecycle.ANALYST_FILTERS)
    assert lifecycle.queue_status(S.SUBMITTED) == Q.WAITING
    assert lifecycle.queue_status(S.REJECTED) == Q.REJECTED
    assert lifecycle.queue_status(S.REFORMULATION_REQUESTED) == Q.REFORMULATION_REQUESTED
    for past in (S.VALIDATED, S.IN_TREATMENT, S.ACKNOWLEDGED, S.TREATED, S.CLOSED):
        assert lifecycle.queue_status(past) == Q.VALIDATED
    for queued in Q:
        assert lifecycle.queue_status(lifecycle.status_of_queue(queued)) == queued
    assert set(lifecycle.ANALYST_OUTCOMES) == {
        lifecycle.after_validation(True),
        lifecycle.after_validation(False),
    }


def test_a_queue_item_is_where_the_body_left_it_not_at_the_analysts_decision():
    """The analysts' request page: « Validée » is the decision, not where the request is."""
    Q, at = lifecycle.QueueStatus, lifecycle.status_of_queue_item
    assert at(Q.WAITING, needs_treatment=True) == S.SUBMITTED
    assert at(Q.REJECTED, needs_treatment=True, body_status=None) == S.REJECTED
    assert at(Q.VALIDATED, needs_treatment=True) == S.IN_TREATMENT
    assert at(Q.VALIDATED, needs_treatment=False) == S.ACKNOWLEDGED
    for body in (S.TREATED, S.REOPENED, S.CLOSED):
        assert at(Q.VALIDATED, needs_treatment=True, body_status=body) == body
    said = lifecycle.staff_label
    assert said(S.SUBMITTED) == lifecycle.AWAITING_TRIAGE
    assert said(S.CLOSED, opinion=O.NOT_SATISFIED) == "Clôturée — Non satisfait"
    assert said(S.CLOSED) == lifecycle.CLOSED_WITHOUT_OPINION == "Clôturée sans retour"
    assert said(S.REOPENED) == lifecycle.CITIZEN_LABELS[S.REOPENED]


def test_the_diagram_in_docs_is_the_tables():
    assert lifecycle.check() == [], "run: python -m shared.lifecycle --diagram"
    drawn = lifecycle.diagram()
    assert "stateDiagram-v2" in drawn
    for t in lifecycle.TRANSITIONS:
        assert f"`{t.event}`" in drawn


def test_a_diagram_that_differs_from_the_table_is_caught(tmp_path):
    path = tmp_path / "lifecycle.md"
    assert lifecycle.check(path) == [
        "lifecycle.md: missing (run python -m shared.lifecycle --diagram)"
    ]
    path.write_text(lifecycle.diagram().replace("on_hold --> in_treatment", "on_hold --> closed"))
    assert lifecycle.check(path) == [
        "lifecycle.md: differs from the table (run python -m shared.lifecycle --diagram)"
    ]
    path.write_text(lifecycle.diagram())
    assert lifecycle.check(path) == []


def test_no_other_module_spells_a_status_or_its_label():
    """DESIGN.md: « nothing else spells a status ». Statuses that are also ordinary words
    (submitted, closed…) and the queue's « waiting » (also a page's key) are left out."""
    root = Path(lifecycle.__file__).resolve().parent.parent
    words = {
        S.REFORMULATION_REQUESTED,
        S.IN_TREATMENT,
        S.ACKNOWLEDGED,
        S.ON_HOLD,
        *O,
    }
    labels = {
        *lifecycle.CITIZEN_LABELS.values(),
        *lifecycle.OPINION_LABELS.values(),
        *lifecycle.ANALYST_LABELS.values(),
        *lifecycle.ANALYST_FILTERS.values(),
        *lifecycle.ANALYST_OUTCOMES.values(),
        *lifecycle.ANALYST_EVENT_LABELS.values(),
        *lifecycle.STATS_COLUMNS.values(),
    }
    either = "|".join(re.escape(w) for w in sorted({*words, *labels}, key=len, reverse=True))
    spelled = re.compile(f"[\"']({either})[\"']")
    found = [
        f"{path.relative_to(root)}: {match.group(1)}"
        for folder in ("services", "gateway")
        for path in sorted((root / folder).rglob("*.py"))
        for match in spelled.finditer(path.read_text())
    ]
    assert found == []
