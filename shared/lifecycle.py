"""The life of a request, once: its statuses and their French labels, the citizen guide's steps,
the opinions, and the table of which event moves a request from which status to which
(DESIGN.md, « The life of a request »). Every service and the gateway read it; nothing else
spells a status or its label. Pure: no I/O.

- :func:`next_status` judges an event against the table (treatment's actions, the analysts'
  decisions) and raises :class:`Refused` for a transition the table does not hold;
- :func:`status_after` is what an event leads to whatever came before, for the views that follow
  the events in the order they arrive (intake's tracking view, stats) without judging them;
- ``may_*`` and :func:`is_closed` are the questions the parts ask, answered from the table.

Who holds a request (taken in charge, reassigned) is not a status: it is the assignee, a field of
treatment's; the citizen reads « En cours de traitement » either way and the statistics do not
split it. ``validated`` is the analysts' word for a request past their decision: the table sends
it on at once to ``in_treatment`` or ``acknowledged`` by its nature.

``python -m shared.lifecycle --diagram`` writes ``docs/lifecycle.md`` (a Mermaid state diagram
and the whole table, drawn from :data:`TRANSITIONS`); ``--check`` fails when the file differs
from what the table draws.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from shared.messages import (
    NATURE_LABELS,
    Channel,
    Nature,
    Opinion,
    RequestAssignedV1,
    RequestCitizenAnsweredV1,
    RequestCitizenReplyRefusedV1,
    RequestClarificationSentV1,
    RequestClosedV1,
    RequestDeadlineMissedV1,
    RequestDeadlineWarningV1,
    RequestOpinionGivenV1,
    RequestPersonalDataPurgedV1,
    RequestPutOnHoldV1,
    RequestReassignedV1,
    RequestReformulationRequestedV1,
    RequestReindexedV1,
    RequestRejectedV1,
    RequestReopenedV1,
    RequestResubmittedV1,
    RequestResumedV1,
    RequestSubmittedV1,
    RequestTreatedV1,
    RequestValidatedV1,
)

DIAGRAM = Path(__file__).resolve().parent.parent / "docs" / "lifecycle.md"


class Status(StrEnum):
    """Every status of a request, as the databases store it."""

    SUBMITTED = "submitted"
    REFORMULATION_REQUESTED = "reformulation_requested"
    REJECTED = "rejected"
    VALIDATED = "validated"
    IN_TREATMENT = "in_treatment"
    ACKNOWLEDGED = "acknowledged"
    ON_HOLD = "on_hold"
    TREATED = "treated"
    REOPENED = "reopened"
    CLOSED = "closed"


__all__ = ["Opinion"]  # defined with the contracts that carry it; read here with the rest


class Event(StrEnum):
    """Every event that tells of a request's life: the routing key, without the version."""

    SUBMITTED = RequestSubmittedV1.name
    RESUBMITTED = RequestResubmittedV1.name
    VALIDATED = RequestValidatedV1.name
    REFORMULATION_REQUESTED = RequestReformulationRequestedV1.name
    REJECTED = RequestRejectedV1.name
    REINDEXED = RequestReindexedV1.name
    CLARIFICATION_SENT = RequestClarificationSentV1.name
    # Treatment's.
    ASSIGNED = RequestAssignedV1.name
    PUT_ON_HOLD = RequestPutOnHoldV1.name
    RESUMED = RequestResumedV1.name
    REASSIGNED = RequestReassignedV1.name
    TREATED = RequestTreatedV1.name
    OPINION_GIVEN = RequestOpinionGivenV1.name
    REOPENED = RequestReopenedV1.name
    CLOSED = RequestClosedV1.name
    CITIZEN_ANSWERED = RequestCitizenAnsweredV1.name
    # A citizen's reply intake recorded and treatment could not apply (the status stays).
    CITIZEN_REPLY_REFUSED = RequestCitizenReplyRefusedV1.name
    # The clock's.
    DEADLINE_WARNING = RequestDeadlineWarningV1.name
    DEADLINE_MISSED = RequestDeadlineMissedV1.name
    # Intake's purge of the citizen's personal data, a while after closure.
    PERSONAL_DATA_PURGED = RequestPersonalDataPurgedV1.name

    @property
    def kind(self) -> str:
        """The name without ``request.``: triage's history kinds (``validated``)."""
        return self.value.removeprefix("request.")

    @classmethod
    def of_kind(cls, kind: str) -> Event:
        return cls("request." + kind)


@dataclass(frozen=True)
class Transition:
    """One row of the table: ``event`` moves a request from ``source`` to ``target`` (the same
    status for an event that keeps it). ``source`` None: the request does not exist yet.

    ``needs_treatment`` (request.validated) picks the nature's branch; ``opinions`` limits the row
    to these opinions: the one given (request.opinion_given), or the one a closed request carries.
    """

    source: Status | None
    event: Event
    target: Status
    needs_treatment: bool | None = None
    opinions: frozenset[Opinion | None] | None = None
    note: str = ""

    def matches(self, needs_treatment: bool | None, opinion: str | None) -> bool:
        if self.needs_treatment is not None and needs_treatment != self.needs_treatment:
            return False
        return self.opinions is None or opinion in self.opinions

    @property
    def keeps(self) -> bool:
        return self.source == self.target


S, E = Status, Event  # short names for the table
_EVERY_OPINION = frozenset(Opinion)
_UNSATISFIED = frozenset({Opinion.NOT_SATISFIED})
# « Si votre avis est autre que satisfait, l'analyste peut vous envoyer un message de
# clarification » (the citizen guide), « Non satisfait » or « Partiellement satisfait ».
_NOT_FULLY_SATISFIED = frozenset({Opinion.NOT_SATISFIED, Opinion.PARTLY_SATISFIED})


def _keeps(statuses: Iterable[Status], *events: Event, **kw) -> list[Transition]:
    return [Transition(s, e, s, **kw) for s in statuses for e in events]


# The design's table. The answer's deadline runs in_treatment and reopened, not on hold.
TRANSITIONS: tuple[Transition, ...] = (
    Transition(None, E.SUBMITTED, S.SUBMITTED),
    # The analysts (triage).
    Transition(S.SUBMITTED, E.VALIDATED, S.IN_TREATMENT, needs_treatment=True),
    Transition(S.SUBMITTED, E.VALIDATED, S.ACKNOWLEDGED, needs_treatment=False),
    Transition(S.SUBMITTED, E.REFORMULATION_REQUESTED, S.REFORMULATION_REQUESTED),
    Transition(S.SUBMITTED, E.REJECTED, S.REJECTED, note="with its reason"),
    Transition(S.SUBMITTED, E.REINDEXED, S.SUBMITTED, note="another body or theme"),
    Transition(S.REFORMULATION_REQUESTED, E.RESUBMITTED, S.SUBMITTED, note="citizen rewrites"),
    # The body's focal point (treatment).
    *_keeps((S.IN_TREATMENT, S.REOPENED), E.ASSIGNED, note="taken in charge"),
    *_keeps((S.IN_TREATMENT, S.ON_HOLD, S.REOPENED), E.REASSIGNED),
    Transition(S.IN_TREATMENT, E.PUT_ON_HOLD, S.ON_HOLD, note="deadline paused"),
    Transition(S.REOPENED, E.PUT_ON_HOLD, S.ON_HOLD, note="deadline paused"),
    Transition(S.ON_HOLD, E.RESUMED, S.IN_TREATMENT),
    Transition(S.IN_TREATMENT, E.TREATED, S.TREATED, note="« avis attendu »"),
    Transition(S.REOPENED, E.TREATED, S.TREATED, note="« avis attendu »"),
    *_keeps((S.IN_TREATMENT, S.REOPENED), E.DEADLINE_WARNING, E.DEADLINE_MISSED),
    # The citizen's answer to the answer, and the clock's when none comes.
    Transition(S.TREATED, E.OPINION_GIVEN, S.CLOSED, opinions=_EVERY_OPINION),
    Transition(S.TREATED, E.REOPENED, S.REOPENED, note="« Retraitement »"),
    Transition(S.TREATED, E.CLOSED, S.CLOSED, note="no opinion after N days, « sans retour »"),
    # « Insatisfaits »: the focal point may answer again; the analyst may clarify to any citizen
    # not fully satisfied.
    *_keeps((S.CLOSED,), E.CITIZEN_ANSWERED, opinions=_UNSATISFIED),
    *_keeps((S.CLOSED,), E.CLARIFICATION_SENT, opinions=_NOT_FULLY_SATISFIED),
    # A reply the citizen sent for an answer that the state no longer takes (closed « sans
    # retour » while it was on its way, reopened meanwhile): told to the citizen, nothing moves.
    *_keeps(
        (S.IN_TREATMENT, S.ON_HOLD, S.REOPENED, S.TREATED, S.CLOSED),
        E.CITIZEN_REPLY_REFUSED,
        note="the citizen's opinion or « Relancer » not applied, told to them",
    ),
    # Personal data go a while after closure; the code, milestones and counts stay.
    *_keeps((S.REJECTED, S.ACKNOWLEDGED, S.CLOSED), E.PERSONAL_DATA_PURGED),
)


class Refused(ValueError):
    """The table holds no transition for this event from this status (and opinion)."""

    def __init__(self, status: str | None, event: str, opinion: str | None = None) -> None:
        self.status, self.event, self.opinion = status, event, opinion
        allowed = sorted({t.source or "not yet submitted" for t in TRANSITIONS if t.event == event})
        with_opinion = f" with opinion {opinion}" if opinion else ""
        super().__init__(
            f"{event} is refused for a request {status or 'not yet submitted'}{with_opinion}"
            f" (allowed from: {', '.join(allowed) or 'nowhere'})"
        )


def _known(value: str | None, kind: type[StrEnum]) -> StrEnum | None:
    if value is None:
        return None
    try:
        return kind(value)
    except ValueError:
        return None


def next_status(
    status: str | None,
    event: str,
    *,
    needs_treatment: bool | None = None,
    opinion: str | None = None,
) -> Status:
    """The status ``event`` leaves a request in ``status`` in (None: not submitted yet).

    ``needs_treatment``: request.validated's branch (``Nature.needs_treatment``); ``opinion``:
    the opinion given (request.opinion_given) or the one the closed request carries.
    Raises :class:`Refused` when the table holds no such transition."""
    rows = [t for t in TRANSITIONS if t.source == status and t.event == event]
    if any(t.needs_treatment is not None for t in rows) and needs_treatment is None:
        raise TypeError(f"{event} needs needs_treatment to choose the next status")
    for row in rows:
        if row.matches(needs_treatment, opinion):
            return row.target
    raise Refused(status, event, opinion)


def allows(status: str | None, event: str, *, opinion: str | None = None) -> bool:
    """Whether the table lets ``event`` happen to a request in ``status`` (with ``opinion``)."""
    return any(
        t.source == status and t.event == event and (t.opinions is None or opinion in t.opinions)
        for t in TRANSITIONS
    )


def status_after(event: str, *, needs_treatment: bool | None = None) -> Status | None:
    """The status ``event`` leads to whatever the status before; None for an event that keeps
    it (a re-index, a reminder, a clarification). For views that apply events as they come and
    do not judge them (an event may arrive after a later one)."""
    moves = [t for t in TRANSITIONS if t.event == event and not t.keeps]
    if any(t.needs_treatment is not None for t in moves):
        if needs_treatment is None:
            raise TypeError(f"{event} needs needs_treatment to choose the next status")
        moves = [t for t in moves if t.needs_treatment == needs_treatment]
    # One target per event and branch: tests/shared/test_lifecycle.py holds the table to it.
    return moves[0].target if moves else None


def after_validation(needs_treatment: bool) -> Status:
    """in_treatment for a réclamation or a demande d'information; acknowledged (read and
    forwarded to the body) for the other natures."""
    return next_status(Status.SUBMITTED, Event.VALIDATED, needs_treatment=needs_treatment)


# A closed request waits for nothing more: its data may be purged.
CLOSED_STATUSES = frozenset({Status.REJECTED, Status.ACKNOWLEDGED, Status.CLOSED})


def is_closed(status: str) -> bool:
    return status in CLOSED_STATUSES


def may_decide(status: str) -> bool:
    """Validate, send back, reject, re-index: only while the request waits for an analyst."""
    return allows(status, Event.VALIDATED)


def may_rewrite(status: str) -> bool:
    """The citizen may rewrite the message (« Modifier ») of a request sent back to them."""
    return allows(status, Event.RESUBMITTED)


def may_clarify(status: str, opinion: str | None) -> bool:
    """An analyst's clarification goes to a citizen not (fully) satisfied with the body's
    answer: a request closed « Non satisfait » or « Partiellement satisfait »."""
    return allows(status, Event.CLARIFICATION_SENT, opinion=opinion)


# -- the citizen's words ------------------------------------------------------------------------

OPINION_LABELS = {
    Opinion.SATISFIED: "Satisfait",
    Opinion.PARTLY_SATISFIED: "Partiellement satisfait",
    Opinion.NOT_SATISFIED: "Non satisfait",
}

# « Niveau d'avancement » on the tracking page. TREATED and CLOSED read with the date and the
# opinion when known: see citizen_label().
CITIZEN_LABELS = {
    Status.SUBMITTED: "En attente de traitement",
    Status.REFORMULATION_REQUESTED: "Renvoyée pour reformulation",
    Status.REJECTED: "Clôturée : requête non recevable",
    Status.VALIDATED: "En cours de traitement",
    Status.IN_TREATMENT: "En cours de traitement",
    Status.ACKNOWLEDGED: "Lue et transmise à l'organisme",
    Status.ON_HOLD: "En cours de traitement (mise en attente)",
    Status.TREATED: "Traité",
    Status.REOPENED: "Retraitement",
    Status.CLOSED: "Clôturée",
}


def opinion_label(opinion: str | None) -> str | None:
    known = _known(opinion, Opinion)
    return OPINION_LABELS[known] if known else None


def citizen_label(
    status: str, *, treated_day: str | None = None, opinion: str | None = None
) -> str:
    """« Niveau d'avancement »: ``Traité le 17/01/2019``, ``Clôturée — Non satisfait``,
    ``Clôturée sans retour``… ``treated_day`` is the answer's day as the page writes it. A
    status this module does not know (a newer service's) reads « En cours de traitement »
    rather than as a code."""
    known = _known(status, Status)
    if known is None:
        return CITIZEN_LABELS[Status.IN_TREATMENT]
    if known == Status.TREATED and treated_day:
        return f"Traité le {treated_day}"
    if known == Status.CLOSED:
        if said := opinion_label(opinion):
            return f"Clôturée — {said}"
        if treated_day:
            return CLOSED_WITHOUT_OPINION
    return CITIZEN_LABELS[known]


# Closed at the end of the opinion's window, the citizen silent (request.closed).
CLOSED_WITHOUT_OPINION = "Clôturée sans retour"


# « Comprendre les étapes de traitement », in the citizen guide's words: number, title, text.
STEPS = (
    (
        1,
        "Attente de traitement",
        "Cette étape concerne les nouvelles soumissions ou les rejets pour reformulation. Les "
        "requêtes ne quittent cette étape que lorsqu'elles sont jugées recevables par "
        "l'analyste. Seules les requêtes validées passent à l'étape suivante. Quant aux "
        "Observations, Suggestions et Motions de félicitations, elles sont déclarées lues et "
        "mises à disposition de l'organisme indexé pour prise en compte.",
    ),
    (
        2,
        "En cours de traitement",
        "La réclamation ou la demande d'information validée par l'analyste attend son "
        "traitement effectif par l'organisme indexé. Le Point focal de l'organisme est chargé "
        "de la traiter et de vous notifier sa réponse par email : vous lisez alors le message "
        "du ministère.",
    ),
    (
        3,
        "Avis du citoyen",
        "Après la réponse du ministère, vous vous prononcez (Satisfait, Partiellement satisfait "
        "ou Non satisfait) sur la qualité du service reçu, ou vous relancez la requête pour un "
        "nouveau traitement. Si votre avis est autre que satisfait, l'analyste peut vous envoyer "
        "un message de clarification : lisez-le dans « Réponse de l'analyste ».",
    ),
    (
        4,
        "Requête clôturée",
        "Votre requête est terminée : il n'y a plus de réponse à attendre. C'est le cas d'une "
        "requête jugée non recevable par l'analyste (vous pouvez en soumettre une nouvelle), "
        "d'une Observation, Suggestion ou Motion de félicitations lue et transmise à "
        "l'organisme pour prise en compte, et d'une requête clôturée après votre avis.",
    ),
)

# The guide's step of each status. A request that waits for nothing more (rejected, read and
# forwarded, closed) is at the last step, « Requête clôturée », not at the one it left.
STEP_OF = {
    Status.SUBMITTED: 1,
    Status.REFORMULATION_REQUESTED: 1,
    Status.REJECTED: 4,
    Status.VALIDATED: 2,
    Status.IN_TREATMENT: 2,
    Status.ON_HOLD: 2,
    Status.REOPENED: 2,
    Status.ACKNOWLEDGED: 4,
    Status.TREATED: 3,
    Status.CLOSED: 4,
}

# The tracking page's banner, above everything: where the request stands, in plain words.
CITIZEN_BANNERS = {
    Status.SUBMITTED: (
        "Votre requête attend l'examen de l'analyste, qui dira si elle est recevable."
    ),
    Status.REFORMULATION_REQUESTED: (
        "L'analyste vous demande de reformuler votre requête : lisez sa question, puis modifiez "
        "votre message."
    ),
    Status.REJECTED: (
        "Votre requête a été jugée non recevable et elle est clôturée. Vous pouvez soumettre "
        "une nouvelle requête."
    ),
    Status.VALIDATED: "Votre requête est en cours de traitement par l'organisme.",
    Status.IN_TREATMENT: "Votre requête est en cours de traitement par l'organisme.",
    Status.ON_HOLD: "Votre requête est en cours de traitement ; l'organisme l'a mise en attente.",
    Status.REOPENED: "Votre relance est en cours de traitement par l'organisme.",
    Status.ACKNOWLEDGED: (
        "Votre requête a été lue et transmise à l'organisme pour prise en compte. Elle est "
        "terminée : il n'y a pas de réponse à attendre."
    ),
    Status.TREATED: (
        "L'organisme a répondu à votre requête. Donnez votre avis sur sa réponse, ou relancez "
        "la requête si elle ne règle pas votre problème."
    ),
    Status.CLOSED: "Votre requête est clôturée.",
}


# Between the citizen's reply to an answer and treatment's judgement of it, the request is still
# « treated »: its banner must not ask for the opinion or the reopening just given.
CITIZEN_REPLY_BANNERS = {
    "opinion": (
        "Votre avis sur la réponse de l'organisme est enregistré : la requête va être clôturée."
    ),
    "reopening": (
        "Votre relance est enregistrée : la requête va être transmise de nouveau à l'organisme "
        "pour un nouveau traitement."
    ),
}


# The same banners as the call centre's operator reads them (« Suivi d'un appel »): about the
# caller, in the third person, and what to do with him — not « votre requête », which the trial
# saw the operator read as if the page spoke to him.
CALLER_BANNERS = {
    Status.SUBMITTED: (
        "La requête de l'appelant attend l'examen de l'analyste, qui dira si elle est recevable."
    ),
    Status.REFORMULATION_REQUESTED: (
        "L'analyste demande à l'appelant de reformuler sa requête : lisez-lui la question de "
        "l'analyste."
    ),
    Status.REJECTED: (
        "La requête de l'appelant a été jugée non recevable et elle est clôturée. Il peut "
        "soumettre une nouvelle requête."
    ),
    Status.VALIDATED: "La requête de l'appelant est en cours de traitement par l'organisme.",
    Status.IN_TREATMENT: "La requête de l'appelant est en cours de traitement par l'organisme.",
    Status.ON_HOLD: (
        "La requête de l'appelant est en cours de traitement ; l'organisme l'a mise en attente."
    ),
    Status.REOPENED: "La relance de l'appelant est en cours de traitement par l'organisme.",
    Status.ACKNOWLEDGED: (
        "La requête de l'appelant a été lue et transmise à l'organisme pour prise en compte. "
        "Elle est terminée : il n'y a pas de réponse à attendre."
    ),
    Status.TREATED: (
        "L'organisme a répondu à la requête de l'appelant : lisez-lui la réponse, puis "
        "recueillez son avis, ou relancez la requête si elle ne règle pas son problème."
    ),
    Status.CLOSED: "La requête de l'appelant est clôturée.",
}
# The operator's page says above it that the caller's reply is recorded, and when (intake's
# recorded_sentence): the banner says only what follows, one sentence for one fact.
CALLER_REPLY_BANNERS = {
    "opinion": "La requête va être clôturée avec l'avis de l'appelant.",
    "reopening": (
        "La requête va être transmise de nouveau à l'organisme pour un nouveau traitement."
    ),
}


def citizen_banner(
    status: str, reply_kind: str | None = None, *, for_operator: bool = False
) -> str:
    """The banner's sentence; a status this module does not know reads as in treatment.
    ``reply_kind`` (« opinion », « reopening »): a reply recorded and not yet judged.
    ``for_operator``: the call centre's operator's words about the caller
    (:data:`CALLER_BANNERS`)."""
    banners, replies = (
        (CALLER_BANNERS, CALLER_REPLY_BANNERS)
        if for_operator
        else (CITIZEN_BANNERS, CITIZEN_REPLY_BANNERS)
    )
    known = _known(status, Status)
    if known == Status.TREATED and reply_kind in replies:
        return replies[reply_kind]
    return banners[known] if known else banners[Status.IN_TREATMENT]


def step_of(status: str) -> int | None:
    known = _known(status, Status)
    return STEP_OF[known] if known else None


# -- the back office's words -------------------------------------------------------------------


class QueueStatus(StrEnum):
    """Where a request stands in the analysts' queue (triage's rows): waiting for their decision,
    or the decision taken; the queue does not follow the request further."""

    WAITING = "waiting"
    VALIDATED = Status.VALIDATED.value
    REFORMULATION_REQUESTED = Status.REFORMULATION_REQUESTED.value
    REJECTED = Status.REJECTED.value


def queue_status(status: str) -> QueueStatus:
    """The queue's status of a request in ``status``: waiting while submitted, validated once
    past the analysts whatever the body did since."""
    if status == Status.SUBMITTED:
        return QueueStatus.WAITING
    if status in (Status.REFORMULATION_REQUESTED, Status.REJECTED):
        return QueueStatus(status)
    return QueueStatus.VALIDATED


def status_of_queue(status: str) -> Status:
    """The life-cycle status a queue status stands for (validated: past the analysts)."""
    return Status.SUBMITTED if status == QueueStatus.WAITING else Status(status)


# A request not yet examined by the analysts, in every back-office word for it (their queue, the
# « Statistique générale » column): never a bare « En attente », which the body's pages keep for
# the focal point's « Mettre en attente » (on_hold) — the trial read the two as one.
AWAITING_TRIAGE = "En attente d'examen"


def status_of_queue_item(
    queue: str, *, needs_treatment: bool, body_status: str | None = None
) -> Status:
    """Where a request of the analysts' queue is in its life cycle, from what triage's row
    holds: its own status while the analysts have it or after they sent it back or rejected it;
    once validated, where the body's events left it (``body_status``: treated, reopened,
    closed), else where the validation sent it (in treatment, or read and forwarded)."""
    if queue != QueueStatus.VALIDATED:
        return status_of_queue(queue)
    known = _known(body_status, Status)
    return known if known is not None else after_validation(needs_treatment)


def staff_label(status: str, *, opinion: str | None = None) -> str:
    """Where a request is, in the back office's words: « En attente d'examen »
    (:data:`AWAITING_TRIAGE`) for one the analysts have not examined yet, else as the tracking
    page says it (« Clôturée — Non satisfait », « Clôturée sans retour », « Retraitement »…).
    Not the analysts' decision: a validated request is wherever the body's work has taken it."""
    known = _known(status, Status)
    if known == Status.SUBMITTED:
        return AWAITING_TRIAGE
    if known == Status.CLOSED and not opinion_label(opinion):
        return CLOSED_WITHOUT_OPINION  # closed without an opinion: only by the clock
    return citizen_label(status, opinion=opinion)


# The analysts' words for the queue's statuses (a request's page, the export)…
ANALYST_LABELS = {
    QueueStatus.WAITING: AWAITING_TRIAGE,
    QueueStatus.VALIDATED: "Validée",
    QueueStatus.REFORMULATION_REQUESTED: "Renvoyée pour reformulation",
    QueueStatus.REJECTED: "Rejetée (non recevable)",
}
# … and for the list's filter, in the plural.
ANALYST_FILTERS = {
    QueueStatus.WAITING: AWAITING_TRIAGE,
    QueueStatus.VALIDATED: "Validées",
    QueueStatus.REFORMULATION_REQUESTED: "Renvoyées pour reformulation",
    QueueStatus.REJECTED: "Rejetées",
}
# Where a validated request went, in the analysts' history.
ANALYST_OUTCOMES = {
    Status.IN_TREATMENT: "Transmise pour traitement",
    Status.ACKNOWLEDGED: "Lue et transmise à l'organisme",
}
# The lines of a request's history on the analysts' page.
ANALYST_EVENT_LABELS = {
    Event.SUBMITTED: "Requête soumise",
    Event.RESUBMITTED: "Requête reformulée par l'usager",
    Event.VALIDATED: "Requête validée",
    Event.REFORMULATION_REQUESTED: "Renvoyée pour reformulation",
    Event.REJECTED: "Rejetée (non recevable)",
    Event.REINDEXED: "Réindexée",
    Event.CLARIFICATION_SENT: "Message d'éclaircissement envoyé",
}
# The lines of a request's history at the body (treatment's pages).
BODY_EVENT_LABELS = {
    Event.VALIDATED: "Transmise par l'analyste",
    Event.REINDEXED: "Réindexée",
    Event.ASSIGNED: "Prise en compte",
    Event.REASSIGNED: "Réaffectée",  # the action is « Réaffecter » (seeds/004)
    Event.PUT_ON_HOLD: "Mise en attente",
    Event.RESUMED: "Reprise",
    Event.TREATED: "Réponse envoyée",
    Event.CITIZEN_ANSWERED: "Nouvelle réponse à l'usager",
    Event.OPINION_GIVEN: "Avis de l'usager",
    Event.REOPENED: "Relancée par l'usager (retraitement)",
    Event.CLOSED: "Clôturée sans retour",
    # An opinion or « Relancer » the state no longer took (shared.citizen_replies.body_label
    # says which; the status stays).
    Event.CITIZEN_REPLY_REFUSED: "Réponse de l'usager non prise en compte",
}
# A citizen's reply the call centre took on the telephone for a caller (« Suivi d'un appel »):
# the body's lines of it say so (treatment keeps the channel in the line's details).
BY_PHONE = "par téléphone, via le centre d'appels"
BODY_BY_PHONE_LABELS = {
    Event.OPINION_GIVEN: f"Avis de l'usager recueilli {BY_PHONE}",
    Event.REOPENED: f"Relancée par l'usager {BY_PHONE} (retraitement)",
}


def phone_operator(details: Mapping[str, object]) -> str | None:
    """The login of the call centre's operator who took a citizen's reply by phone, as
    treatment keeps it in the history line's ``details`` (``operator_login``, from
    citizen.*_recorded.v2); None for the citizen's own reply, or a v1 one that did not say."""
    if details.get("channel") != Channel.PHONE:
        return None
    login = details.get("operator_login")
    return str(login) if login else None


def taken_by(operator: str) -> str:
    """« opérateur : Aya Kouassi »: who took a reply by phone, as the staff's history names him,
    in brackets after the line as an agent is (« Prise en compte (Koffi YAO) »). For staff only:
    the citizen's pages never name an agent, and the ministry API drops ``operator_*``."""
    return f"opérateur : {operator}"


def by_phone(operator: str) -> str:
    """« par téléphone, via le centre d'appels (opérateur : Aya KONAN) »: how the staff's pages
    say who took a citizen's reply by phone where no line's label says the channel already (a
    reply the call centre recorded and the body has not applied yet: « Suivi d'un appel »'s
    « Avis du citoyen »). For staff only, as :func:`taken_by`."""
    return f"{BY_PHONE} ({taken_by(operator)})"


# Events of the citizen (their actor is « l'usager » on the analysts' page).
CITIZEN_EVENTS = frozenset({Event.SUBMITTED, Event.RESUBMITTED})

# The focal point's « Traitements » lists, as the guide's menu names them: « En cours » holds
# in_treatment, on_hold and reopened; « Retraitement » the reopened; « Insatisfaits » the closed
# that the body may answer again.
BODY_LISTS = {
    "en_cours": "En cours",
    "retraitement": "Retraitement",
    "insatisfaits": "Insatisfaits",
    # The analysts' (and the body's): waiting for the answer past the deadline the clock
    # escalated (request.deadline_missed).
    "en_retard": "En retard",
}

# The body's « Consultations » (the back-office guide's sub-menu), by treatment's list name.
CONSULTATION_LISTS = {
    "consultations": "Consultations",
    "sans_retour": "Sans retour",
    # Answered, the citizen's opinion awaited: the dashboard's « Avis attendus » leads here.
    "avis_attendus": "Avis attendus",
    "satisfaits": "Satisfaits",
    # The dashboard's cards that no other list holds (shared.body_counts), in its words.
    "traitees": "Réclamations traitées",
    "avis_exprimes": "Avis exprimés",
    "recues": "Total requêtes",
    "reclamations": "Réclamations",
    "demandes_information": "Demandes d'information",
    "suggestions": "Suggestions",
    "observations": "Observations",
    "motions": "Motions",
}


def list_label(view: str) -> str:
    """« En cours », « Sans retour »…: a body's list as the back office names it."""
    return BODY_LISTS.get(view) or CONSULTATION_LISTS.get(view) or view


# A deadline in the lists (the analysts' queue, the bodies' « En cours » and « Retraitement »),
# counted in working days (shared.working_days): the filter's word and the cell's text.
LATE_LABEL = "En retard"


# On hold the deadline does not run (treatment's held days move it back at « Reprendre »).
PAUSED_DEADLINE = "Délai suspendu pendant la mise en attente"


def deadline_text(days_left: int, late: bool, paused: bool = False) -> str:
    """« 3 jours ouvrés restants », « Dernier jour », « En retard de 2 jours ouvrés »;
    ``paused`` (the request on hold): :data:`PAUSED_DEADLINE`, no days counted."""
    if paused:
        return PAUSED_DEADLINE
    if late:
        n = max(1, -days_left)
        return f"{LATE_LABEL} de {n} jour{'s' if n > 1 else ''} ouvré{'s' if n > 1 else ''}"
    if days_left <= 0:
        return "Dernier jour"
    s = "s" if days_left > 1 else ""
    return f"{days_left} jour{s} ouvré{s} restant{s}"


# « Statistique générale »: the present status → its column's heading, in the columns' order
# (the guide's « En cours », « Rejet »…; its « En attente » said which waiting it meant no more than
# the badge or « Mettre en attente » did: :data:`AWAITING_TRIAGE`).
STATS_COLUMNS = {
    Status.SUBMITTED: AWAITING_TRIAGE,
    Status.REFORMULATION_REQUESTED: "À reformuler",
    Status.IN_TREATMENT: "En cours",
    Status.ACKNOWLEDGED: "Lues et transmises",
    Status.REJECTED: "Rejet",
    # The body's answers, « avis attendu » (the citizen's opinions have a column of their own).
    Status.TREATED: "Traités",
}
# Present statuses counted in another's column: a request at the body, held or reopened, is
# « En cours » there (as in the focal point's « Réclamations à traiter »); without this a body's
# status columns fell short of its total. Closed requests are counted apart (« Avis »).
STATS_COUNTED_AS = {
    Status.VALIDATED: Status.IN_TREATMENT,
    Status.ON_HOLD: Status.IN_TREATMENT,
    Status.REOPENED: Status.IN_TREATMENT,
}


def stats_column(status: str) -> Status | None:
    """The « Statistique générale » column (a key of :data:`STATS_COLUMNS`) that counts a
    request in ``status``; None for a closed request or a status this module does not know."""
    known = _known(status, Status)
    if known is None:
        return None
    column = STATS_COUNTED_AS.get(known, known)
    return column if column in STATS_COLUMNS else None


# -- the diagram ---------------------------------------------------------------------------------


def _condition(t: Transition) -> str:
    if t.needs_treatment is not None:
        natures = [
            NATURE_LABELS[n].lower() for n in Nature if n.needs_treatment is t.needs_treatment
        ]
        return ", ".join(natures)
    if t.opinions is not None:
        opinions = [o.value for o in Opinion if o in t.opinions]
        return "opinion " + " or ".join(opinions) + (f", {t.note}" if t.note else "")
    return t.note


def diagram() -> str:
    """docs/lifecycle.md: the state diagram of :data:`TRANSITIONS` and the table itself."""
    lines = [
        "# The life of a request",
        "",
        "Generated from `shared/lifecycle.py` by `python -m shared.lifecycle --diagram`; "
        "`make test` runs `--check`, which fails when this file differs from the table.",
        "Events that keep the status (re-index, assignment, reminders, purge…) are in the table "
        "below, not in the diagram.",
        "",
        "```mermaid",
        "stateDiagram-v2",
        f"    state {Status.VALIDATED} <<choice>>",
    ]
    for t in TRANSITIONS:
        if t.keeps:
            continue
        source = "[*]" if t.source is None else t.source
        if t.needs_treatment is not None:
            if t.needs_treatment:
                lines.append(f"    {source} --> {Status.VALIDATED} : {t.event.kind}")
            lines.append(f"    {Status.VALIDATED} --> {t.target} : {_condition(t)}")
            continue
        said = f" ({_condition(t)})" if t.opinions or t.event == Event.CLOSED else ""
        lines.append(f"    {source} --> {t.target} : {t.event.kind}{said}")
    lines += [f"    {s} --> [*]" for s in Status if s in CLOSED_STATUSES]
    lines += [
        "```",
        "",
        "| status | event | condition | next status |",
        "|---|---|---|---|",
    ]
    for t in TRANSITIONS:
        target = "(same)" if t.keeps else f"`{t.target}`"
        source = "(none)" if t.source is None else f"`{t.source}`"
        lines.append(f"| {source} | `{t.event}` | {_condition(t)} | {target} |")
    lines += [
        "",
        "Any other (status, event) pair is refused (`shared.lifecycle.Refused`).",
        "",
        "| status | the citizen reads | step | closed |",
        "|---|---|---|---|",
    ]
    for s in Status:
        closed = "yes" if s in CLOSED_STATUSES else ""
        lines.append(f"| `{s}` | {CITIZEN_LABELS[s]} | {STEP_OF[s]} | {closed} |")
    return "\n".join(lines) + "\n"


def check(path: Path = DIAGRAM) -> list[str]:
    """Why ``path`` is not what the table draws; empty when it is."""
    if not path.exists():
        return [f"{path.name}: missing (run python -m shared.lifecycle --diagram)"]
    if path.read_text() != diagram():
        return [f"{path.name}: differs from the table (run python -m shared.lifecycle --diagram)"]
    return []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--diagram", action="store_true", help=f"write {DIAGRAM}")
    parser.add_argument("--check", action="store_true", help="fail when it differs (default)")
    args = parser.parse_args(argv)
    if args.diagram:
        DIAGRAM.write_text(diagram())
    problems = check()
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
