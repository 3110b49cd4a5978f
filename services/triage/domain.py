"""Rules of the triage queue and of the analysts' decisions, without I/O."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from shared import lifecycle
from shared.lifecycle import Event
from shared.messages import Nature

# Where a request stands in the queue, and how the analysts word it: the life cycle's.
Status = lifecycle.QueueStatus
STATUS_LABELS = lifecycle.ANALYST_LABELS
WAITING = Status.WAITING.value


class Kind(StrEnum):
    """A line of a request's history in triage: the event's name without ``request.``."""

    SUBMITTED = Event.SUBMITTED.kind
    RESUBMITTED = Event.RESUBMITTED.kind
    VALIDATED = Event.VALIDATED.kind
    REFORMULATION_REQUESTED = Event.REFORMULATION_REQUESTED.kind
    REJECTED = Event.REJECTED.kind
    REINDEXED = Event.REINDEXED.kind
    CLARIFICATION_SENT = Event.CLARIFICATION_SENT.kind

    @property
    def event(self) -> Event:
        return Event.of_kind(self.value)


KIND_LABELS = {kind: lifecycle.ANALYST_EVENT_LABELS[kind.event] for kind in Kind}


def status_after(kind: Kind, nature: str) -> Status | None:
    """The queue's status once the decision ``kind`` is taken on a request of this nature (the
    life cycle's table); None when the decision leaves it as it stands (re-index, clarification).
    """
    moved = lifecycle.status_after(kind.event, needs_treatment=needs_treatment(nature))
    return None if moved is None else lifecycle.queue_status(moved)


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
    return lifecycle.may_decide(lifecycle.status_of_queue(status))


def may_clarify(status: str, body_status: str | None, opinion: str | None) -> bool:
    """A clarification goes to a citizen not (fully) satisfied with the body's answer: a request
    the analysts validated (``status``, the queue's), closed at the body (``body_status``, from
    treatment's events) with an opinion the life cycle's table allows (« Non satisfait »,
    « Partiellement satisfait »)."""
    if status != Status.VALIDATED or body_status is None:
        return False
    return lifecycle.may_clarify(body_status, opinion)


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
