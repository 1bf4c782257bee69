"""Opening hours: the weekly schedule, holidays, closed dates, special hours and away periods.

This module owns every answer to "is the business open?" and all business-time arithmetic
(`add_open_time`, `open_seconds_between`) used by core/targets.py and core/automation.py. It has no Qt
and no I/O besides reading the system timezone name in `Schedule.default()`.

Decisions:
- All datetimes in and out are timezone-aware; results are UTC. Naive input raises ValueError.
- A window belongs to the local date it starts on. A window whose end <= start runs past midnight
  into the next day (Fri 18:00-02:00; 00:00-24:00 is a full day). Whether a date is closed (closed
  date, holiday) or has special hours decides only the windows that *start* on that date: Friday's
  18:00-02:00 stays open until 02:00 even if Saturday is a holiday.
- Precedence for one date: `closed_dates` > `special_hours` (the owner's explicit word for that date
  beats the holiday calendar) > public holidays > the weekly schedule.
- Away periods are closed time and win over everything; they are [start, end) in UTC, end None =
  until switched off.
- DST: a wall time that does not exist (inside the spring-forward gap) maps to the instant the gap ends,
  for window starts and ends alike, so a 02:30 start on that day opens at 03:00 local. An ambiguous wall
  time (fall-back fold) is read as its *first* occurrence for a window start and its *last* occurrence
  for a window end, so a window covers every instant whose wall clock reads inside it.
- Localised windows are memoised per (zone, date, windows) so bulk target recomputation stays cheap;
  closed dates, holidays and away periods are read live on every call. `add_open_time` (forward) also
  memoises merged open intervals per 4-week span on the Schedule object, keyed on a by-value snapshot
  of every field (fields are mutable in place, e.g. `schedule.away.append`), so a changed schedule
  never answers from a stale span. `add_open_times` answers several amounts from one start in one walk
  (a response target's due-soon and due instants).
- Searches are bounded by `HORIZON` (400 days): `next_open` raises ScheduleError("never open") past it
  and `next_close` returns None. Work is day by day (a few windows per day), never minute by minute.
- `closed_period_key` is derived from the instant the current closed stretch began (the end of the last
  open interval), so it stays the same when the owner extends an away period mid-stretch; a stretch that
  began before the horizon has the fixed key "closed:long".
- `next_close` while closed answers the close of the next open stretch (the next moment the business
  goes from open to closed).
- Holiday calendars come from the `holidays` package, one cached instance per (country, subdiv),
  guarded by a lock because the package fills years lazily on lookup.
"""

from __future__ import annotations

import bisect
import itertools
import os
import re
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holidays_pkg

UTC = timezone.utc
HORIZON = timedelta(days=400)
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DAY_LABELS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_CHUNK = timedelta(days=7)
_WEEK = timedelta(days=7)
_ZERO = timedelta(0)
_SPAN_WEEKS = 4  # memoised open intervals for add_open_time, per 4 weeks from a UTC week
_SPAN_EPOCH = datetime(2000, 1, 3, tzinfo=timezone.utc)  # a Monday

Window = tuple[time, time]
Interval = tuple[datetime, datetime]


class ScheduleError(ValueError):
    """Invalid schedule data or an impossible question; `str(e)` is meant for the owner."""


# ---------------------------------------------------------------------------------------------------
# helpers: times, zones, holidays


def _require_aware(dt: datetime, name: str = "datetime") -> datetime:
    if dt.tzinfo is UTC:
        return dt  # already UTC (every stored time): no conversion, no new object
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {dt!r}")
    return dt.astimezone(UTC)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as e:
        raise ScheduleError(f"unknown timezone {name!r}: use an IANA name such as Europe/Berlin") from e


def _localize(d: date, t: time, tz: ZoneInfo, first: bool) -> datetime:
    """The UTC instant of wall time `t` on `d` in `tz` (gap -> end of gap; fold -> first/last)."""
    naive = datetime.combine(d, t)
    a = naive.replace(tzinfo=tz, fold=0)
    b = naive.replace(tzinfo=tz, fold=1)
    if a.utcoffset() == b.utcoffset():
        return a.astimezone(UTC)
    ua, ub = a.astimezone(UTC), b.astimezone(UTC)
    lo, hi = min(ua, ub), max(ua, ub)
    if ua.astimezone(tz).replace(tzinfo=None) == naive:
        return lo if first else hi
    # In a gap: the transition lies between the two readings; find it to the second.
    lo_offset = lo.astimezone(tz).utcoffset()
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if mid.astimezone(tz).utcoffset() == lo_offset:
            lo = mid
        else:
            hi = mid
    return hi.replace(microsecond=0)


@lru_cache(maxsize=8192)
def _localized_windows(tz_name: str, d: date, windows: tuple[Window, ...]) -> tuple[Interval, ...]:
    # Cached on all of its inputs, so editing a schedule can never serve stale answers; recomputing
    # targets for thousands of conversations hits the same few days over and over.
    tz = _zone(tz_name)
    out = []
    for a, b in windows:
        s = _localize(d, a, tz, first=True)
        e = _localize(d if b > a else d + timedelta(days=1), b, tz, first=False)
        if e > s:
            out.append((s, e))
    out.sort()
    return tuple(out)


_holiday_cache: dict[tuple[str, str], Any] = {}
_holiday_lock = threading.Lock()


def _holiday_calendar(country: str, subdiv: str) -> Any:
    key = (country.upper(), subdiv.upper())
    with _holiday_lock:
        cal = _holiday_cache.get(key)
        if cal is None:
            try:
                cal = holidays_pkg.country_holidays(key[0], subdiv=key[1] or None)
            except NotImplementedError as e:
                if subdiv:
                    raise ScheduleError(
                        f"unknown holiday region {country!r}/{subdiv!r}: use an ISO 3166 country code "
                        "(e.g. DE) and one of its subdivision codes (e.g. BY)"
                    ) from e
                raise ScheduleError(
                    f"unknown holiday country {country!r}: use an ISO 3166 country code such as US, GB or DE"
                ) from e
            _holiday_cache[key] = cal
        return cal


def _fmt_time(t: time, end: bool = False) -> str:
    if end and t == time(0):
        return "24:00"
    if t.second or t.microsecond:
        return t.strftime("%H:%M:%S")
    return t.strftime("%H:%M")


_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")


def _parse_time(text: str, end: bool, what: str) -> time:
    m = _TIME_RE.match(text.strip())
    if not m:
        raise ScheduleError(f"{what}: {text!r} is not a time like 09:00")
    h, mi, s = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    if end and (h, mi, s) == (24, 0, 0):
        return time(0)
    if h > 23 or mi > 59 or s > 59:
        raise ScheduleError(f"{what}: {text!r} is not a valid time (00:00-23:59, 24:00 only as an end)")
    return time(h, mi, s)


def _short_date(d: date) -> str:
    return f"{d.day} {_MONTHS[d.month - 1]}"


def system_timezone_name(environ: dict[str, str] | None = None, root: str = "/") -> str:
    """The local IANA zone from TZ, /etc/timezone or the /etc/localtime symlink; "UTC" if unknown."""
    env = os.environ if environ is None else environ
    candidates: list[str] = []
    tz_env = env.get("TZ", "").lstrip(":").strip()
    if tz_env:
        candidates.append(tz_env.split("zoneinfo/", 1)[1] if "zoneinfo/" in tz_env else tz_env)
    etc = Path(root) / "etc"
    try:
        candidates.append((etc / "timezone").read_text(encoding="utf-8").strip())
    except OSError:
        pass
    try:
        target = os.readlink(etc / "localtime")
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    except OSError:
        pass
    for name in candidates:
        if not name or name.startswith("/"):
            continue
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue
        return name
    return "UTC"


# ---------------------------------------------------------------------------------------------------
# the schedule


@dataclass
class AwayPeriod:
    """The owner is away (vacation, sick): closed time from `start` until `end` (None = until switched off)."""

    start: datetime
    end: datetime | None
    message: str = ""

    def covers(self, now: datetime) -> bool:
        return self.start <= now and (self.end is None or now < self.end)


@dataclass
class Schedule:
    timezone: str = "UTC"
    week: dict[int, list[Window]] = field(default_factory=dict)
    holidays_country: str = ""
    holidays_subdiv: str = ""
    closed_dates: set[date] = field(default_factory=set)
    special_hours: dict[date, list[Window]] = field(default_factory=dict)
    away: list[AwayPeriod] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.validate()

    # -- construction and serialisation ------------------------------------------------------------

    @classmethod
    def default(cls) -> Schedule:
        """Mon-Fri 09:00-17:00 in the system's local zone (UTC if it cannot be determined)."""
        nine_to_five = [(time(9), time(17))]
        return cls(timezone=system_timezone_name(), week={d: list(nine_to_five) for d in range(5)})

    @classmethod
    def always_open(cls, timezone: str = "UTC") -> Schedule:
        return cls(timezone=timezone, week={d: [(time(0), time(0))] for d in range(7)})

    def validate(self) -> None:
        """Raise ScheduleError with an owner-readable message if anything is malformed."""
        _zone(self.timezone)
        for day, windows in self.week.items():
            if not isinstance(day, int) or not 0 <= day <= 6:
                raise ScheduleError(f"week day {day!r} must be 0 (Monday) .. 6 (Sunday)")
            self._check_windows(windows, DAY_NAMES[day])
        for d in self.closed_dates:
            if not isinstance(d, date) or isinstance(d, datetime):
                raise ScheduleError(f"closed date {d!r} is not a date")
        for d, windows in self.special_hours.items():
            if not isinstance(d, date) or isinstance(d, datetime):
                raise ScheduleError(f"special hours key {d!r} is not a date")
            self._check_windows(windows, f"special hours {d.isoformat()}")
        for p in self.away:
            if not isinstance(p, AwayPeriod):
                raise ScheduleError(f"away entry {p!r} is not an AwayPeriod")
            p.start = _require_aware(p.start, "away start")
            if p.end is not None:
                p.end = _require_aware(p.end, "away end")
                if p.end <= p.start:
                    raise ScheduleError(f"away period ends ({p.end:%Y-%m-%d %H:%M} UTC) before it starts")
        if self.holidays_subdiv and not self.holidays_country:
            raise ScheduleError("a holiday region needs a holiday country")
        if self.holidays_country:
            _holiday_calendar(self.holidays_country, self.holidays_subdiv)

    @staticmethod
    def _check_windows(windows: Any, where: str) -> None:
        if not isinstance(windows, list):
            raise ScheduleError(f"{where}: opening windows must be a list")
        for w in windows:
            if not (isinstance(w, tuple) and len(w) == 2 and all(isinstance(t, time) for t in w)):
                raise ScheduleError(f"{where}: window {w!r} must be a (start, end) pair of times")
            if any(t.tzinfo is not None for t in w):
                raise ScheduleError(f"{where}: window times are wall-clock times without a timezone")

    def to_json(self) -> dict:
        def wins(ws: list[Window]) -> list[list[str]]:
            return [[_fmt_time(a), _fmt_time(b, end=True)] for a, b in ws]

        return {
            "timezone": self.timezone,
            "week": {DAY_NAMES[d]: wins(ws) for d, ws in sorted(self.week.items())},
            "holidays_country": self.holidays_country,
            "holidays_subdiv": self.holidays_subdiv,
            "closed_dates": sorted(d.isoformat() for d in self.closed_dates),
            "special_hours": {d.isoformat(): wins(ws) for d, ws in sorted(self.special_hours.items())},
            "away": [
                {
                    "start": p.start.isoformat(),
                    "end": p.end.isoformat() if p.end is not None else None,
                    "message": p.message,
                }
                for p in self.away
            ],
        }

    @classmethod
    def from_json(cls, d: Any) -> Schedule:
        if not isinstance(d, dict):
            raise ScheduleError("schedule must be a JSON object")

        def wins(raw: Any, where: str) -> list[Window]:
            if not isinstance(raw, list):
                raise ScheduleError(f"{where}: expected a list of [start, end] pairs")
            out = []
            for w in raw:
                if not (isinstance(w, list) and len(w) == 2 and all(isinstance(x, str) for x in w)):
                    raise ScheduleError(f"{where}: window {w!r} must be [\"HH:MM\", \"HH:MM\"]")
                out.append((_parse_time(w[0], False, where), _parse_time(w[1], True, where)))
            return out

        def iso_date(raw: Any, where: str) -> date:
            try:
                return date.fromisoformat(raw)
            except (TypeError, ValueError) as e:
                raise ScheduleError(f"{where}: {raw!r} is not a date like 2024-12-24") from e

        def iso_dt(raw: Any, where: str) -> datetime:
            try:
                dt = datetime.fromisoformat(raw)
            except (TypeError, ValueError) as e:
                raise ScheduleError(f"{where}: {raw!r} is not an ISO date-time") from e
            if dt.tzinfo is None:
                raise ScheduleError(f"{where}: {raw!r} needs a UTC offset")
            return dt.astimezone(UTC)

        tz = d.get("timezone", "UTC")
        if not isinstance(tz, str):
            raise ScheduleError("timezone must be a string")
        week_raw = d.get("week", {})
        if not isinstance(week_raw, dict):
            raise ScheduleError("week must be an object keyed by day (mon..sun)")
        week: dict[int, list[Window]] = {}
        for key, raw in week_raw.items():
            if key not in DAY_NAMES:
                raise ScheduleError(f"week: unknown day {key!r} (use mon, tue, wed, thu, fri, sat, sun)")
            week[DAY_NAMES.index(key)] = wins(raw, key)
        country, subdiv = d.get("holidays_country", ""), d.get("holidays_subdiv", "")
        if not isinstance(country, str) or not isinstance(subdiv, str):
            raise ScheduleError("holiday country and region must be strings")
        closed_raw = d.get("closed_dates", [])
        if not isinstance(closed_raw, list):
            raise ScheduleError("closed_dates must be a list of dates")
        special_raw = d.get("special_hours", {})
        if not isinstance(special_raw, dict):
            raise ScheduleError("special_hours must be an object keyed by date")
        away_raw = d.get("away", [])
        if not isinstance(away_raw, list):
            raise ScheduleError("away must be a list")
        away = []
        for p in away_raw:
            if not isinstance(p, dict) or "start" not in p:
                raise ScheduleError(f"away entry {p!r} needs a start")
            message = p.get("message", "")
            if not isinstance(message, str):
                raise ScheduleError("away message must be text")
            end = p.get("end")
            away.append(
                AwayPeriod(
                    iso_dt(p["start"], "away start"),
                    iso_dt(end, "away end") if end is not None else None,
                    message,
                )
            )
        return cls(
            timezone=tz,
            week=week,
            holidays_country=country,
            holidays_subdiv=subdiv,
            closed_dates={iso_date(x, "closed date") for x in closed_raw},
            special_hours={iso_date(k, "special hours"): wins(v, f"special hours {k}") for k, v in special_raw.items()},
            away=away,
        )

    # -- the calendar ------------------------------------------------------------------------------

    @property
    def _tz(self) -> ZoneInfo:
        # ZoneInfo() keeps its own cache, so this stays right if `timezone` is reassigned.
        return _zone(self.timezone)

    def is_holiday(self, d: date) -> bool:
        if not self.holidays_country:
            return False
        cal = _holiday_calendar(self.holidays_country, self.holidays_subdiv)
        with _holiday_lock:
            return d in cal

    def _day_intervals(self, d: date) -> tuple[Interval, ...]:
        """UTC intervals of the windows starting on local date `d`, before away periods."""
        if d in self.closed_dates:
            return ()
        windows = self.special_hours.get(d)
        if windows is None:
            windows = self.week.get(d.weekday())
            if not windows or self.is_holiday(d):
                return ()
        return _localized_windows(self.timezone, d, tuple(windows))

    def _minus_away(self, s: datetime, e: datetime) -> Iterator[Interval]:
        pieces = [(s, e)]
        for p in self.away:
            pend = p.end
            nxt = []
            for a, b in pieces:
                if p.start >= b or (pend is not None and pend <= a):
                    nxt.append((a, b))
                    continue
                if a < p.start:
                    nxt.append((a, p.start))
                if pend is not None and pend < b:
                    nxt.append((pend, b))
            pieces = nxt
        pieces.sort()
        yield from pieces

    def open_intervals(self, start: datetime, end: datetime) -> Iterator[Interval]:
        """Merged open intervals within [start, end), in UTC, earliest first (lazy: day by day)."""
        start = _require_aware(start, "start")
        end = _require_aware(end, "end")
        if end <= start:
            return
        d = start.astimezone(self._tz).date() - timedelta(days=1)
        last = end.astimezone(self._tz).date()
        pending: Interval | None = None
        while d <= last:
            for s, e in self._day_intervals(d):
                s, e = max(s, start), min(e, end)
                if s >= e:
                    continue
                for a, b in self._minus_away(s, e):
                    if pending is not None and a <= pending[1]:
                        pending = (pending[0], max(pending[1], b))
                    else:
                        if pending is not None:
                            yield pending
                        pending = (a, b)
            d += timedelta(days=1)
        if pending is not None:
            yield pending

    def _intervals_backwards(self, end: datetime, limit: datetime) -> Iterator[Interval]:
        """Open intervals before `end` down to `limit`, latest first (pieces split at week boundaries)."""
        hi = end
        while hi > limit:
            lo = max(hi - _CHUNK, limit)
            yield from reversed(list(self.open_intervals(lo, hi)))
            hi = lo

    # -- questions ---------------------------------------------------------------------------------

    def away_at(self, now: datetime) -> AwayPeriod | None:
        """The active away period at `now` (the one lasting longest if several overlap), or None."""
        now = _require_aware(now, "now")
        active = [p for p in self.away if p.covers(now)]
        if not active:
            return None
        return max(active, key=lambda p: (p.end is None, p.end or now))

    def is_open(self, now: datetime) -> bool:
        now = _require_aware(now, "now")
        if self.away_at(now) is not None:
            return False
        d = now.astimezone(self._tz).date()
        for day in (d - timedelta(days=1), d):
            for s, e in self._day_intervals(day):
                if s <= now < e:
                    return True
        return False

    def next_open(self, now: datetime) -> datetime:
        """`now` if open, else the next opening instant (UTC); ScheduleError if none within HORIZON."""
        now = _require_aware(now, "now")
        if self.is_open(now):
            return now
        for s, _e in self.open_intervals(now, now + HORIZON):
            return s
        raise ScheduleError("never open: no opening hours within the next 400 days")

    def next_close(self, now: datetime) -> datetime | None:
        """End of the current open stretch (or of the next one while closed); None beyond HORIZON."""
        now = _require_aware(now, "now")
        horizon = now + HORIZON
        for _s, e in self.open_intervals(now, horizon):
            return None if e >= horizon else e
        return None

    def closed_period_key(self, now: datetime) -> str | None:
        """None while open; while closed, a key naming the instant this closed stretch began."""
        now = _require_aware(now, "now")
        if self.is_open(now):
            return None
        for _s, e in self._intervals_backwards(now, now - HORIZON):
            return "closed:" + e.strftime("%Y-%m-%dT%H:%M:%SZ")
        return "closed:long"

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

        A response target needs two instants from the same start (due soon and due); one walk over
        the open intervals instead of two halves the calendar work of bulk ingest. The results are
        exactly add_open_time's: lengths are summed as timedeltas (integer microseconds).
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

    # -- presentation ------------------------------------------------------------------------------

    def _when(self, instant: datetime, now: datetime) -> str:
        local = instant.astimezone(self._tz)
        day = _DAY_LABELS[local.weekday()]
        if local.date() - now.astimezone(self._tz).date() > timedelta(days=6):
            return f"{day} {_short_date(local.date())} {local:%H:%M}"
        return f"{day} {local:%H:%M}"

    def state_label(self, now: datetime) -> str:
        """"Open until 17:00", "Closed — opens Mon 09:00", "Away until 3 Dec", "Away", "Closed"."""
        now = _require_aware(now, "now")
        if self.away_at(now) is not None:
            end = self._away_stretch_end(now)
            if end is None:
                return "Away"
            local_end = end.astimezone(self._tz)
            if local_end.date() == now.astimezone(self._tz).date():
                return f"Away until {local_end:%H:%M}"
            return f"Away until {_short_date(local_end.date())}"
        if self.is_open(now):
            close = self.next_close(now)
            if close is None:
                return "Open"
            if close - now < timedelta(hours=24):
                return f"Open until {close.astimezone(self._tz):%H:%M}"
            return f"Open until {self._when(close, now)}"
        try:
            opens = self.next_open(now)
        except ScheduleError:
            return "Closed"
        return f"Closed — opens {self._when(opens, now)}"

    def _away_stretch_end(self, now: datetime) -> datetime | None:
        """End of the chain of overlapping/adjacent away periods covering `now` (None = open-ended)."""
        end: datetime | None = now
        changed = True
        while changed and end is not None:
            changed = False
            for p in self.away:
                if p.start <= end and (p.end is None or p.end > end):
                    end = p.end
                    changed = True
                    if end is None:
                        break
        return end


# ---------------------------------------------------------------------------------------------------
# the CLI week syntax


def _parse_days(text: str, part: str) -> list[int]:
    days: list[int] = []

    def one(name: str) -> int:
        n = name.strip().lower()
        if n in DAY_NAMES:
            return DAY_NAMES.index(n)
        if n in _FULL_DAY_NAMES:
            return _FULL_DAY_NAMES.index(n)
        raise ScheduleError(f"week spec part {part!r}: unknown day {name.strip()!r} (use mon..sun)")

    for item in text.split(","):
        if not item.strip():
            raise ScheduleError(f"week spec part {part!r}: empty day in {text!r}")
        if "-" in item:
            a, _, b = item.partition("-")
            i, j = one(a), one(b)
            # Ranges may wrap the week end ("fri-mon").
            k = i
            while True:
                days.append(k)
                if k == j:
                    break
                k = (k + 1) % 7
        else:
            days.append(one(item))
    return days


def parse_week_spec(spec: str) -> dict[int, list[Window]]:
    """Parse "mon-fri 09:00-12:30,13:30-17:00; sat 10:00-14:00; sun closed".

    Days not mentioned are absent (closed); "closed" gives an explicit empty list; a later part
    replaces the windows of days named earlier. An empty spec is an empty week.
    """
    week: dict[int, list[Window]] = {}
    for part in spec.split(";"):
        part = part.strip()
        if not part:
            continue
        m = re.match(r"^(\S+(?:\s*,\s*\S+)*?)\s+(\S.*)$", part)
        if not m:
            raise ScheduleError(f"week spec part {part!r}: expected DAYS TIMES, e.g. 'mon-fri 09:00-17:00'")
        days_text, rest = re.sub(r"\s*,\s*", ",", m.group(1)), m.group(2).strip()
        days = _parse_days(days_text, part)
        windows: list[Window] = []
        if rest.lower() != "closed":
            for w in rest.split(","):
                a, sep, b = w.strip().partition("-")
                if not sep:
                    raise ScheduleError(f"week spec part {part!r}: {w.strip()!r} is not a window like 09:00-17:00")
                what = f"week spec part {part!r}"
                windows.append((_parse_time(a, False, what), _parse_time(b, True, what)))
        for d in days:
            week[d] = list(windows)
    return week


def week_groups(week: dict[int, list[Window]]) -> list[tuple[list[Window], list[list[int]]]]:
    """The days grouped by equal windows (in the order of each group's first day), each group's days as
    runs of consecutive days: what the week spec and the customers' wording ({hours}) are written from."""
    groups: list[tuple[list[Window], list[list[int]]]] = []
    for d in sorted(week):
        for windows, runs in groups:
            if windows == week[d]:
                if runs[-1][-1] == d - 1:
                    runs[-1].append(d)
                else:
                    runs.append([d])
                break
        else:
            groups.append((week[d], [[d]]))
    return groups


def format_week_spec(week: dict[int, list[Window]]) -> str:
    """The inverse of parse_week_spec: days with equal windows grouped, consecutive days as ranges."""
    parts = []
    for windows, runs in week_groups(week):
        day_text = ",".join(
            DAY_NAMES[r[0]] if len(r) == 1 else f"{DAY_NAMES[r[0]]}-{DAY_NAMES[r[-1]]}" for r in runs
        )
        times = ",".join(f"{_fmt_time(a)}-{_fmt_time(b, end=True)}" for a, b in windows) or "closed"
        parts.append(f"{day_text} {times}")
    return "; ".join(parts)


CLOSED_WORD = "closed"  # a day's windows text for "no opening hours" (week spec, --special, the editor)
CLOSED_WEEK_TEXT = "closed every day"
_SPEC_PART_PREFIX = re.compile(r"^week spec part '.*?': ")


def format_windows(windows: list[Window]) -> str:
    """One day's windows as text, "09:00-12:30,13:30-17:00"; "closed" when there are none."""
    if not windows:
        return CLOSED_WORD
    return format_week_spec({0: windows}).split(" ", 1)[1]


def parse_windows(text: str, where: str = "") -> list[Window]:
    """One day's windows from text; "" or "closed" is a closed day. A ScheduleError names `where`
    (e.g. "Monday", "--special 2026-12-24") instead of the week-spec part it was parsed as."""
    text = text.strip()
    if not text or text.lower() == CLOSED_WORD:
        return []
    try:
        return parse_week_spec(f"mon {text}")[0]
    except ScheduleError as exc:
        if not where:
            raise
        raise ScheduleError(f"{where}: {_SPEC_PART_PREFIX.sub('', str(exc))}") from None


def describe_week(week: dict[int, list[Window]]) -> str:
    """The week as the owner reads it: its spec, or "closed every day"."""
    return format_week_spec(week) or CLOSED_WEEK_TEXT


# --- away mode: one implementation for the command line and the window ---------------------------------

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

