"""Publishing the owner's opening hours to the platforms that list the business (Google Maps and Search
now), so what customers read there is what the schedule says.

Decisions:
- Generic: any account whose connector is a `connectors.opening_hours.HoursPublisher` takes part; no
  platform is named here. `survey` builds the hours once (`wanted`), keeps what each platform can hold
  (`opening_hours.kept`), asks each connector what it shows now (`current_hours`) and lists what would
  change (`differences`); only after the owner confirmed (the CLI's prompt or --yes, the hours editor's
  Publish button) is `publish` called. Nothing is written in a dry run. The CLI and the window share
  these three calls.
- The week: every window of the weekly schedule, as local wall-clock times of the schedule's zone (a
  window ending at 00:00 closes at "24:00" of its day; one ending earlier than it opens closes the next
  day). Special days: every date of the next `days` (default HORIZON_DAYS = 90) whose hours differ
  from its weekday's: public holidays and closed dates (closed), special hours, and away periods (the
  day's windows minus the away time; closed when nothing is left; an overnight window that an away
  period cuts keeps only the part that starts on its own day). Dates beyond the horizon are not
  sent; publishing again later (the owner's call, `socialdesk hours publish`) moves the horizon on.
- Publishing replaces the platform's special days as a whole: special days it lists that the schedule
  does not have (say, set by hand on the platform) are shown in the differences as going away.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Iterable
from zoneinfo import ZoneInfo

from socialdesk.connectors.opening_hours import (
    DAYS,
    HoursPublisher,
    OpeningHours,
    SpecialDay,
    WeeklyPeriod,
    kept,
)
from socialdesk.core.hours import Schedule

HORIZON_DAYS = 90


def _hhmm(value: time) -> str:
    return f"{value.hour:02d}:{value.minute:02d}"


def _week_windows(schedule: Schedule, weekday: int) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((_hhmm(a), "24:00" if b == time(0) else _hhmm(b)) for a, b in schedule.week.get(weekday, [])))


def _base_windows(schedule: Schedule, day: date) -> list[tuple[time, time]]:
    """The day's windows before away periods (the same precedence as Schedule's own answers)."""
    if day in schedule.closed_dates:
        return []
    if day in schedule.special_hours:
        return list(schedule.special_hours[day])
    if schedule.is_holiday(day):
        return []
    return list(schedule.week.get(day.weekday(), []))


def _minus_away(schedule: Schedule, day: date, windows: list[tuple[time, time]]) -> tuple[tuple[str, str], ...]:
    """The windows of `day` minus the away periods, as local "HH:MM" pairs."""
    zone = ZoneInfo(schedule.timezone)
    out: list[tuple[str, str]] = []
    for a, b in windows:
        start = datetime.combine(day, a, zone)
        end = datetime.combine(day if (b > a and b != time(0)) else day + timedelta(days=1), b, zone)
        pieces = [(start, end)]
        for period in schedule.away:
            cut = []
            for s, e in pieces:
                if period.start >= e or (period.end is not None and period.end <= s):
                    cut.append((s, e))
                    continue
                if s < period.start:
                    cut.append((s, period.start.astimezone(zone)))
                if period.end is not None and period.end < e:
                    cut.append((period.end.astimezone(zone), e))
            pieces = cut
        for s, e in pieces:
            if s.date() > day:
                continue  # the after-midnight rest of an overnight window cut by an away period: not listed
            closes = "24:00" if e.date() > day and e.time() == time(0) else _hhmm(e.timetz())
            out.append((_hhmm(s.timetz()), closes))
    return tuple(sorted(out))


def wanted(schedule: Schedule, today: date, days: int = HORIZON_DAYS) -> OpeningHours:
    """The hours to publish: the week, and the next `days` dates that differ from it."""
    weekly = []
    for weekday, windows in schedule.week.items():
        for a, b in windows:
            overnight = b != time(0) and b <= a
            weekly.append(WeeklyPeriod(weekday, _hhmm(a), (weekday + 1) % 7 if overnight else weekday,
                                       "24:00" if b == time(0) else _hhmm(b)))
    special = []
    for offset in range(days):
        day = today + timedelta(days=offset)
        effective = _minus_away(schedule, day, _base_windows(schedule, day))
        if effective != _week_windows(schedule, day.weekday()):
            special.append(SpecialDay(day, effective))
    return OpeningHours(tuple(weekly), tuple(special)).canonical()


def _windows_text(windows: Iterable[tuple[str, str]]) -> str:
    text = ", ".join(f"{a}–{b}" for a, b in windows)
    return text or "closed"


def differences(current: OpeningHours, target: OpeningHours, today: date) -> list[str]:
    """Owner-readable lines, one per weekday or date that changes ("Monday: 09:00–17:00 → 09:00–18:00")."""
    lines = []
    now_week: dict[int, list[tuple[str, str]]] = {}
    new_week: dict[int, list[tuple[str, str]]] = {}
    for hours, into in ((current.canonical(), now_week), (target.canonical(), new_week)):
        for p in hours.weekly:
            close = p.close_time if p.close_day == p.open_day else f"{p.close_time} ({DAYS[p.close_day].title()})"
            into.setdefault(p.open_day, []).append((p.open_time, close))
    for weekday in range(7):
        before, after = now_week.get(weekday, []), new_week.get(weekday, [])
        if before != after:
            lines.append(f"{DAYS[weekday].title()}: {_windows_text(before)} → {_windows_text(after)}")
    before_days = {s.day: s.windows for s in current.canonical().special if s.day >= today}
    after_days = {s.day: s.windows for s in target.canonical().special}
    for day in sorted(set(before_days) | set(after_days)):
        if before_days.get(day) == after_days.get(day):
            continue
        old = _windows_text(before_days[day]) if day in before_days else "usual hours"
        new = _windows_text(after_days[day]) if day in after_days else "usual hours"
        lines.append(f"{day:%a %d %b %Y}: {old} → {new}")
    return lines


def publishers(accounts: Iterable[Any], make_connector: Any) -> list[tuple[Any, Any]]:
    """(account, connector) for every enabled account whose connector can publish hours; the others'
    connectors are closed again at once."""
    found = []
    for account in accounts:
        if not getattr(account, "enabled", True):
            continue
        connector = make_connector(account)
        if isinstance(connector, HoursPublisher):
            found.append((account, connector))
        else:
            close = getattr(connector, "close", None)
            if close is not None:
                close()
    return found


@dataclass
class Listing:
    """One account's listing in a publication: what would change there (or why it could not be read)."""

    name: str  # "Google (Shop)": the platform's name and the account's
    connector: Any
    target: OpeningHours  # what this platform can hold of the hours (opening_hours.kept)
    changes: list[str] = field(default_factory=list)
    problem: str = ""  # the platform's error, owner-readable; "" when its hours were read


def survey(accounts: Iterable[Any], make_connector: Any, schedule: Schedule, now: datetime,
           days: int = HORIZON_DAYS) -> list[Listing]:
    """For every account that can publish hours, what would change (network: off the GUI thread). The
    listings keep their connectors for `publish`; `close` them in any case."""
    from socialdesk.connectors import traits
    from socialdesk.connectors.base import ConnectorError

    today = now.astimezone(ZoneInfo(schedule.timezone)).date()
    target = wanted(schedule, today, days)
    listings = []
    for account, connector in publishers(accounts, make_connector):
        listing = Listing(f"{traits.of(account.kind).name} ({account.name})", connector, kept(connector, target))
        try:
            listing.changes = differences(connector.current_hours(), listing.target, today)
        except ConnectorError as exc:
            listing.problem = str(exc)
        listings.append(listing)
    return listings


def publish(listing: Listing) -> str:
    """Write the hours to one listing; one owner-readable line saying how it went."""
    from socialdesk.connectors.base import ConnectorError

    try:
        listing.connector.publish_hours(listing.target)
    except ConnectorError as exc:
        return f"{listing.name}: not published: {exc}"
    return f"{listing.name}: published."


def close(listings: Iterable[Listing]) -> None:
    for listing in listings:
        try:
            listing.connector.close()
        except Exception:  # noqa: BLE001 - closing must not hide what was published
            pass
