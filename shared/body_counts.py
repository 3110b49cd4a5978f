"""The focal point's « Tableau de bord », once: which of a body's requests each card counts.

Stats counts them (``services/stats/body_dashboard.py``: the figures) and treatment lists them
(``services/treatment/focal_api.py``: the list each figure leads to), both from :data:`CARDS`,
so that a card's figure and its list's total are the same requests. Both apply the dashboard's
period « PERIODE DU … au … » to the day the request was *submitted* (the citizen's day, kept by
a resubmission): stats' ``daily_counts.day``, treatment's ``submitted_at``.

A card counts a body's requests in one of ``statuses`` today, of one of ``natures`` (None: any),
and, for a closed request, by how it ended (``outcomes``: an opinion, or None for « sans retour »;
None: not a criterion). Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.lifecycle import (
    TRANSITIONS,
    Event,
    QueueStatus,
    Status,
    allows,
    queue_status,
)
from shared.messages import Nature, Opinion


@dataclass(frozen=True)
class Counted:
    """Which of a body's requests a card counts (and its list holds)."""

    statuses: tuple[Status, ...]
    natures: tuple[Nature, ...] | None = None
    outcomes: tuple[Opinion | None, ...] | None = None


# Past the analysts: what the body received (every status the analysts' queue calls « Validée »).
RECEIVED = tuple(s for s in Status if queue_status(s) == QueueStatus.VALIDATED)
# Waiting for the body's answer: in treatment, on hold, reopened (« Retraitement »). ``validated``
# never lasts: the table sends the request on at once by its nature.
AWAITING_ANSWER = (Status.IN_TREATMENT, Status.ON_HOLD, Status.REOPENED)
# Answered: the opinion awaited, or closed (a reopened request is to treat again until answered).
ANSWERED = (Status.TREATED, Status.CLOSED)
# The opinions that let the body answer the citizen again (« Insatisfaits »): « Non satisfait ».
UNSATISFIED = tuple(o for o in Opinion if allows(Status.CLOSED, Event.CITIZEN_ANSWERED, opinion=o))


def reached_by(nature: Nature) -> frozenset[Status]:
    """Every status the life cycle's table can bring a request of ``nature`` to. Réclamations
    and demandes d'information alone reach :data:`AWAITING_ANSWER` and :data:`ANSWERED`, so
    the cards « Réclamations à traiter » and « Réclamations traitées » (which the guide's words
    name after the réclamations, and which count the demandes d'information too) need no nature
    of their own: tests/shared/test_body_counts.py holds the table to it."""
    reached: set[Status] = set()
    frontier: list[Status | None] = [None]
    while frontier:
        source = frontier.pop()
        for t in TRANSITIONS:
            if t.source != source or t.target in reached:
                continue
            if t.needs_treatment is not None and t.needs_treatment != nature.needs_treatment:
                continue
            reached.add(t.target)
            frontier.append(t.target)
    return frozenset(reached)


# The cards by stats' field name (services/stats/body_dashboard.py), in the guide's order, but the
# natures' « … validées » (:func:`of_nature`).
CARDS: dict[str, Counted] = {
    # « Total requêtes »: every request past the analysts, any nature.
    "total": Counted(RECEIVED),
    # « Réclamations à traiter » (réclamations and demandes d'information).
    "to_treat": Counted(AWAITING_ANSWER),
    # « Réclamations traitées »: answered, treated or closed.
    "treated": Counted(ANSWERED),
    # « Avis attendus »: answered, the citizen's opinion awaited.
    "opinions_expected": Counted((Status.TREATED,)),
    # « Avis exprimés »: closed with the citizen's opinion, whatever it is.
    "opinions_given": Counted((Status.CLOSED,), outcomes=tuple(Opinion)),
    # « Avis d'insatisfaction »: closed « Non satisfait », the requests of « Insatisfaits ».
    "dissatisfied": Counted((Status.CLOSED,), outcomes=UNSATISFIED),
    # « Sans retour »: closed by the clock, no opinion given.
    "without_opinion": Counted((Status.CLOSED,), outcomes=(None,)),
}


def of_nature(nature: Nature) -> Counted:
    """« Réclamations / Suggestions / Observations / Motions validées » (and demandes
    d'information): the part of « Total requêtes » of that nature."""
    return Counted(RECEIVED, (nature,))
