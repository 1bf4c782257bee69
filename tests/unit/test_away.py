"""Away mode (core/hours.start_away / end_away), shared by `socialdesk away` and the window."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from socialdesk.core.hours import AwayPeriod, Schedule, end_away, parse_week_spec, start_away

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)


def _schedule() -> Schedule:
    return Schedule(timezone="UTC", week=parse_week_spec("mon-fri 09:00-17:00"))


def test_going_away_twice_changes_the_period_instead_of_stacking():
    schedule = _schedule()
    start_away(schedule, NOW, NOW + timedelta(days=3), "on holiday")
    start_away(schedule, NOW + timedelta(hours=1), NOW + timedelta(days=5), None)
    assert len(schedule.away) == 1
    assert schedule.away[0].end == NOW + timedelta(days=5)
    assert schedule.away[0].message == "on holiday"  # None keeps the message
    assert not schedule.is_open(NOW + timedelta(days=4))


def test_end_away_ends_now_and_drops_old_periods():
    schedule = _schedule()
    schedule.away.append(AwayPeriod(NOW - timedelta(days=60), NOW - timedelta(days=50), "old"))
    start_away(schedule, NOW, None, "sick")
    assert [p.message for p in schedule.away] == ["sick"]  # the 50-day-old period was pruned
    assert end_away(schedule, NOW + timedelta(hours=2)) is True
    assert schedule.is_open(NOW + timedelta(hours=3))
    assert end_away(schedule, NOW + timedelta(hours=3)) is False


def test_ending_an_away_period_the_moment_it_starts_removes_it():
    schedule = _schedule()
    start_away(schedule, NOW, None, "")
    assert end_away(schedule, NOW) is True
    assert schedule.away == []
