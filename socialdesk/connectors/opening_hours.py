"""Opening hours as a platform is told them: the neutral model a connector that can publish hours
speaks (`OpeningHours`), and the capability's shape (`HoursPublisher`).

Decisions:
- Below core, so connectors can use it (they never import core). core/hours_publish.py builds an
  `OpeningHours` from the owner's schedule (core/hours) and asks each connector that has the capability
  (Google Business Profile now; a Facebook Page could later) what it shows, then publishes after the
  owner confirmed.
- Times are local wall-clock "HH:MM" strings of the business's timezone, as listings show them; a
  period closing at midnight closes at "24:00" of its day, an overnight one on the next day.
- `special` lists the dates that differ from the week (holidays, closed dates, special hours, away
  days): an empty tuple of windows means closed all day. Both sides are put in one canonical order
  (`canonical`), so equal hours compare equal whatever order a platform listed them in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol, runtime_checkable

DAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")  # weekday() order


@dataclass(frozen=True, order=True)
class WeeklyPeriod:
    open_day: int  # 0 = Monday
    open_time: str  # "HH:MM"
    close_day: int
    close_time: str  # "HH:MM", "24:00" for midnight at the end of close_day


@dataclass(frozen=True, order=True)
class SpecialDay:
    day: date
    windows: tuple[tuple[str, str], ...]  # (open "HH:MM", close "HH:MM" or "24:00"); () = closed all day


@dataclass(frozen=True)
class OpeningHours:
    weekly: tuple[WeeklyPeriod, ...] = ()
    special: tuple[SpecialDay, ...] = ()

    def canonical(self) -> "OpeningHours":
        return OpeningHours(tuple(sorted(set(self.weekly))),
                            tuple(sorted({SpecialDay(s.day, tuple(sorted(s.windows))) for s in self.special})))


def kept(publisher: object, hours: "OpeningHours") -> "OpeningHours":
    """What of `hours` the platform can hold: all of it, or only the week where the connector declares
    `special_days = False` (a Facebook Page lists a weekly schedule and no special dates). Differences
    and publishing both use this, so a platform is never shown changes it cannot take."""
    if getattr(publisher, "special_days", True):
        return hours
    return OpeningHours(hours.weekly, ())


@runtime_checkable
class HoursPublisher(Protocol):
    """A connector that can show and set the business's opening hours on the platform."""

    def current_hours(self) -> OpeningHours: ...

    def publish_hours(self, hours: OpeningHours) -> None: ...
