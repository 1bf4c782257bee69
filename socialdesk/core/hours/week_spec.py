"""Week-spec text: the CLI week syntax ("mon-fri 09:00-17:00; sat closed") parsed and formatted, one day's
windows as text, and the week grouped by equal windows (also what {hours} is written from).
"""

from __future__ import annotations

import re

from socialdesk.core.hours.times import (
    DAY_NAMES,
    ScheduleError,
    Window,
    _fmt_time,
    _parse_time,
)

_FULL_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


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
