"""The first-run assistant's facts and writes, Qt-free: whether a profile needs it, what it starts from,
and saving the owner's answers (the wizard itself is ui/first_run.py).

Decisions:
- It is offered on a profile with no business name and no account, on which it was neither finished
  nor skipped (setting "setup.done"). Never on the demo (the window does not offer it there, and the
  demo is seeded with a business name anyway). Help → Set-up assistant opens it again at any time.
- It starts from what is stored: the business and owner names, and the stored schedule if there is one
  (e.g. set with `socialdesk hours set`), else `Schedule.default()`: Monday to Friday 9:00–17:00 in
  the computer's time zone.
- Saving is one `OwnerActions.save_settings` call, so the names, the schedule and "setup.done" are
  written in one transaction, due times are recomputed for the new hours and the change is published
  like any other settings edit. Only the time zone and the week are replaced: holidays, closed dates,
  special hours and away periods of a stored schedule stay as they were.
- Skipping records "setup.done" and nothing else.
- Names are stored trimmed, with runs of whitespace (a pasted line break) made one space: they go
  into customer-facing text through {business} and {my_name}.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import available_timezones

from socialdesk.core.hours import Schedule, Window
from socialdesk.core.owner_actions import OwnerActions
from socialdesk.core.settings import Settings
from socialdesk.core.store import Account

DONE_KEY = "setup.done"
MAX_NAME = 120  # a longer "name" is a paste accident; the form stops there


@dataclass(frozen=True)
class SetupData:
    """What the assistant starts from (loaded on a worker thread)."""

    needed: bool
    business_name: str
    my_name: str
    schedule: Schedule
    timezones: tuple[str, ...] = field(default=())


def needed(settings: Settings) -> bool:
    """True on a profile that has no business name and no account, and never saw the assistant."""
    if settings.get(DONE_KEY) or (settings.get("business.name") or "").strip():
        return False
    return not Account.select().exists()


def load(settings: Settings, schedule: Schedule) -> SetupData:
    """The assistant's starting point; `schedule` is the profile's current one (its policy's)."""
    return SetupData(
        needed=needed(settings),
        business_name=settings.get("business.name") or "",
        my_name=settings.get("business.my_name") or "",
        schedule=Schedule.from_json(schedule.to_json()),  # a private copy: the caller's is shared
        timezones=tuple(sorted(available_timezones())),
    )


def clean_name(text: str) -> str:
    return " ".join(text.split())[:MAX_NAME]


def settings_values(
    base: Schedule, *, business_name: str, my_name: str, timezone: str, week: dict[int, list[Window]]
) -> dict:
    """The settings the answers become; raises hours.ScheduleError (owner-readable) for a bad zone or week."""
    schedule = Schedule.from_json(base.to_json())
    schedule.timezone = timezone.strip()
    schedule.week = {day: list(windows) for day, windows in week.items() if windows}
    schedule.validate()
    return {
        "business.name": clean_name(business_name),
        "business.my_name": clean_name(my_name),
        "hours.schedule": schedule.to_json(),
        DONE_KEY: True,
    }


def skip(owner: OwnerActions) -> None:
    owner.save_settings({DONE_KEY: True})
