"""Metrics: first response, resolution, response rate, % within target, repeat contacts, reply mix,
the "Today" panel and the typical reply time used by the {typical_response} placeholder.

Pure read-only functions over the store: `now` and the schedule's timezone are passed in, nothing is
written. Aggregation is a handful of grouped SQL statements (one row per conversation or account at
most), so 20,000 conversations stay well under a second; medians and percentiles are taken in Python
over the per-conversation durations.

Decisions (what each number means):
- A *human reply* is an outbound message with via manual, snippet or platform (written by the owner on
  the platform itself) whose copy is not "failed"; a cancelled reply is deleted from the thread, so it
  never counts. Auto-replies and status posts (via auto/status) acknowledge but are never a response.
- *First response* of a conversation = the first human reply at or after its first inbound message
  (an owner-initiated thread is measured from the customer's first message). It is recomputed from
  the messages rather than read from Conversation.first_response_at, which keeps a reply that later
  failed or was cancelled.
- The window of `report(now, days, tz)` is whole calendar days in the schedule's zone: today and the
  `days - 1` days before, from local midnight to `now`. `--days 1` is "today".
- *Received* = conversations whose first inbound message falls in the window; *answered* = those of
  them that have a human reply by `now`; *response rate* = answered / received. Spam is left out of
  every number.
- Response-time figures (median and p90 first response, % within target) cover conversations whose
  first response falls in the window: "how fast were the answers given in this period".
- *Within target*: the first response came no later than first inbound + the first-response target of
  the conversation's kind and channel, counted in business hours when the rule says so
  (`Schedule.add_open_time` with the current schedule; the stored due_at is gone once answered, and
  past schedules are not kept). Without a `policy` the percentage is None ("not judged"), never a guess.
- *Resolution time* = resolved_at - first inbound, for conversations marked done in the window.
- *Repeat contacts* = conversations received in the window where the customer wrote 3 or more
  messages before the first human reply (still unanswered counts all their messages).
- *Reply mix* of replies written in the window: via manual and via platform are personal; via snippet
  is "edited" when edited_after_snippet is set, else "unchanged".
- Channel = the account's channel setting or its kind (queue.channel_of), so demo accounts report
  under the platform they simulate.
- `typical_response_text` uses the median first response of the last 30 days (wall-clock: what the
  customer experiences) and says "within a few hours" with fewer than 3 measured responses, so one
  lucky or unlucky reply does not become a promise.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Iterable
from zoneinfo import ZoneInfo

from socialdesk.core.hours import ScheduleError
from socialdesk.core.states import ConversationStatus
from socialdesk.core.store import Account, Conversation, from_micros, to_micros

UTC = timezone.utc
REPEAT_THRESHOLD = 3
TYPICAL_WINDOW_DAYS = 30
TYPICAL_MIN_SAMPLES = 3
DEFAULT_TYPICAL_RESPONSE = "within a few hours"

# First human reply at/after the first inbound message, per conversation (spam excluded).
_FIRST_REPLY_SQL = """
SELECT m.conversation_id AS conversation_id, MIN(m.created_at) AS first_reply
FROM message m JOIN conversation c ON c.id = m.conversation_id
WHERE m.direction = 'out' AND m.via IN ('manual', 'snippet', 'platform')
  AND COALESCE(json_extract(m.meta, '$.state'), '') != 'failed'
  AND c.first_inbound_at IS NOT NULL AND m.created_at >= c.first_inbound_at
  AND c.status != 'spam'
GROUP BY m.conversation_id
"""


@dataclass
class ChannelStats:
    """One row of the report (a channel, or the totals with channel "all")."""

    channel: str
    received: int = 0
    answered: int = 0
    response_rate: float | None = None  # answered / received, 0..1
    first_responses: int = 0  # how many first responses fall in the window (the sample below)
    first_response_median_s: int | None = None
    first_response_p90_s: int | None = None
    judged: int = 0  # first responses judged against a target
    within_target: int = 0
    within_target_pct: float | None = None  # 0..100
    resolved: int = 0
    resolution_median_s: int | None = None
    overdue_now: int = 0
    repeat_contacts: int = 0
    personal: int = 0
    edited_snippet: int = 0
    unchanged_snippet: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Report:
    start: datetime  # UTC; local midnight of the first day
    end: datetime  # UTC; `now`
    days: int
    timezone: str
    channels: list[ChannelStats]  # sorted by channel name
    total: ChannelStats

    def to_json(self) -> dict[str, Any]:
        return {
            "start": _iso(self.start),
            "end": _iso(self.end),
            "days": self.days,
            "timezone": self.timezone,
            "channels": [c.to_json() for c in self.channels],
            "total": self.total.to_json(),
        }


@dataclass
class TodaySummary:
    """The Today panel: today's work plus the 7-day picture."""

    date: date  # today in the schedule's zone
    answered_today: int  # conversations with a human reply written today
    received_today: int  # conversations whose first message arrived today
    personal_today: int
    edited_snippet_today: int
    unchanged_snippet_today: int
    awaiting_now: int
    overdue_now: int
    repeat_waiting_ids: list[int] = field(default_factory=list)  # open, 3+ unanswered messages
    week: Report | None = None  # report(now, 7, tz)

    def to_json(self) -> dict[str, Any]:
        return {
            "date": self.date.isoformat(),
            "answered_today": self.answered_today,
            "received_today": self.received_today,
            "personal_today": self.personal_today,
            "edited_snippet_today": self.edited_snippet_today,
            "unchanged_snippet_today": self.unchanged_snippet_today,
            "awaiting_now": self.awaiting_now,
            "overdue_now": self.overdue_now,
            "repeat_waiting_ids": list(self.repeat_waiting_ids),
            "week": self.week.to_json() if self.week else None,
        }


# --- helpers ------------------------------------------------------------------------------------


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _zone(tz: ZoneInfo | str) -> ZoneInfo:
    return tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)


def _require_aware(now: datetime) -> datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(UTC)


def day_start(now: datetime, tz: ZoneInfo | str, days_back: int = 0) -> datetime:
    """UTC instant of local midnight `days_back` days before today in `tz`."""
    zone = _zone(tz)
    local_day = now.astimezone(zone).date() - timedelta(days=days_back)
    return datetime.combine(local_day, time(0), tzinfo=zone).astimezone(UTC)


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile (an actual observed value; p90 of 10 values is the 9th smallest)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def _seconds(value: float | None) -> int | None:
    return None if value is None else int(round(value))


def _db():
    return Conversation._meta.database


def _channels() -> dict[int, str]:
    # Imported here: queue imports targets/hours, and metrics must stay importable on its own.
    from socialdesk.core.queue import channel_of

    return {a.id: channel_of(a) for a in Account.select()}


def _first_replies() -> dict[int, int]:
    return {cid: at for cid, at in _db().execute_sql(_FIRST_REPLY_SQL).fetchall()}


def _reply_mix(start: int, end: int) -> dict[int, tuple[int, int, int]]:
    """account id -> (personal, edited, unchanged) human replies written in [start, end]."""
    sql = """
    SELECT m.account_id,
           SUM(CASE WHEN m.via IN ('manual', 'platform') THEN 1 ELSE 0 END),
           SUM(CASE WHEN m.via = 'snippet' AND m.edited_after_snippet THEN 1 ELSE 0 END),
           SUM(CASE WHEN m.via = 'snippet' AND NOT m.edited_after_snippet THEN 1 ELSE 0 END)
    FROM message m JOIN conversation c ON c.id = m.conversation_id
    WHERE m.direction = 'out' AND m.via IN ('manual', 'snippet', 'platform')
      AND COALESCE(json_extract(m.meta, '$.state'), '') != 'failed'
      AND c.status != 'spam' AND m.created_at >= ? AND m.created_at <= ?
    GROUP BY m.account_id
    """
    return {row[0]: (row[1] or 0, row[2] or 0, row[3] or 0) for row in _db().execute_sql(sql, (start, end))}


def _overdue_by_account(now_us: int) -> dict[int, int]:
    sql = """
    SELECT account_id, COUNT(*) FROM conversation
    WHERE status = 'open' AND awaiting_since IS NOT NULL AND due_at IS NOT NULL AND due_at <= ?
    GROUP BY account_id
    """
    return dict(_db().execute_sql(sql, (now_us,)).fetchall())


def _repeat_conversations(start: int, end: int) -> dict[int, int]:
    """Conversations (id -> account id) received in [start, end] whose customer wrote 3+ times
    before a human reply."""
    sql = f"""
    WITH fr AS ({_FIRST_REPLY_SQL})
    SELECT c.id, c.account_id
    FROM conversation c
    JOIN message m ON m.conversation_id = c.id AND m.direction = 'in'
    LEFT JOIN fr ON fr.conversation_id = c.id
    WHERE c.status != 'spam' AND c.first_inbound_at >= ? AND c.first_inbound_at <= ?
      AND (fr.first_reply IS NULL OR m.created_at < fr.first_reply)
    GROUP BY c.id HAVING COUNT(*) >= {REPEAT_THRESHOLD}
    """
    return dict(_db().execute_sql(sql, (start, end)).fetchall())


def _within_target(
    kind: str, channel: str, first_inbound: datetime, first_reply: datetime, policy: Any
) -> bool | None:
    """Was the first reply in time? None when it cannot be judged (schedule never open)."""
    rule = policy.targets.rule_for(kind, channel)
    budget = timedelta(minutes=rule.first_response_minutes)
    # Open time never exceeds wall time, so a reply within the wall-clock budget is always in time:
    # the schedule arithmetic runs only for the slower replies.
    if first_reply - first_inbound <= budget:
        return True
    if not rule.business_hours:
        return False
    try:
        due = policy.schedule.add_open_time(first_inbound, budget.total_seconds())
    except ScheduleError:
        return None
    return first_reply <= due


# --- the report ---------------------------------------------------------------------------------


def report(now: datetime, days: int, tz: ZoneInfo | str, policy: Any = None) -> Report:
    """Per-channel and total metrics for today and the `days - 1` days before (see module docstring).

    `policy` (queue.Policy) is needed to judge "% within target"; without it that stays None.
    """
    if days < 1:
        raise ValueError("days must be at least 1")
    now = _require_aware(now)
    zone = _zone(tz)
    start = day_start(now, zone, days - 1)
    s_us, n_us = to_micros(start), to_micros(now)
    channels = _channels()
    first_replies = _first_replies()
    rows: dict[str, ChannelStats] = {}
    samples: dict[str, dict[str, list[float]]] = {}

    def stats(channel: str) -> ChannelStats:
        if channel not in rows:
            rows[channel] = ChannelStats(channel)
            samples[channel] = {"first": [], "resolution": []}
        return rows[channel]

    convs = _db().execute_sql(
        """
        SELECT id, account_id, kind, status, first_inbound_at, resolved_at FROM conversation
        WHERE status != 'spam' AND first_inbound_at IS NOT NULL
          AND ((first_inbound_at >= ? AND first_inbound_at <= ?)
               OR (resolved_at >= ? AND resolved_at <= ?)
               OR id IN (SELECT value FROM json_each(?)))
        """,
        (s_us, n_us, s_us, n_us, _ids_json(cid for cid, at in first_replies.items() if s_us <= at <= n_us)),
    ).fetchall()
    for conv_id, account_id, kind, status, inbound_us, resolved_us in convs:
        channel = channels.get(account_id, "")
        row = stats(channel)
        reply_us = first_replies.get(conv_id)
        if s_us <= inbound_us <= n_us:
            row.received += 1
            if reply_us is not None and reply_us <= n_us:
                row.answered += 1
        if reply_us is not None and s_us <= reply_us <= n_us:
            row.first_responses += 1
            samples[channel]["first"].append((reply_us - inbound_us) / 1e6)
            if policy is not None:
                verdict = _within_target(kind, channel, from_micros(inbound_us), from_micros(reply_us), policy)
                if verdict is not None:
                    row.judged += 1
                    row.within_target += int(verdict)
        if status == ConversationStatus.DONE and resolved_us is not None and s_us <= resolved_us <= n_us:
            row.resolved += 1
            samples[channel]["resolution"].append(max(0, resolved_us - inbound_us) / 1e6)
    for account_id, count in _overdue_by_account(n_us).items():
        stats(channels.get(account_id, "")).overdue_now += count
    for account_id in _repeat_conversations(s_us, n_us).values():
        stats(channels.get(account_id, "")).repeat_contacts += 1
    for account_id, (personal, edited, unchanged) in _reply_mix(s_us, n_us).items():
        row = stats(channels.get(account_id, ""))
        row.personal += personal
        row.edited_snippet += edited
        row.unchanged_snippet += unchanged

    total = ChannelStats("all")
    all_first: list[float] = []
    all_resolution: list[float] = []
    for channel, row in rows.items():
        _finish(row, samples[channel]["first"], samples[channel]["resolution"], policy is not None)
        all_first += samples[channel]["first"]
        all_resolution += samples[channel]["resolution"]
        for name in (
            "received", "answered", "first_responses", "judged", "within_target", "resolved",
            "overdue_now", "repeat_contacts", "personal", "edited_snippet", "unchanged_snippet",
        ):
            setattr(total, name, getattr(total, name) + getattr(row, name))
    _finish(total, all_first, all_resolution, policy is not None)
    return Report(start, now, days, zone.key, sorted(rows.values(), key=lambda r: r.channel), total)


def _ids_json(ids: Iterable[int]) -> str:
    # One bound JSON parameter instead of thousands of "?" placeholders (SQLite caps those).
    return "[" + ",".join(str(int(i)) for i in ids) + "]"


def _finish(row: ChannelStats, first: list[float], resolution: list[float], judged: bool) -> None:
    row.response_rate = row.answered / row.received if row.received else None
    row.first_response_median_s = _seconds(median(first))
    row.first_response_p90_s = _seconds(percentile(first, 90))
    row.resolution_median_s = _seconds(median(resolution))
    row.within_target_pct = 100.0 * row.within_target / row.judged if judged and row.judged else None


# --- the Today panel ----------------------------------------------------------------------------


def today_summary(now: datetime, tz: ZoneInfo | str, policy: Any = None) -> TodaySummary:
    """Today's counts in the schedule's zone plus the 7-day report (`policy` as for `report`)."""
    now = _require_aware(now)
    zone = _zone(tz)
    start = day_start(now, zone)
    s_us, n_us = to_micros(start), to_micros(now)
    db = _db()
    answered = db.execute_sql(
        """
        SELECT COUNT(DISTINCT m.conversation_id) FROM message m
        JOIN conversation c ON c.id = m.conversation_id
        WHERE m.direction = 'out' AND m.via IN ('manual', 'snippet', 'platform')
          AND COALESCE(json_extract(m.meta, '$.state'), '') != 'failed'
          AND c.status != 'spam' AND m.created_at >= ? AND m.created_at <= ?
        """,
        (s_us, n_us),
    ).fetchone()[0]
    received = db.execute_sql(
        "SELECT COUNT(*) FROM conversation WHERE status != 'spam'"
        " AND first_inbound_at >= ? AND first_inbound_at <= ?",
        (s_us, n_us),
    ).fetchone()[0]
    mix = [0, 0, 0]
    for values in _reply_mix(s_us, n_us).values():
        mix = [a + b for a, b in zip(mix, values, strict=True)]
    awaiting = db.execute_sql(
        "SELECT COUNT(*) FROM conversation WHERE status = 'open' AND awaiting_since IS NOT NULL"
    ).fetchone()[0]
    repeat_ids = [
        row[0]
        for row in db.execute_sql(
            "SELECT id FROM conversation WHERE status = 'open' AND awaiting_since IS NOT NULL"
            " AND unanswered_count >= ? ORDER BY unanswered_count DESC, awaiting_since, id",
            (REPEAT_THRESHOLD,),
        )
    ]
    return TodaySummary(
        date=now.astimezone(zone).date(),
        answered_today=answered,
        received_today=received,
        personal_today=mix[0],
        edited_snippet_today=mix[1],
        unchanged_snippet_today=mix[2],
        awaiting_now=awaiting,
        overdue_now=sum(_overdue_by_account(n_us).values()),
        repeat_waiting_ids=repeat_ids,
        week=report(now, 7, zone, policy),
    )


# --- typical response ---------------------------------------------------------------------------


def typical_response_seconds(now: datetime) -> float | None:
    """Median first response (wall clock) of the last 30 days; None with too few samples."""
    now = _require_aware(now)
    lo, hi = to_micros(now - timedelta(days=TYPICAL_WINDOW_DAYS)), to_micros(now)
    durations = [
        (reply_us - inbound_us) / 1e6
        for reply_us, inbound_us in _db().execute_sql(
            f"""
            WITH fr AS ({_FIRST_REPLY_SQL})
            SELECT fr.first_reply, c.first_inbound_at FROM fr JOIN conversation c
              ON c.id = fr.conversation_id
            WHERE fr.first_reply >= ? AND fr.first_reply <= ?
            """,
            (lo, hi),
        )
    ]
    if len(durations) < TYPICAL_MIN_SAMPLES:
        return None
    return statistics.median(durations)


def describe_duration(seconds: float) -> str:
    """A promise a customer can read: "within a few minutes", "within about 2 hours", ..."""
    minutes = seconds / 60
    if minutes < 10:
        return "within a few minutes"
    if minutes < 50:
        return f"within about {max(10, int(round(minutes / 10)) * 10)} minutes"
    if minutes < 90:
        return "within about an hour"
    hours = minutes / 60
    if hours < 20:
        return f"within about {int(round(hours))} hours"
    if hours < 36:
        return "within a day"
    return f"within about {int(round(hours / 24))} days"


def typical_response_text(now: datetime) -> str:
    """For {typical_response}: e.g. "within about 2 hours"; "within a few hours" without data."""
    seconds = typical_response_seconds(now)
    return DEFAULT_TYPICAL_RESPONSE if seconds is None else describe_duration(seconds)
