"""Rules of the triage queue and of the analysts' decisions, without I/O."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from shared.messages import Nature

WAITING = "waiting"


class Status(StrEnum):
    """Where a request stands in triage."""

    WAITING = "waiting"
    VALIDATED = "validated"
    REFORMULATION_REQUESTED = "reformulation_requested"
    REJECTED = "rejected"


STATUS_LABELS = {
    Status.WAITING: "En attente",
    Status.VALIDATED: "Validée",
    Status.REFORMULATION_REQUESTED: "Renvoyée pour reformulation",
    Status.REJECTED: "Rejetée (non recevable)",
}


class Kind(StrEnum):
    """A line of a request's history in triage."""

    SUBMITTED = "submitted"
    RESUBMITTED = "resubmitted"
    VALIDATED = "validated"
    REFORMULATION_REQUESTED = "reformulation_requested"
    REJECTED = "rejected"
    REINDEXED = "reindexed"
    CLARIFICATION_SENT = "clarification_sent"


KIND_LABELS = {
    Kind.SUBMITTED: "Requête soumise",
    Kind.RESUBMITTED: "Requête reformulée par l'usager",
    Kind.VALIDATED: "Requête validée",
    Kind.REFORMULATION_REQUESTED: "Renvoyée pour reformulation",
    Kind.REJECTED: "Rejetée (non recevable)",
    Kind.REINDEXED: "Réindexée",
    Kind.CLARIFICATION_SENT: "Message d'éclaircissement envoyé",
}

# The decisions that end the request's wait in the queue, and the status each one leaves.
CLOSING = {
    Kind.VALIDATED: Status.VALIDATED,
    Kind.REFORMULATION_REQUESTED: Status.REFORMULATION_REQUESTED,
    Kind.REJECTED: Status.REJECTED,
}

NOT_SATISFIED = "not_satisfied"


def aware(moment: datetime) -> datetime:
    """``moment`` with a time zone; a naive one is read as UTC (Côte d'Ivoire's time)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def days_for(nature: str, default: int, by_nature: Mapping[str, int]) -> int:
    """Days the analysts have to rule on a request of this nature."""
    return by_nature.get(nature, default)


def admissibility_deadline(submitted_at: datetime, days: int) -> datetime:
    """When the analysts must have ruled on a request that entered the queue at ``submitted_at``."""
    return aware(submitted_at) + timedelta(days=days)


def days_left(deadline: datetime, now: datetime) -> int:
    """Calendar days from today to the deadline's day (UTC, Côte d'Ivoire's time); < 0 when past."""
    return (aware(deadline).astimezone(UTC).date() - aware(now).astimezone(UTC).date()).days


def is_overdue(deadline: datetime, now: datetime) -> bool:
    return aware(now) > aware(deadline)


def may_decide(status: str) -> bool:
    """Validate, send back, reject, re-index: only while the request waits for an analyst."""
    return status == Status.WAITING


def may_clarify(status: str, opinion: str | None) -> bool:
    """A clarification goes to a citizen who was not satisfied with the body's answer.

    The opinion reaches triage with a later issue (request.opinion_given); until then every
    validated request may get one. Once an opinion is known, only « Non satisfait » allows it.
    """
    return status == Status.VALIDATED and opinion in (None, NOT_SATISFIED)


def needs_treatment(nature: str) -> bool:
    """A réclamation or demande d'information goes to the body for treatment; the other natures
    are « lues et transmises à l'organisme »."""
    return Nature(nature).needs_treatment


CHANNEL_LABELS = {
    "web": "Portail Miliê",
    "api": "API",
    "phone": "Téléphone (centre d'appels)",
    "broker": "Autre canal de l'État",
    "open311": "Open311",
}
