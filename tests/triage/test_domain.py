"""The triage queue's rules, without I/O."""

from datetime import UTC, datetime, timedelta

from services.triage import domain


def test_deadline_is_submission_plus_days():
    at = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
    assert domain.admissibility_deadline(at, 15) == datetime(2024, 3, 16, 10, 0, tzinfo=UTC)
    naive = datetime(2024, 3, 1, 10, 0)
    assert domain.admissibility_deadline(naive, 15) == datetime(2024, 3, 16, 10, 0, tzinfo=UTC)


def test_days_left_counts_calendar_days_and_goes_negative():
    deadline = datetime(2024, 3, 16, 10, 0, tzinfo=UTC)
    assert domain.days_left(deadline, datetime(2024, 3, 1, 23, 59, tzinfo=UTC)) == 15
    assert domain.days_left(deadline, datetime(2024, 3, 16, 11, 0, tzinfo=UTC)) == 0
    assert domain.days_left(deadline, datetime(2024, 3, 20, tzinfo=UTC)) == -4


def test_overdue_after_the_deadline_only():
    deadline = datetime(2024, 3, 16, 10, 0, tzinfo=UTC)
    assert not domain.is_overdue(deadline, deadline)
    assert domain.is_overdue(deadline, deadline + timedelta(seconds=1))
    assert not domain.is_overdue(deadline, deadline - timedelta(days=3))
