"""Rules of the triage queue and of the analysts' decisions, without I/O."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, time
from enum import StrEnum

from shared import lifecycle
from shared.deadline_policy import Policy
from shared.lifecycle import Event
from shared.messages import DeadlineKind, Nature
from shared.working_days import Calendar, day_of

WORKING_DAYS = Calendar()  # weekends and public holidays, no day declared off
END_OF_DAY = time(23, 59, 59)

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


def days_for(
    nature: str,
    default: int,
    by_nature: Mapping[str, int],
    policy: Policy | None = None,
    body_id: str | None = None,
) -> int:
    """Working days the analysts have to rule on a request of this nature at this body: the
    administrators' value (``policy``, triage's copy of treatment's « Délais »), else this
    service's settings (per nature, else ``default``)."""
    if policy is not None:
        value = policy.value(DeadlineKind.ADMISSIBILITY, nature, body_id)
        if value is not None:
            return value
    return by_nature.get(nature, default)


def admissibility_deadline(
    queued_at: datetime, days: int, calendar: Calendar = WORKING_DAYS
) -> datetime:
    """When the analysts must have ruled on a request that entered the queue at ``queued_at``:
    the end (UTC, Côte d'Ivoire's time) of its ``days``-th working day after that day."""
    due = calendar.add(day_of(aware(queued_at)), days)
    return datetime.combine(due, END_OF_DAY, tzinfo=UTC)


def days_left(deadline: datetime, now: datetime, calendar: Calendar = WORKING_DAYS) -> int:
    """Working days from today to the deadline's day (UTC, Côte d'Ivoire's time): 0 on the day
    itself, < 0 when past (the working days late)."""
    return calendar.left(day_of(aware(now)), day_of(aware(deadline)))


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
