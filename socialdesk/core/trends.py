"""The Today panel's charts, as numbers: first response per day against the target, messages per hour of the
week against the opening hours (with the sentence that says what it means), and the share answered within
target per channel.

Pure read-only functions over the store like core/metrics.py (whose definitions they reuse: a human reply,
the first response, spam left out, channel = queue.channel_of); `now` and the policy are passed in.

Decisions:
- Windows are whole local days in the schedule's zone, today included: `TREND_DAYS` (30) for response
  times and shares, `WEEK_DAYS` (28: four of each weekday, so no weekday counts twice) for arrivals.
- First response per day: the median over the first responses given that local day, measured the way
  their target counts (open time for a business-hours rule, wall-clock time otherwise), so the bars and
  the target line are comparable. Targets differ by kind (1 h for messages, 12 h for email...): the chart
  shows the conversations held to the target most first responses in the window were held to, and says
  how many of how many that is. A day without first responses has no value (a gap, never 0).
- Arrivals: every customer message (not only a conversation's first), in the schedule's zone. The
  opening hours drawn and used for "while you are closed" are the regular weekly hours, to the minute;
  holidays, closed dates and away periods are left out: the chart is about the usual week.
- The sentence names the band where closed arrivals peak: the busiest closed hour grown by neighbours
  with at least half as many, to at most `MAX_BAND_HOURS` (midnight may fall inside), and its share of
  all messages: "40 % of your messages arrive 19:00–21:00 while you are closed". With fewer than `MIN_MESSAGES` messages, or when
  that band holds less than `MIN_SHARE` of them, it says the overall closed share instead, or that
  nothing arrived while closed.
- Share within target per channel is metrics.report over the same 30 days (one judgment, one place).
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from socialdesk.core import metrics
from socialdesk.core.hours import Schedule, ScheduleError
from socialdesk.core.store import from_micros, to_micros

TREND_DAYS = 30
WEEK_DAYS = 28
MAX_BAND_HOURS = 3
MIN_MESSAGES = 20
MIN_SHARE = 0.10
_MINUTES_PER_WEEK = 7 * 24 * 60


@dataclass
class DayResponse:
    day: date  # local date in the schedule's zone
    median_s: int | None  # None: no first response that day
    count: int


@dataclass
class ResponseTrend:
    days: list[DayResponse]  # oldest first, TREND_DAYS of them
    target_s: int  # the target line
    business_hours: bool  # the target counts opening hours only
    shown: int  # first responses held to that target (those in the bars)
    total: int  # all first responses in the window


@dataclass
class WeekArrivals:
    counts: list[list[int]]  # [weekday 0=Monday][hour 0..23] customer messages in the window
    open_minutes: list[list[int]]  # [weekday][hour] minutes of that hour the regular week is open
    total: int
    closed: int  # messages that arrived while the regular week is closed
    band: tuple[int, int] | None  # (first hour, hour after the last) of the sentence's band
    band_count: int
    sentence: str
    days: int = WEEK_DAYS


@dataclass
class ChannelShare:
    channel: str  # queue.channel_of: the UI names it through connectors.traits
    judged: int
    within: int
    pct: float | None  # 0..100; None when nothing was judged


@dataclass
class Charts:
    trend: ResponseTrend
    week: WeekArrivals
    shares: list[ChannelShare] = field(default_factory=list)


# --- first response per day ---------------------------------------------------------------------


def response_trend(now: datetime, policy: Any, days: int = TREND_DAYS) -> ResponseTrend:
    now = metrics._require_aware(now)
    schedule: Schedule = policy.schedule
    zone = metrics._zone(schedule.timezone)
    start = metrics.day_start(now, zone, days - 1)
    s_us, n_us = to_micros(start), to_micros(now)
    channels = metrics._channels()
    first_replies = metrics._first_replies()
    window = {cid: at for cid, at in first_replies.items() if s_us <= at <= n_us}
    samples: list[tuple[date, int, bool, float | None]] = []  # (day, target minutes, business, seconds)
    rows = metrics._db().execute_sql(
        "SELECT id, account_id, kind, first_inbound_at FROM conversation"
        " WHERE id IN (SELECT value FROM json_each(?))",
        (metrics._ids_json(window),),
    ).fetchall()
    for conv_id, account_id, kind, inbound_us in rows:
        rule = policy.targets.rule_for(kind, channels.get(account_id, ""))
        inbound, replied = from_micros(inbound_us), from_micros(window[conv_id])
        seconds: float | None = (replied - inbound).total_seconds()
        if rule.business_hours:
            try:
                seconds = schedule.open_seconds_between(inbound, replied)
            except ScheduleError:
                seconds = None
        day = replied.astimezone(zone).date()
        samples.append((day, rule.first_response_minutes, rule.business_hours, seconds))
    held = Counter((minutes, business) for _d, minutes, business, _s in samples)
    if held:
        (target_min, business), shown = held.most_common(1)[0]
    else:
        dm = policy.targets.rule_for("dm", "*")
        (target_min, business), shown = (dm.first_response_minutes, dm.business_hours), 0
    by_day: dict[date, list[float]] = {}
    for day, minutes, biz, seconds in samples:
        if (minutes, biz) == (target_min, business) and seconds is not None:
            by_day.setdefault(day, []).append(max(0.0, seconds))
    first_day = start.astimezone(zone).date()
    series = []
    for i in range(days):
        day = first_day + timedelta(days=i)
        values = by_day.get(day, [])
        series.append(DayResponse(day, int(round(statistics.median(values))) if values else None, len(values)))
    return ResponseTrend(series, target_min * 60, business, shown, len(samples))


# --- arrivals per hour of the week ----------------------------------------------------------------


def open_minutes_of_week(schedule: Schedule) -> list[bool]:
    """Minute of the week (0 = Monday 00:00 local) -> open in the regular weekly hours."""
    minutes = [False] * _MINUTES_PER_WEEK
    for weekday, windows in schedule.week.items():
        for opens, closes in windows:
            first = weekday * 1440 + opens.hour * 60 + opens.minute
            length = (closes.hour * 60 + closes.minute) - (opens.hour * 60 + opens.minute)
            if length <= 0:  # runs past midnight (00:00-00:00 is the whole day)
                length += 1440
            for m in range(first, first + length):
                minutes[m % _MINUTES_PER_WEEK] = True
    return minutes


def _band(closed_by_hour: list[int]) -> tuple[tuple[int, int] | None, int]:
    """The busiest closed hour (the earliest on a tie) grown by its neighbours that hold at least half
    as many closed arrivals (the busier side first), to at most MAX_BAND_HOURS, wrapping at midnight."""
    peak = max(closed_by_hour)
    if peak == 0:
        return None, 0
    first = closed_by_hour.index(peak)
    length = 1
    while length < MAX_BAND_HOURS:
        before, after = (first - 1) % 24, (first + length) % 24
        options = [(closed_by_hour[after], 1, after), (closed_by_hour[before], 0, before)]
        count, later, _hour = max(options)
        if 2 * count < peak:
            break
        first = first if later else before
        length += 1
    count = sum(closed_by_hour[(first + i) % 24] for i in range(length))
    return (first, (first + length) % 24), count


def _percent(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)} %"


def arrival_sentence(total: int, closed: int, band: tuple[int, int] | None, band_count: int, days: int) -> str:
    if total == 0:
        return f"No customer messages in the last {days} days."
    if closed == 0:
        return f"All of your messages in the last {days} days arrived while you were open."
    if band is not None and total >= MIN_MESSAGES and band_count / total >= MIN_SHARE:
        end = band[1] or 24  # a band ending at midnight ends at 24:00, not 00:00
        return (f"{_percent(band_count, total)} of your messages arrive {band[0]:02d}:00–{end:02d}:00"
                " while you are closed")
    return f"{_percent(closed, total)} of your messages arrive while you are closed"


def week_arrivals(now: datetime, schedule: Schedule, days: int = WEEK_DAYS) -> WeekArrivals:
    now = metrics._require_aware(now)
    zone = metrics._zone(schedule.timezone)
    start = metrics.day_start(now, zone, days - 1)
    open_minute = open_minutes_of_week(schedule)
    counts = [[0] * 24 for _ in range(7)]
    closed_by_hour = [0] * 24
    total = closed = 0
    for (created_us,) in metrics._db().execute_sql(
        "SELECT m.created_at FROM message m JOIN conversation c ON c.id = m.conversation_id"
        " WHERE m.direction = 'in' AND c.status != 'spam' AND m.created_at >= ? AND m.created_at <= ?",
        (to_micros(start), to_micros(now)),
    ):
        local = from_micros(created_us).astimezone(zone)
        weekday, hour = local.weekday(), local.hour
        counts[weekday][hour] += 1
        total += 1
        if not open_minute[weekday * 1440 + hour * 60 + local.minute]:
            closed += 1
            closed_by_hour[hour] += 1
    open_minutes = [[sum(open_minute[d * 1440 + h * 60:d * 1440 + h * 60 + 60]) for h in range(24)] for d in range(7)]
    band, band_count = _band(closed_by_hour)
    return WeekArrivals(counts, open_minutes, total, closed, band, band_count,
                        arrival_sentence(total, closed, band, band_count, days), days)


# --- all of them ------------------------------------------------------------------------------------


def channel_shares(now: datetime, policy: Any, days: int = TREND_DAYS) -> list[ChannelShare]:
    rep = metrics.report(now, days, policy.schedule.timezone, policy)
    return [ChannelShare(c.channel, c.judged, c.within_target, c.within_target_pct) for c in rep.channels if c.judged]


def today_charts(now: datetime, policy: Any) -> Charts:
    """What the Today panel draws (runs on a worker thread)."""
    return Charts(response_trend(now, policy), week_arrivals(now, policy.schedule), channel_shares(now, policy))
