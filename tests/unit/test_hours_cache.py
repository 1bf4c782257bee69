"""Business-time arithmetic is memoised; editing a schedule in place must never give a stale answer."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from socialdesk.core.hours import AwayPeriod, Schedule, parse_week_spec

FRIDAY = datetime(2026, 11, 20, 16, 30, tzinfo=timezone.utc)


def test_in_place_edits_change_the_answer():
    schedule = Schedule(timezone="UTC", week=parse_week_spec("mon-fri 09:00-17:00"))
    hour = 3600
    assert schedule.add_open_time(FRIDAY, hour) == datetime(2026, 11, 23, 9, 30, tzinfo=timezone.utc)
    # Away all of Monday: the deadline moves to Tuesday.
    schedule.away.append(AwayPeriod(datetime(2026, 11, 23, tzinfo=timezone.utc),
                                     datetime(2026, 11, 24, tzinfo=timezone.utc), ""))
    assert schedule.add_open_time(FRIDAY, hour) == datetime(2026, 11, 24, 9, 30, tzinfo=timezone.utc)
    schedule.away.clear()
    schedule.closed_dates.add(date(2026, 11, 23))
    assert schedule.add_open_time(FRIDAY, hour) == datetime(2026, 11, 24, 9, 30, tzinfo=timezone.utc)
    schedule.closed_dates.clear()
    schedule.week[4] = [(time(9, 0), time(18, 0))]  # Friday now closes at 18:00
    assert schedule.add_open_time(FRIDAY, hour) == FRIDAY + timedelta(hours=1)
    schedule.special_hours[date(2026, 11, 20)] = []  # ...but this Friday is closed after all
    assert schedule.add_open_time(FRIDAY, hour) == datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)
