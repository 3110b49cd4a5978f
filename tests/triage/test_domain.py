"""The triage queue's rules, without I/O."""

from datetime import UTC, date, datetime, timedelta

from services.triage import domain
from shared.deadline_policy import Policy
from shared.messages import DeadlineKind, Nature
from shared.working_days import calendar


def test_the_deadline_is_the_end_of_the_last_working_day():
    # Thursday 6 August 2026 + 1 working day: Friday 7 is the Fête Nationale, then the weekend.
    at = datetime(2026, 8, 6, 10, 0, tzinfo=UTC)
    assert domain.admissibility_deadline(at, 1) == datetime(2026, 8, 10, 23, 59, 59, tzinfo=UTC)
    naive = datetime(2026, 8, 6, 10, 0)
    assert domain.admissibility_deadline(naive, 1) == datetime(2026, 8, 10, 23, 59, 59, tzinfo=UTC)
    # 15 working days from Wednesday 16 December 2026 step over Christmas and New Year's Day.
    assert domain.admissibility_deadline(datetime(2026, 12, 16, tzinfo=UTC), 15).date() == date(
        2027, 1, 8
    )
    # A day declared off moves it by one working day more.
    off = calendar([date(2026, 8, 10)])
    assert domain.admissibility_deadline(at, 1, off).date() == date(2026, 8, 11)


def test_days_left_counts_working_days_and_goes_negative():
    deadline = datetime(2026, 8, 10, 23, 59, 59, tzinfo=UTC)
    assert domain.days_left(deadline, datetime(2026, 8, 6, 23, 0, tzinfo=UTC)) == 1
    assert domain.days_left(deadline, datetime(2026, 8, 10, 11, 0, tzinfo=UTC)) == 0
    assert domain.days_left(deadline, datetime(2026, 8, 13, tzinfo=UTC)) == -3
    off = calendar([date(2026, 8, 12)])
    assert domain.days_left(deadline, datetime(2026, 8, 13, tzinfo=UTC), off) == -2


def test_the_administrators_value_wins_over_the_settings():
    policy = Policy(
        {
            (DeadlineKind.ADMISSIBILITY, Nature.RECLAMATION, None): 10,
            (DeadlineKind.ADMISSIBILITY, Nature.RECLAMATION, "ministere-budget"): 5,
        }
    )
    by_nature = {"suggestion": 20}
    assert domain.days_for("reclamation", 15, by_nature, policy, "ministere-budget") == 5
    assert domain.days_for("reclamation", 15, by_nature, policy, "ministere-sante") == 10
    assert domain.days_for("suggestion", 15, by_nature, policy, "ministere-sante") == 20
    assert domain.days_for("observation", 15, by_nature, policy, None) == 15
    assert domain.days_for("observation", 15, by_nature) == 15


def test_overdue_after_the_deadline_only():
    deadline = datetime(2024, 3, 16, 10, 0, tzinfo=UTC)
    assert not domain.is_overdue(deadline, deadline)
    assert domain.is_overdue(deadline, deadline + timedelta(seconds=1))
    assert not domain.is_overdue(deadline, deadline - timedelta(days=3))
