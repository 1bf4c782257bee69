"""Business-time arithmetic on a Schedule: open seconds between two instants and an instant plus some open
time (`add_open_time`, `add_open_times`), used by core/targets.py and core/automation. `Schedule` inherits
`BusinessTime`; the methods only read the schedule through `open_intervals`.

Decisions:
- `add_open_time` (forward)
  memoises merged open intervals per 4-week span on the Schedule object, keyed on a by-value snapshot
  of every field (fields are mutable in place, e.g. `schedule.away.append`), so a changed schedule
  never answers from a stale span. `add_open_times` answers several amounts from one start in one walk
  (a response target's due time needs one: its due-soon time is a wall-clock margin before it).
"""

from __future__ import annotations

import bisect
import itertools
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Iterator

from socialdesk.core.hours.times import (
    HORIZON,
    Interval,
    ScheduleError,
    Window,
    _require_aware,
)

_WEEK = timedelta(days=7)
_ZERO = timedelta(0)
_SPAN_WEEKS = 4  # memoised open intervals for add_open_time, per 4 weeks from a UTC week
_SPAN_EPOCH = datetime(2000, 1, 3, tzinfo=timezone.utc)  # a Monday


if TYPE_CHECKING:
    from socialdesk.core.hours.schedule import AwayPeriod


class BusinessTime:
    """Open-time arithmetic, mixed into Schedule."""

    if TYPE_CHECKING:  # what the arithmetic reads of the Schedule it is mixed into
        timezone: str
        week: dict[int, list[Window]]
        holidays_country: str
        holidays_subdiv: str
        closed_dates: set[date]
        special_hours: dict[date, list[Window]]
        away: list[AwayPeriod]

        def open_intervals(self, start: datetime, end: datetime) -> Iterator[Interval]: ...

        def _intervals_backwards(self, end: datetime, limit: datetime) -> Iterator[Interval]: ...

    def open_seconds_between(self, a: datetime, b: datetime) -> float:
        """Open (business) seconds in [a, b); negative if b < a."""
        a, b = _require_aware(a, "a"), _require_aware(b, "b")
        if b < a:
            return -self.open_seconds_between(b, a)
        return sum((e - s).total_seconds() for s, e in self.open_intervals(a, b))

    def add_open_time(self, start: datetime, seconds: float) -> datetime:
        """`start` plus `seconds` of open time (negative: minus), in UTC.

        Counting starts at `start` or at the next opening if closed, so Friday 16:30 + 1 h with
        Mon-Fri 09:00-17:00 is Monday 09:30. With seconds > 0 the result is the instant the last
        open second is used, i.e. it can be a closing time, never the next day's opening.
        """
        start = _require_aware(start, "start")
        if seconds == 0:
            return start
        if seconds > 0:
            return self.add_open_times(start, (seconds,))[0]
        left = timedelta(seconds=-seconds)
        hi = start
        while True:
            lo = hi - HORIZON
            found = False
            for s, e in self._intervals_backwards(hi, lo):
                found = True
                if e - s >= left:
                    return e - left
                left -= e - s
            if not found:
                raise ScheduleError("never open: no opening hours within the previous 400 days")
            hi = lo

    def add_open_times(self, start: datetime, amounts: tuple[float, ...]) -> list[datetime]:
        """`add_open_time(start, a)` for each of several amounts ≥ 0 in ascending order, in one walk.

        One walk over the open intervals instead of one per amount. The results are exactly
        add_open_time's: lengths are summed as timedeltas (integer microseconds).
        """
        start = _require_aware(start, "start")
        wanted = [timedelta(seconds=a) for a in amounts]
        if wanted and (wanted[0] < _ZERO or any(a > b for a, b in itertools.pairwise(wanted))):
            raise ValueError("add_open_times takes amounts >= 0 in ascending order")
        out: list[datetime] = []
        i = 0
        while i < len(wanted) and not wanted[i]:
            out.append(start)
            i += 1
        if i == len(wanted):
            return out
        lo, used = self._walk_span(start, wanted, i, out)
        if len(out) == len(wanted):
            return out
        # Beyond the memoised span: walk on from where it ended, a horizon at a time.
        i = len(out)
        while True:
            hi = lo + HORIZON
            found = False
            for s, e in self.open_intervals(lo, hi):
                found = True
                while i < len(wanted) and wanted[i] - used <= e - s:
                    out.append(s + (wanted[i] - used))
                    i += 1
                if i == len(wanted):
                    return out
                used += e - s
            if not found:
                raise ScheduleError("never open: no opening hours within the next 400 days")
            lo = hi

    def _state(self) -> tuple:
        """Everything the open intervals depend on, by value: the fields are mutable in place."""
        return (
            self.timezone, self.holidays_country, self.holidays_subdiv,
            {d: tuple(w) for d, w in self.week.items()},
            frozenset(self.closed_dates),
            {d: tuple(w) for d, w in self.special_hours.items()},
            tuple((p.start, p.end) for p in self.away),
        )

    def _walk_span(
        self, start: datetime, wanted: list[timedelta], i: int, out: list[datetime]
    ) -> tuple[datetime, timedelta]:
        """add_open_times' walk over memoised open intervals: appends the answers found to `out` and
        returns (where the span ends, open time used up to there) for the answers beyond it.

        Spans of `_SPAN_WEEKS` weeks (from the UTC week `start` falls in) are computed once per schedule
        state and reused, so bulk target evaluation (ingest) does not redo the calendar maths for every
        conversation. An interval clipped at the span's end still gives a correct answer when the answer
        falls inside it (the real interval only goes on longer); the walk beyond starts at the span's
        end, so the clipped remainder is counted there.
        """
        state = self._state()
        cache = self.__dict__.get("_span_cache")
        if cache is None or cache[0] != state:
            cache = (state, {})
            self.__dict__["_span_cache"] = cache
        spans: dict[int, tuple[list[Interval], list[datetime], datetime]] = cache[1]
        week = (start - _SPAN_EPOCH) // _WEEK
        span = spans.get(week)
        if span is None:
            lo = _SPAN_EPOCH + week * _WEEK
            intervals = list(self.open_intervals(lo, lo + _SPAN_WEEKS * _WEEK))
            span = (intervals, [e for _s, e in intervals], lo + _SPAN_WEEKS * _WEEK)
            if len(spans) >= 64:
                spans.clear()
            spans[week] = span
        intervals, ends, span_end = span
        used = timedelta(0)
        count = len(wanted)
        for s, e in intervals[bisect.bisect_right(ends, start):]:
            if s < start:
                s = start
            length = e - s
            while i < count and wanted[i] - used <= length:
                out.append(s + (wanted[i] - used))
                i += 1
            if i == count:
                break
            used += length
        return span_end, used
