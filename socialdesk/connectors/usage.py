"""What a platform charges or rations per API call, and the counter a connector reports its calls to.

The generic usage meter (docs/ARCHITECTURE.md "Usage meter"): a platform that bills per call (X's
pay-per-use API: USD per resource read or request written) or rations calls (YouTube's daily quota
units) declares a `UsagePlan` in its traits; its connector counts what it spends on a `UsageCounter`;
the sync engine drains the counter after each fetch, stream batch and send and records the units per
account, day and bucket (core/usage.py, which also sums, budgets and paces polling).

Decisions:
- A plan is data: per-bucket prices in one currency (ISO 4217 or "units" for a quota), the time zone in
  which a day begins (X: UTC; YouTube: Pacific time), whether the owner's budget is per day or per month
  in that zone, and a default budget. Units are stored, not money: the amount is units × price, so the
  meter shows what this version's prices say (prices change rarely; the estimate is an estimate).
- Connectors stay database-free: counting is in memory, behind a lock (the poll worker and the outbox
  share an account's connector, one at a time, but the engine drains from its own thread).
- Daily dedup (X: "if the same Post is returned from multiple queries during a day, it is only counted
  once"; the dedupe counter resets daily, UTC): with `dedupe_daily`, a counted id is remembered until
  the day ends in the plan's zone and not counted again that day. The memory is the account's (the
  engine gives every connector of an account the same counter) but not persisted: after a restart the
  first fetch of the day may count again ids X already charged today. So the meter may overestimate,
  never underestimate, by at most what one poll re-reads once per restart.
- Only what succeeded is counted: X bills resources returned and requests made; a refused request
  (4xx/5xx) is not counted. A platform that bills failures (YouTube) counts before it raises.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Callable, Iterable, Literal
from zoneinfo import ZoneInfo


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Price:
    """What one unit of a bucket costs: X's "owned read" is $0.001 per post returned."""

    bucket: str  # the connector's name for the kind of call: "owned_read", "dm_read", "post_create", ...
    amount: Decimal  # per unit, in the plan's currency
    label: str  # owner-readable: "mention read", "reply"
    per: str = "call"  # what one unit is, in the platform's words: "call", "resource", "request"


@dataclass(frozen=True)
class UsagePlan:
    """A platform's prices or quota costs, where its day begins and how the owner's budget runs."""

    currency: str  # ISO 4217 ("USD") or "units" (a quota)
    prices: tuple[Price, ...]
    zone: str = "UTC"  # IANA zone in which a day (and a month) begins
    budget_period: Literal["day", "month"] = "month"
    default_budget: Decimal | None = None  # None: no cap unless the owner sets one
    dedupe_daily: bool = False  # the platform charges an id once per day in `zone`
    budget_setting: str = "usage_budget"  # the account setting holding the owner's budget
    # The bucket a post of this text is billed under (X: a post with a link costs far more), so the
    # connector counts it and the status-post preview shows its price from one rule; None: no posts.
    post_bucket: Callable[[str], str] | None = None
    # The account setting naming a budget several accounts share ("" = each account its own): YouTube's
    # quota belongs to the Google Cloud project, which the OAuth client id names, whatever the channel.
    pool_setting: str = ""

    def price(self, bucket: str) -> Price | None:
        return next((p for p in self.prices if p.bucket == bucket), None)

    def amount(self, bucket: str, units: int) -> Decimal:
        """What `units` of `bucket` cost; an unknown bucket costs nothing (it was never priced)."""
        price = self.price(bucket)
        return price.amount * units if price is not None else Decimal(0)

    def day(self, when: datetime) -> date:
        """The plan's day `when` falls on."""
        return when.astimezone(ZoneInfo(self.zone)).date()

    def format(self, amount: Decimal, *, exact: bool = False) -> str:
        """"$1.23" for USD (`exact`: a price keeps its tenths of a cent, "$0.015"), "1,230 units" for a quota."""
        if self.currency == "USD":
            cents = amount.quantize(Decimal("0.01"))
            return f"${amount:,.3f}" if exact and cents != amount else f"${cents:,.2f}"
        if self.currency == "units":
            return f"{int(amount):,} units"
        return f"{amount:,.2f} {self.currency}"


@dataclass(frozen=True)
class UsageEvent:
    """Units of one bucket spent on one of the plan's days (what the engine records)."""

    bucket: str
    units: int
    day: date


class UsageCounter:
    """The calls of one account not yet recorded, and (with dedup) the ids already counted today."""

    def __init__(self, plan: UsagePlan, now: Callable[[], datetime] = _utcnow):
        self.plan = plan
        self.now = now
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, date], int] = {}
        self._seen_day: date | None = None
        self._seen: set[tuple[str, str]] = set()

    def count(self, bucket: str, units: int = 1, *, ids: Iterable[str] | None = None) -> int:
        """Count `units` of `bucket` (or, with `ids`, one unit per id, each once a day where the plan
        dedupes). Returns the units counted."""
        day = self.plan.day(self.now())
        with self._lock:
            if ids is not None:
                fresh = list(dict.fromkeys(str(i) for i in ids))
                if self.plan.dedupe_daily:
                    if self._seen_day != day:
                        self._seen_day, self._seen = day, set()
                    fresh = [i for i in fresh if (bucket, i) not in self._seen]
                    self._seen.update((bucket, i) for i in fresh)
                units = len(fresh)
            if units <= 0:
                return 0
            self._pending[(bucket, day)] = self._pending.get((bucket, day), 0) + units
            return units

    def drain(self) -> list[UsageEvent]:
        """What was counted since the last drain (and forget it)."""
        with self._lock:
            pending, self._pending = self._pending, {}
        return [UsageEvent(bucket, units, day) for (bucket, day), units in sorted(pending.items())]

    def restore(self, events: Iterable[UsageEvent]) -> None:
        """Put drained events back (the engine could not record them: a full disk); counted next time."""
        with self._lock:
            for event in events:
                key = (event.bucket, event.day)
                self._pending[key] = self._pending.get(key, 0) + event.units
