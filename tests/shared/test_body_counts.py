"""The dashboard's cards (shared.body_counts) against the life cycle's table: what they count
without naming a nature is what the réclamations and demandes d'information alone reach."""

from __future__ import annotations

from shared import body_counts
from shared.lifecycle import Status
from shared.messages import Nature


def test_only_the_natures_to_treat_are_awaited_or_answered_by_the_body():
    for nature in Nature:
        reached = body_counts.reached_by(nature)
        answered = set(body_counts.AWAITING_ANSWER) | set(body_counts.ANSWERED)
        if nature.needs_treatment:
            assert answered <= reached, nature
        else:
            assert not answered & reached, nature
            assert Status.ACKNOWLEDGED in reached


def test_every_card_counts_requests_the_body_received():
    received = set(body_counts.RECEIVED)
    assert Status.SUBMITTED not in received and Status.REJECTED not in received
    for name, card in body_counts.CARDS.items():
        assert set(card.statuses) <= received, name
        # How a request ended is known once it is closed, and it stays closed.
        assert card.outcomes is None or card.statuses == (Status.CLOSED,), name
