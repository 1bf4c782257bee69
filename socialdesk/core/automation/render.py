"""Automatic message texts: snippets.render plus `{next_close}`, and the business context they render with.

Decisions:
- `{next_close}` (status posts only) is substituted here, around snippets.render, because the snippet
  placeholder list is for replies; everything else is snippets.render's plain substitution.
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from socialdesk.core import personalize, snippets
from socialdesk.core.hours import Schedule
from socialdesk.core.settings import Settings

_NEXT_CLOSE_RE = re.compile(r"(?<!\{)\{\s*next_close\s*(?:\|([^{}]*))?\}")


_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


# --- rendering ----------------------------------------------------------------------------------------


def _clock(local: datetime) -> str:
    return f"{local.hour}:{local.minute:02d}"


def format_next_close(when: datetime | None, now: datetime, tz: str) -> str:
    """"17:00", "2:00 tomorrow", "Friday 17:00"; "" when there is no closing within the horizon."""
    if when is None:
        return ""
    zone = ZoneInfo(tz)
    local = when.astimezone(zone)
    days = (local.date() - now.astimezone(zone).date()).days
    if days <= 0:
        return _clock(local)
    if days == 1:
        return f"{_clock(local)} tomorrow"
    return f"{_DAYS[local.weekday()]} {_clock(local)}"


def render_text(body: str, ctx: snippets.RenderContext, next_close: str = "") -> str:
    """snippets.render plus {next_close}; values are inserted verbatim, never re-scanned."""
    pieces = _NEXT_CLOSE_RE.split(body)
    # split() with one group gives [text, fallback, text, fallback, ..., text]
    out = snippets.render(pieces[0], ctx) if pieces[0] else ""
    for i in range(1, len(pieces), 2):
        fallback = pieces[i]
        out += next_close or (fallback or "")
        tail = pieces[i + 1]
        out += snippets.render(tail, ctx) if tail else ""
    return out


def _base_context(settings: Settings, schedule: Schedule, now: datetime, typical: str) -> snippets.RenderContext:
    return personalize.business_context(settings, schedule, now, typical)
