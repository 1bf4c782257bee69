"""Away mode: going away and coming back, one implementation for the command line and the window.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from socialdesk.core.hours.schedule import AwayPeriod, Schedule

AWAY_PRUNE_AFTER = timedelta(days=30)


def start_away(schedule: Schedule, now: datetime, until: datetime | None, message: str | None) -> None:
    """Go away at `now` until `until` (None: until switched off). If already away, change the current
    period instead of stacking a second one; `message=None` keeps its message. Periods that ended more
    than 30 days ago are dropped so the schedule does not grow for ever. Raises ScheduleError."""
    schedule.away = [p for p in schedule.away if p.end is None or now - p.end < AWAY_PRUNE_AFTER]
    active = schedule.away_at(now)
    if active is not None:
        active.end = until
        if message is not None:
            active.message = message
    else:
        schedule.away.append(AwayPeriod(now, until, message or ""))
    schedule.validate()


def end_away(schedule: Schedule, now: datetime) -> bool:
    """End every away period covering `now`; False if none did."""
    active = [p for p in schedule.away if p.covers(now)]
    for period in active:
        period.end = now
    schedule.away = [
        p for p in schedule.away
        if (p.end is None or p.end > p.start) and (p.end is None or now - p.end < AWAY_PRUNE_AFTER)
    ]
    return bool(active)
