"""Status posts' schedule: the opening/closing/away transitions to announce, their idempotency keys, which
accounts can post, and the preview the hours dialog and CLI show.

Decisions:
- Status posts: the tick hook finds the transitions (opening, closing, away start, away end) of the last
  24 hours. Each has the key "status:<account id>:<kind>:<UTC instant>". Within `grace_minutes` (15) of
  the instant it is queued; later it is recorded as a "skipped" outbox row with the reason (N min late),
  which logs it exactly once and consumes the key so it can never be posted later. A pending status
  post whose instant is older than the grace window (account offline, retries) is skipped the same way.
  Transitions before an account's `enabled_since` are ignored, so enabling posts does not log a day
  of "missed" posts.
- A break shorter than `MIN_CLOSED_GAP` (3 h, e.g. lunch) is no opening/closing for posts, and an
  opening or closing caused by an away period is announced by the away post instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from socialdesk.connectors import traits
from socialdesk.core import queue
from socialdesk.core.automation.config import (
    STATUS_KINDS,
    UTC,
    AutomationConfig,
    load_config,
)
from socialdesk.core.automation.render import (
    _base_context,
    format_next_close,
    render_text,
)
from socialdesk.core.hours import Schedule
from socialdesk.core.settings import Settings
from socialdesk.core.store import (
    Account,
)

MIN_CLOSED_GAP = timedelta(hours=3)


# --- status post schedule --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Transition:
    when: datetime
    kind: str  # opening | closing | away_start | away_end


def status_transitions(schedule: Schedule, start: datetime, end: datetime) -> list[Transition]:
    """Transitions worth a status post with `start < when <= end`, earliest first."""
    tiny = timedelta(microseconds=1)
    out: list[Transition] = []
    intervals = list(schedule.open_intervals(start - MIN_CLOSED_GAP, end + MIN_CLOSED_GAP))
    for i, (s, e) in enumerate(intervals):
        if start < s <= end and schedule.away_at(s - tiny) is None:
            if i == 0 or intervals[i - 1][1] <= s - MIN_CLOSED_GAP:
                out.append(Transition(s, "opening"))
        if start < e <= end and schedule.away_at(e) is None:
            if i + 1 == len(intervals) or intervals[i + 1][0] >= e + MIN_CLOSED_GAP:
                out.append(Transition(e, "closing"))
    for p in schedule.away:
        if start < p.start <= end and schedule.away_at(p.start - tiny) is None:
            out.append(Transition(p.start, "away_start"))
        if p.end is not None and start < p.end <= end and schedule.away_at(p.end) is None:
            out.append(Transition(p.end, "away_end"))
    unique = {(t.when, t.kind): t for t in out}
    return sorted(unique.values(), key=lambda t: (t.when, STATUS_KINDS.index(t.kind)))


def status_key(account_id: int, kind: str, when: datetime) -> str:
    return f"status:{account_id}:{kind}:{when.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"


def _key_instant(key: str) -> datetime | None:
    parts = key.split(":", 3)  # status, account id, kind, instant (which has colons of its own)
    try:
        return datetime.strptime(parts[3], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except (ValueError, IndexError):
        return None


def can_post(account: Account) -> bool:
    """Whether this account's platform can publish a status post: the capability of the platform it
    posts to (a demo account answers as the platform it simulates, so a demo email channel cannot)."""
    from socialdesk.connectors import registry

    channel = queue.channel_of(account)
    try:
        return "post_status" in registry.spec(channel if traits.known(channel) else account.kind).capabilities
    except registry.UnknownKindError:
        return False


@dataclass(frozen=True)
class PlannedPost:
    when: datetime
    account_id: int
    account_name: str
    kind: str
    text: str
    where: str = ""  # "scheduled on Mastodon" when the platform holds it (platform_schedule), else ""
    cost: str = ""  # what the post costs where the platform bills posts (core/usage.post_cost), else ""


def preview_status_posts(
    settings: Settings, schedule: Schedule, now: datetime, days: int = 7, config: AutomationConfig | None = None
) -> list[PlannedPost]:
    """The automatic posts of the next `days` days, for the hours editor and `hours show`.

    `config` is the automation configuration to preview (the hours editor's unsaved edits); by default
    the stored one."""
    config = config if config is not None else load_config(settings)
    accounts = [
        a for a in Account.select().where(Account.enabled == True).order_by(Account.name)  # noqa: E712
        if config.posts_for(a.id) is not None and can_post(a)
    ]
    if not accounts:
        return []
    from socialdesk.core import metrics, usage
    from socialdesk.core.automation.platform_schedule import scheduled_keys

    typical = metrics.typical_response_text(now)
    marks = scheduled_keys(a.id for a in accounts)
    out = []
    for t in status_transitions(schedule, now, now + timedelta(days=days)):
        ctx = _base_context(settings, schedule, t.when, typical)
        next_close = format_next_close(schedule.next_close(t.when), t.when, schedule.timezone)
        for account in accounts:
            body = config.status_posts[account.id].texts.get(t.kind, "")
            if body.strip():
                text = render_text(body, ctx, next_close)
                held_text, mark = marks.get(status_key(account.id, t.kind, t.when), ("", ""))
                out.append(PlannedPost(t.when, account.id, account.name, t.kind, text,
                                       mark if held_text == text else "", usage.post_cost(account, text)))
    return out
