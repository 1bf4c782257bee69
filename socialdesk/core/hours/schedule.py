"""The schedule model: `Schedule` (weekly windows, holidays, closed dates, special hours, away periods),
its validation and JSON form, and every answer to "is the business open?" and "until when?".

Decisions:
- A window belongs to the local date it starts on. A window whose end <= start runs past midnight
  into the next day (Fri 18:00-02:00; 00:00-24:00 is a full day). Whether a date is closed (closed
  date, holiday) or has special hours decides only the windows that *start* on that date: Friday's
  18:00-02:00 stays open until 02:00 even if Saturday is a holiday.
- Precedence for one date: `closed_dates` > `special_hours` (the owner's explicit word for that date
  beats the holiday calendar) > public holidays > the weekly schedule.
- Away periods are closed time and win over everything; they are [start, end) in UTC, end None =
  until switched off.
- Searches are bounded by `HORIZON` (400 days): `next_open` raises ScheduleError("never open") past it
  and `next_close` returns None. Work is day by day (a few windows per day), never minute by minute.
- `closed_period_key` is derived from the instant the current closed stretch began (the end of the last
  open interval), so it stays the same when the owner extends an away period mid-stretch; a stretch that
  began before the horizon has the fixed key "closed:long".
- `next_close` while closed answers the close of the next open stretch (the next moment the business
  goes from open to closed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Iterator
from zoneinfo import ZoneInfo

from socialdesk.core.hours.business_time import BusinessTime
from socialdesk.core.hours.times import (
    DAY_NAMES,
    HORIZON,
    UTC,
    Interval,
    ScheduleError,
    Window,
    _fmt_time,
    _holiday_calendar,
    _holiday_lock,
    _localized_windows,
    _parse_time,
    _require_aware,
    _short_date,
    _zone,
    system_timezone_name,
)

_DAY_LABELS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_CHUNK = timedelta(days=7)


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
class Schedule(BusinessTime):
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
