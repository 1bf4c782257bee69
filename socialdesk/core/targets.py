"""Response-time targets: the owner-editable rules and the clock that turns them into due times.

This module owns the target semantics of DESIGN.md ("Response-time targets"): which target applies to
an item, when it is due, when it becomes "due soon", what is left when the clock is paused, and the
countdown text. It is pure: no Qt, no database, `now` is always passed in.

Decisions:
- Rules are keyed by (conversation kind, account kind); "*" as account kind matches any channel and
  a specific account kind beats "*". The defaults have one "*" rule per conversation kind (1 h for DMs,
  comments and mentions on every platform, 12 h for email, 24 h for reviews), so every channel,
  including ones added later, has a target. `from_json` fills a kind's missing "*" rule from the
  defaults so `rule_for` never fails for a valid kind.
- Defaults count business hours only: a one-person business is not expected to answer at night, and
  counting wall-clock time would make every overnight message overdue by morning. The owner can switch
  each rule to wall-clock time.
- There is no resolution target. Resolution time is measured (core/metrics.py reports its median), but
  a deadline for "marked done" meant nothing to a one-person business: the queue, alerts and report
  judge response times only. A stored `resolution_minutes` from an older version is ignored on load.
- Only "open" items run a clock. "waiting" and "snoozed" pause it, "done" and "spam" stop it. Whether
  an auto-reply or status post happened does not matter here: only a human reply sets
  `first_response_at` / clears `awaiting_since` (the caller's job), so they never stop the clock.
- A resumed item (`paused_remaining_s` not None) restarts its clock at `now` with the time it had left
  when paused; `remaining_seconds` computes that value at pause time.
- Due soon starts when max(fraction x target, min minutes) or less is left on the wall clock, the time
  the countdown shows ("12 min left"): due_soon_at = due_at - margin, clamped to the clock start when
  the margin is larger than the time to the deadline. The margin's length comes from the target, but
  it is never counted in open time: for a business-hours rule that put "due soon" at 16:50 for a
  deadline on Monday 09:05 (open time ran out before Friday's closing), and the queue showed "2 d left"
  in the due-soon colour before closing and all through an Away; the alert fired then too.
- Business time is computed by `Schedule.add_open_time`: a message arriving while closed starts its
  clock at the next opening.
- Low ratings (`is_low_rating`: one or two stars, from any platform that rates) are the messages a
  business can least afford to leave: they get the "due soon" alert earlier, when
  `low_rating_due_soon_fraction` (default half) of the target is left instead of `due_soon_fraction`
  (a quarter), and core/queue.py ranks them above others with the same deadline. The margin rule is
  `due_soon_margin_s`, the one place it is written (the reply-window deadline uses it too).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from socialdesk.core.hours import Schedule
from socialdesk.core.states import ConversationStatus

UTC = timezone.utc
CONVERSATION_KINDS = ("dm", "comment", "mention", "review", "email")
STATUSES = tuple(ConversationStatus)  # every status, in the enum's order (for messages)
MAX_MINUTES = 43200  # 30 days
LOW_RATING = 2  # ratings up to this (of 5) are "low": alerted earlier, ranked first among equal deadlines
# What `evaluate` stores (due_at, due_soon_at) changed meaning at each step here; a profile last written
# under an older one recomputes its open conversations once at start (app.install_services).
# 2: due soon is the target's margin before the deadline on the wall clock, no longer in open time.
RULE_VERSION = 2
_ACCOUNT_KIND_RE = re.compile(r"^(\*|[a-z][a-z0-9_]*)$")


class TargetConfigError(ValueError):
    """Invalid target settings; `str(e)` is meant for the owner."""


@dataclass
class TargetRule:
    first_response_minutes: int
    next_response_minutes: int
    business_hours: bool

    def validate(self, where: str) -> None:
        for name in ("first_response_minutes", "next_response_minutes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_MINUTES:
                label = name.replace("_", " ")
                raise TargetConfigError(f"{where}: {label} must be a whole number from 1 to {MAX_MINUTES}, got {value!r}")
        if not isinstance(self.business_hours, bool):
            raise TargetConfigError(f"{where}: business_hours must be true or false")


def _default_rules() -> dict[tuple[str, str], TargetRule]:
    def rule(minutes: int) -> TargetRule:
        return TargetRule(minutes, minutes, True)

    return {
        ("dm", "*"): rule(60),
        ("comment", "*"): rule(60),
        ("mention", "*"): rule(60),
        ("email", "*"): rule(12 * 60),
        ("review", "*"): rule(24 * 60),
    }


@dataclass
class TargetConfig:
    rules: dict[tuple[str, str], TargetRule] = field(default_factory=_default_rules)
    due_soon_fraction: float = 0.25
    due_soon_min_minutes: int = 15
    low_rating_due_soon_fraction: float = 0.5  # the due-soon fraction for one- and two-star reviews

    def __post_init__(self) -> None:
        self.validate()

    @classmethod
    def default(cls) -> TargetConfig:
        return cls()

    def validate(self) -> None:
        for (kind, account_kind), rule in self.rules.items():
            where = f"target for {kind} on {account_kind}"
            if kind not in CONVERSATION_KINDS:
                raise TargetConfigError(f"{where}: kind must be one of {', '.join(CONVERSATION_KINDS)}")
            if not isinstance(account_kind, str) or not _ACCOUNT_KIND_RE.match(account_kind):
                raise TargetConfigError(f"{where}: account kind must be '*' or a name like 'mastodon'")
            if not isinstance(rule, TargetRule):
                raise TargetConfigError(f"{where}: not a TargetRule")
            rule.validate(where)
        f = self.due_soon_fraction
        if isinstance(f, bool) or not isinstance(f, (int, float)) or not 0 <= f < 1:
            raise TargetConfigError(f"due soon fraction must be from 0 to below 1 (0.25 = 25%), got {f!r}")
        low = self.low_rating_due_soon_fraction
        if isinstance(low, bool) or not isinstance(low, (int, float)) or not 0 <= low < 1:
            raise TargetConfigError(f"due soon fraction for low ratings must be from 0 to below 1 (0.5 = 50%), got {low!r}")
        m = self.due_soon_min_minutes
        if isinstance(m, bool) or not isinstance(m, int) or not 0 <= m <= MAX_MINUTES:
            raise TargetConfigError(f"due soon minimum must be a whole number of minutes from 0 to {MAX_MINUTES}")
        for kind in CONVERSATION_KINDS:
            if (kind, "*") not in self.rules:
                raise TargetConfigError(f"missing the target for {kind} on any channel ('*')")

    def rule_for(self, kind: str, account_kind: str) -> TargetRule:
        """The rule for this kind on this channel: the specific one if set, else the kind's "*" rule."""
        rule = self.rules.get((kind, account_kind)) or self.rules.get((kind, "*"))
        if rule is None:
            raise TargetConfigError(f"unknown conversation kind {kind!r}")
        return rule

    def to_json(self) -> dict:
        return {
            "rules": [
                {
                    "kind": kind,
                    "account_kind": account_kind,
                    "first_response_minutes": r.first_response_minutes,
                    "next_response_minutes": r.next_response_minutes,
                    "business_hours": r.business_hours,
                }
                for (kind, account_kind), r in sorted(self.rules.items())
            ],
            "due_soon_fraction": self.due_soon_fraction,
            "due_soon_min_minutes": self.due_soon_min_minutes,
            "low_rating_due_soon_fraction": self.low_rating_due_soon_fraction,
        }

    @classmethod
    def from_json(cls, d: Any) -> TargetConfig:
        if not isinstance(d, dict):
            raise TargetConfigError("targets must be a JSON object")
        raw_rules = d.get("rules", [])
        if not isinstance(raw_rules, list):
            raise TargetConfigError("targets: rules must be a list")
        rules: dict[tuple[str, str], TargetRule] = {}
        for item in raw_rules:
            if not isinstance(item, dict):
                raise TargetConfigError(f"target rule {item!r} must be an object")
            r: Any = item  # values of any JSON type: validate() (from __post_init__) checks them
            kind, account_kind = r.get("kind"), r.get("account_kind", "*")
            where = f"target for {kind} on {account_kind}"
            if (kind, account_kind) in rules:
                raise TargetConfigError(f"{where}: listed twice")
            try:
                rule = TargetRule(
                    first_response_minutes=r["first_response_minutes"],
                    next_response_minutes=r.get("next_response_minutes", r["first_response_minutes"]),
                    business_hours=r.get("business_hours", True),
                )
            except KeyError as e:
                raise TargetConfigError(f"{where}: missing {e.args[0]}") from e
            rules[(kind, account_kind)] = rule
        for key, rule in _default_rules().items():
            rules.setdefault(key, rule)
        return cls(
            rules=rules,
            due_soon_fraction=d.get("due_soon_fraction", 0.25),
            due_soon_min_minutes=d.get("due_soon_min_minutes", 15),
            low_rating_due_soon_fraction=d.get("low_rating_due_soon_fraction", 0.5),
        )


@dataclass(frozen=True)
class TargetInput:
    kind: str
    account_kind: str
    status: str
    awaiting_since: datetime | None
    first_response_at: datetime | None
    paused_remaining_s: int | None
    rating: int | None = None  # the conversation's latest rating (reviews), 1..5


@dataclass(frozen=True)
class TargetResult:
    due_at: datetime | None
    due_soon_at: datetime | None
    target_minutes: int | None


_NO_TARGET = TargetResult(None, None, None)


def _aware(dt: datetime, name: str) -> datetime:
    if dt.tzinfo is UTC:
        return dt  # already UTC (every stored time): nothing to convert
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {dt!r}")
    return dt.astimezone(UTC)


def _check_status(status: str) -> None:
    # Checked even where the status stops the clock, so a typo never silently hides a target.
    if status not in STATUSES:
        raise ValueError(f"unknown conversation status {status!r}")


def _add(rule: TargetRule, schedule: Schedule, start: datetime, seconds: float) -> datetime:
    if rule.business_hours:
        return schedule.add_open_time(start, seconds)
    return start + timedelta(seconds=seconds)


def _clock(item: TargetInput, config: TargetConfig, now: datetime) -> tuple[TargetRule, int, datetime, float] | None:
    """(rule, target minutes, clock start, budget seconds) for an awaiting item, else None.

    The caller has checked item.status with _check_status.
    """
    if item.status in (ConversationStatus.DONE, ConversationStatus.SPAM) or item.awaiting_since is None:
        return None
    rule = config.rule_for(item.kind, item.account_kind)
    minutes = rule.first_response_minutes if item.first_response_at is None else rule.next_response_minutes
    if item.paused_remaining_s is not None:
        return rule, minutes, now, float(max(0, item.paused_remaining_s))
    return rule, minutes, _aware(item.awaiting_since, "awaiting_since"), minutes * 60.0


def is_low_rating(rating: int | None) -> bool:
    return rating is not None and 1 <= rating <= LOW_RATING


def due_soon_margin_s(config: TargetConfig, minutes: int, rating: int | None = None) -> float:
    """How long before the deadline "due soon" starts: a share of the target (a larger one for low
    ratings), at least `due_soon_min_minutes`."""
    fraction = config.due_soon_fraction
    if is_low_rating(rating):
        fraction = max(fraction, config.low_rating_due_soon_fraction)
    return max(fraction * minutes * 60, config.due_soon_min_minutes * 60)


def evaluate(item: TargetInput, config: TargetConfig, schedule: Schedule, now: datetime) -> TargetResult:
    """Due time and due-soon time of the response target running for `item` at `now`."""
    now = _aware(now, "now")
    _check_status(item.status)
    if item.status != ConversationStatus.OPEN:
        return _NO_TARGET
    clock = _clock(item, config, now)
    if clock is None:
        return _NO_TARGET
    rule, minutes, start, budget = clock
    due = _add(rule, schedule, start, budget)
    # Wall-clock margin before the deadline, whatever the rule counts (module docstring).
    due_soon = max(start, due - timedelta(seconds=due_soon_margin_s(config, minutes, item.rating)))
    return TargetResult(due, due_soon, minutes)


def remaining_seconds(item: TargetInput, config: TargetConfig, schedule: Schedule, now: datetime) -> int | None:
    """Target time left at `now` (open seconds for business-hours rules), negative when overdue.

    Meant for the moment an item is paused (set to waiting/snoozed), so the status is not checked
    except that done/spam and not-awaiting items have no target (None). Store max(0, result).
    """
    now = _aware(now, "now")
    _check_status(item.status)
    clock = _clock(item, config, now)
    if clock is None:
        return None
    rule, _minutes, start, budget = clock
    due = _add(rule, schedule, start, budget)
    if rule.business_hours:
        left = schedule.open_seconds_between(now, due)
    else:
        left = (due - now).total_seconds()
    return math.floor(left)


def state(due_at: datetime | None, due_soon_at: datetime | None, now: datetime) -> str | None:
    """None (no target), "ok", "due_soon" or "overdue"."""
    if due_at is None:
        return None
    if now >= due_at:
        return "overdue"
    if due_soon_at is not None and now >= due_soon_at:
        return "due_soon"
    return "ok"


def format_countdown(due_at: datetime, now: datetime) -> str:
    """"12 min left", "2 h 05 left", "3 d left", "overdue 4 min", "overdue 1 h 05", "overdue 2 d".

    Minutes left are rounded up (never "0 min left" while time remains); overdue minutes are rounded
    down but at least 1; days are whole days, rounded down.
    """
    seconds = (due_at - now).total_seconds()
    if seconds > 0:
        minutes = math.ceil(seconds / 60)
        return f"{format_minutes(minutes)} left"
    minutes = max(1, math.floor(-seconds / 60))
    return f"overdue {format_minutes(minutes)}"


def format_minutes(minutes: int) -> str:
    """"12 min", "2 h 05", "3 d": an amount of time as countdowns show it (days rounded down)."""
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 24 * 60:
        return f"{minutes // 60} h {minutes % 60:02d}"
    return f"{minutes // (24 * 60)} d"
