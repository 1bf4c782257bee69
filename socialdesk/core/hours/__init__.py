"""Opening hours: the weekly schedule, holidays, closed dates, special hours and away periods.

This package owns every answer to "is the business open?" and all business-time arithmetic
(`add_open_time`, `open_seconds_between`) used by core/targets.py and core/automation. It has no Qt
and no I/O besides reading the system timezone name in `Schedule.default()`.

The package namespace is the documented facade (`from socialdesk.core.hours import Schedule, ...`); each
module carries its own decisions:
- `times`: aware datetimes, wall time to UTC across DST, localised windows, holiday calendars;
- `schedule`: the `Schedule` model, its JSON form and the open/closed questions;
- `business_time`: open-time arithmetic, mixed into `Schedule`;
- `week_spec`: the week-spec text (parse, format, one day's windows);
- `away`: going away and coming back.
"""

from __future__ import annotations

from socialdesk.core.hours.away import AWAY_PRUNE_AFTER, end_away, start_away
from socialdesk.core.hours.schedule import AwayPeriod, Schedule
from socialdesk.core.hours.times import (
    DAY_NAMES,
    HORIZON,
    UTC,
    Interval,
    ScheduleError,
    Window,
    system_timezone_name,
)
from socialdesk.core.hours.week_spec import (
    CLOSED_WEEK_TEXT,
    CLOSED_WORD,
    describe_week,
    format_week_spec,
    format_windows,
    parse_week_spec,
    parse_windows,
    week_groups,
)

__all__ = [
    "AWAY_PRUNE_AFTER", "CLOSED_WEEK_TEXT", "CLOSED_WORD", "DAY_NAMES", "HORIZON", "UTC", "AwayPeriod",
    "Interval", "Schedule", "ScheduleError", "Window", "describe_week", "end_away", "format_week_spec",
    "format_windows", "parse_week_spec", "parse_windows", "start_away", "system_timezone_name", "week_groups",
]
