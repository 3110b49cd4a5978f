"""Rules of the triage queue, without I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

WAITING = "waiting"


def aware(moment: datetime) -> datetime:
    """``moment`` with a time zone; a naive one is read as UTC (Côte d'Ivoire's time)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def admissibility_deadline(submitted_at: datetime, days: int) -> datetime:
    """When the analysts must have ruled on a request submitted at ``submitted_at``."""
    return aware(submitted_at) + timedelta(days=days)


def days_left(deadline: datetime, now: datetime) -> int:
    """Calendar days from today to the deadline's day (UTC, Côte d'Ivoire's time); < 0 when past."""
    return (aware(deadline).astimezone(UTC).date() - aware(now).astimezone(UTC).date()).days


def is_overdue(deadline: datetime, now: datetime) -> bool:
    return aware(now) > aware(deadline)
