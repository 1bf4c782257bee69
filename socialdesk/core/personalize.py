"""Personalisation: the values behind snippet placeholders for one conversation, and the customer-facing
wording of "when we are next open" and "today".

`context_for(core, conversation_id)` builds a `snippets.RenderContext`; `format_next_open` and
`format_today` are shared with core/automation/ ("we're closed — back {next_open}").

Decisions:
- first_name: Contact.first_name (the owner may have corrected it), else the first word of the display
  name when it looks like a name (ingest.first_name_of: no digits, no "@", starts with a letter), else ""
  so the snippet's `{first_name|there}` fallback applies. We never guess from a handle.
- handle: the customer's identity on the conversation's account (the author of their latest message),
  written as the platform addresses people (its traits' `address_style`): where that is "@handle" it
  gets a leading "@" (Mastodon "user@host" becomes "@user@host"); e-mail addresses stay as they are.
- channel: the platform as a customer names it (traits' `customer_name`), lower-case "email" because it
  reads in a sentence ("thanks for your email"); demo accounts use the channel they simulate.
- next_open: "at 14:00 today", "at 9:00 tomorrow", "Monday at 8:00" within a week, "Monday 7 December
  at 8:00" beyond; 24-hour clock without a leading zero, in the schedule's zone. While open it is never a
  bare "now" ("Next time we're open: now."): it says until when, "now until 17:00", "now until 2:00
  tomorrow", "now, around the clock", so "We're open {next_open}." reads right in both states. A
  schedule that is never open gives "" (the fallback, if any, is used) rather than a wrong promise.
- hours: the weekly schedule as a customer reads it, "Monday to Friday 9:00–17:00, Saturday
  10:00–14:00": days with the same hours grouped, runs of three or more days as "Monday to Friday",
  all seven as "every day", split shifts joined by "and", a whole day as "around the clock". A week
  with no opening hours gives "" so the snippet's fallback applies.
- The values that come from the business rather than the customer (business, my_name, hours,
  next_open, typical_response, today) are built by one function, `business_context`, for replies,
  automatic messages and the snippet editor's preview alike.
- today: "Sunday 22 November" in the schedule's zone (English, like the rest of the interface).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from socialdesk.connectors import traits
from socialdesk.core import metrics, snippets
from socialdesk.core.hours import ScheduleError, week_groups
from socialdesk.core.ingest import first_name_of
from socialdesk.core.states import Direction
from socialdesk.core.store import Account, Contact, Identity, Message

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)


def _zone(tz: ZoneInfo | str) -> ZoneInfo:
    return tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)


def _clock_time(local: datetime) -> str:
    return f"{local.hour}:{local.minute:02d}"


def format_next_open(when: datetime, now: datetime, tz: ZoneInfo | str) -> str:
    """How a customer reads the next opening: "now", "at 9:00 tomorrow", "Monday at 8:00", ..."""
    if when <= now:
        return "now"
    zone = _zone(tz)
    local = when.astimezone(zone)
    days_ahead = (local.date() - now.astimezone(zone).date()).days
    at = _clock_time(local)
    if days_ahead == 0:
        return f"at {at} today"
    if days_ahead == 1:
        return f"at {at} tomorrow"
    day = _DAYS[local.weekday()]
    if days_ahead < 7:
        return f"{day} at {at}"
    return f"{day} {local.day} {_MONTHS[local.month - 1]} at {at}"


def format_opening_date(when: datetime, tz: ZoneInfo | str) -> str:
    """An opening as a reply read at an unknown later time must say it: "at 09:00 Monday 7 December"
    (no "today"/"tomorrow"; the mail server's off-hours replies, core/server_replies.py)."""
    local = when.astimezone(_zone(tz))
    return f"at {local:%H:%M} {_DAYS[local.weekday()]} {local.day} {_MONTHS[local.month - 1]}"


def format_today(now: datetime, tz: ZoneInfo | str) -> str:
    """The date in the schedule's zone, e.g. "Sunday 22 November"."""
    local = now.astimezone(_zone(tz))
    return f"{_DAYS[local.weekday()]} {local.day} {_MONTHS[local.month - 1]}"


def channel_name(channel: str) -> str:
    return traits.of(channel).customer_name


def format_handle(handle: str, channel: str) -> str:
    return traits.of(channel).address(handle)


def format_open_until(close: datetime | None, now: datetime, tz: ZoneInfo | str) -> str:
    """{next_open} while open: "now until 17:00", "now until 2:00 tomorrow", "now until Monday at 8:00",
    "now, around the clock" (no closing within the schedule's horizon)."""
    if close is None:
        return "now, around the clock"
    zone = _zone(tz)
    local = close.astimezone(zone)
    days_ahead = (local.date() - now.astimezone(zone).date()).days
    at = _clock_time(local)
    if days_ahead <= 0:
        return f"now until {at}"
    if days_ahead == 1:
        return f"now until {at} tomorrow"
    if days_ahead < 7:
        return f"now until {_DAYS[local.weekday()]} at {at}"
    return f"now until {_DAYS[local.weekday()]} {local.day} {_MONTHS[local.month - 1]} at {at}"


def next_open_text(schedule: Any, now: datetime) -> str:
    """{next_open} for a schedule (module docstring); "" when it is never open within its horizon."""
    try:
        if schedule.is_open(now):
            return format_open_until(schedule.next_close(now), now, schedule.timezone)
        when = schedule.next_open(now)
    except ScheduleError:
        return ""
    return format_next_open(when, now, schedule.timezone)


def _time_text(t: time, end: bool = False) -> str:
    if end and t == time(0):
        return "24:00"
    return f"{t.hour}:{t.minute:02d}"


def _days_text(runs: list[list[int]]) -> str:
    """[[0, 1, 2, 3, 4]] -> "Monday to Friday"; [[0], [2]] -> "Monday and Wednesday"; all seven -> "every day"."""
    if sum(map(len, runs)) == 7:
        return "every day"
    parts: list[str] = []
    for run in runs:
        if len(run) >= 3:
            parts.append(f"{_DAYS[run[0]]} to {_DAYS[run[-1]]}")
        else:
            parts.extend(_DAYS[d] for d in run)
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _windows_text(windows: list[tuple[time, time]]) -> str:
    if any(start == end for start, end in windows):  # 00:00-24:00 (a window whose end equals its start)
        return "around the clock"
    return " and ".join(f"{_time_text(a)}–{_time_text(b, end=True)}" for a, b in windows)


def format_hours(week: dict[int, list[tuple[time, time]]]) -> str:
    """The week as customers read it (module docstring); "" when it has no opening hours."""
    open_days = {day: sorted(windows) for day, windows in week.items() if windows}
    return ", ".join(f"{_days_text(runs)} {_windows_text(windows)}" for windows, runs in week_groups(open_days))


def business_context(settings: Any, schedule: Any, now: datetime, typical_response: str) -> snippets.RenderContext:
    """The placeholder values that come from the business, not the customer (module docstring)."""
    return snippets.RenderContext(
        business=settings.get("business.name") or "",
        my_name=settings.get("business.my_name") or "",
        hours=format_hours(schedule.week),
        next_open=next_open_text(schedule, now),
        typical_response=typical_response,
        today=format_today(now, schedule.timezone),
    )


def _customer_identity(conversation_id: int, account_id: int, contact_id: int | None) -> Identity | None:
    latest = (
        Message.select(Message.author)
        .where(
            (Message.conversation == conversation_id)
            & (Message.direction == Direction.IN)
            & Message.author.is_null(False)
        )
        .order_by(Message.created_at.desc(), Message.id.desc())
        .first()
    )
    if latest is not None:
        identity = Identity.get_or_none(Identity.id == latest.author_id)
        if identity is not None:
            return identity
    if contact_id is None:
        return None
    return (
        Identity.select()
        .where((Identity.contact == contact_id) & (Identity.account == account_id))
        .order_by(Identity.id)
        .first()
    )


def context_for(core: Any, conversation_id: int) -> snippets.RenderContext:
    """Placeholder values for a reply in this conversation (raises queue.QueueError if unknown)."""
    from socialdesk.core.queue import channel_of, get_conversation

    conv = get_conversation(conversation_id)
    now = core.clock.now()
    schedule = core.policy().schedule
    account = Account.get_by_id(conv.account_id)
    channel = channel_of(account)
    contact = Contact.get_or_none(Contact.id == conv.contact_id) if conv.contact_id else None
    identity = _customer_identity(conv.id, conv.account_id, conv.contact_id)
    name = (contact.display_name if contact else "") or (identity.display_name if identity else "")
    name = name or conv.contact_name
    first = (contact.first_name if contact else "") or first_name_of(name)
    return replace(
        business_context(core.settings, schedule, now, metrics.typical_response_text(now)),
        first_name=first.strip(),
        name=name.strip(),
        handle=format_handle(identity.handle if identity else "", channel),
        channel=channel_name(channel),
    )
