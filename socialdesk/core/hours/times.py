"""Time, zone and holiday helpers every part of the hours package uses: aware-datetime checks, wall time
to UTC across DST, memoised localised windows, holiday calendars, time-of-day text, the system zone.

Decisions:
- All datetimes in and out are timezone-aware; results are UTC. Naive input raises ValueError.
- DST: a wall time that does not exist (inside the spring-forward gap) maps to the instant the gap ends,
  for window starts and ends alike, so a 02:30 start on that day opens at 03:00 local. An ambiguous wall
  time (fall-back fold) is read as its *first* occurrence for a window start and its *last* occurrence
  for a window end, so a window covers every instant whose wall clock reads inside it.
- Localised windows are memoised per (zone, date, windows) so bulk target recomputation stays cheap;
  closed dates, holidays and away periods are read live on every call.
- Holiday calendars come from the `holidays` package, one cached instance per (country, subdiv),
  guarded by a lock because the package fills years lazily on lookup.
"""

from __future__ import annotations

import os
import re
import threading
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC = timezone.utc
HORIZON = timedelta(days=400)
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


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
            # Imported here: the package costs ~40 ms at start-up, and a schedule without a holiday
            # country (the default) never needs it.
            import holidays as holidays_pkg

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
