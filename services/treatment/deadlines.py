"""The answer's deadline at the body, pure: counted in working days (``shared.working_days``)
from the day the analysts validated the request, with the working days it spent on hold given
back. ``answer_due`` is the last working day on which the answer is on time.

While a request is on hold its clock stops: the due date it had stays shown, and the working
days of the hold (:func:`held`) are added to it when it resumes. Recomputing from scratch (a
change of the policy or of the declared days off) gives the same day as the moves did:
``Calendar.add`` of n then m working days is ``add`` of n + m.
"""

from __future__ import annotations

from datetime import date, datetime

from shared.lifecycle import Status
from shared.working_days import Calendar, day_of

# The requests whose answer is still awaited: their due date moves with the policy.
OPEN = (Status.IN_TREATMENT, Status.ON_HOLD, Status.REOPENED)


def answer_due(calendar: Calendar, validated_at: datetime, days: int, held_days: int = 0) -> date:
    """The last working day of an answer on time: ``days`` working days after the validation's
    day, plus the working days spent on hold."""
    return calendar.add(day_of(validated_at), days + held_days)


def held(calendar: Calendar, since: datetime, until: datetime) -> int:
    """Working days a hold from ``since`` to ``until`` took: the days after the hold's day up to
    the resumption's day (a hold and a resumption on the same day take none)."""
    return calendar.between(day_of(since), day_of(until))


def days_left(calendar: Calendar, today: date, due: date) -> int:
    """Working days before ``due`` (0 on the day itself, negative: the working days late)."""
    return calendar.left(today, due)


def is_late(today: date, due: date | None) -> bool:
    return due is not None and today > due
