"""The usage meter: what each account spends where its platform bills or rations calls, its budget,
and how that paces polling. Qt-free; the one place these rules live (connectors/usage.py has the
plan a platform declares and the counter its connector reports to).

Flow: a connector counts on its `usage` counter (UsageCounter); the sync engine drains it after each
fetch, stream batch and outbox flush and calls `record`; views, the CLI and the engine read
`summary` / `pace` / `stop_notice`. Nothing here names a platform: everything comes from the
account kind's `PlatformTraits.usage`.

Decisions:
- Stored: units per (account, day in the plan's zone, bucket) in table `usage` (schema 4), added to
  with an upsert, so a restart loses nothing recorded and a removed account takes its rows along
  (ON DELETE CASCADE). Money is units × the plan's price at read time (see connectors/usage.py).
- Budget: the account setting named by the plan (`usage_budget`), a non-negative number in the plan's
  currency per `budget_period` ("month" for X, "day" for a daily quota), else the plan's
  `default_budget`, else none. "This month" and "today" are calendar periods in the plan's zone (X
  bills per UTC day; a quota renews at its zone's midnight).
- A shared budget (`UsagePlan.pool_setting`): accounts of one kind whose setting of that name is equal
  spend from one budget (YouTube's daily quota is per Google Cloud project, named by the OAuth client
  id, however many channels use it), so `summary`, `pace` and `stop_notice` of each add up all of them.
  A daily quota reads "quota today: 1,240 of 10,000 units".
- Pacing: up to STRETCH_FROM (80 %) of the budget the interval is the account's own; above it the
  interval grows linearly to MAX_STRETCH (4x) at 100 %; at 100 % polling stops (`pace` is None) and
  `stop_notice` says why and until when: the next period, or the owner raising the budget (a settings
  change resets the account, so polling resumes at once). Sends are not stopped: a reply the owner
  wrote is a deliberate spend, and stopping it silently would strand a customer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable
from zoneinfo import ZoneInfo

from socialdesk.connectors import traits
from socialdesk.connectors.usage import UsageEvent, UsagePlan
from socialdesk.core.store import Account, Store, Usage, tuples

STRETCH_FROM = Decimal("0.8")
MAX_STRETCH = 4.0


def plan_of(account: Account) -> UsagePlan | None:
    """The usage plan of the connector doing the account's work (asked by kind: a demo account
    simulating a paid platform spends nothing)."""
    return traits.of(account.kind).usage


def record(store: Store, account_id: int, events: Iterable[UsageEvent]) -> None:
    """Add drained counter events to the account's stored usage (one short write)."""
    events = [e for e in events if e.units > 0]
    if not events:
        return
    with store.write():
        if Account.get_or_none(Account.id == account_id) is None:
            return  # removed meanwhile: nothing to keep
        for event in events:
            Usage.insert(account=account_id, day=event.day.isoformat(), bucket=event.bucket, units=event.units) \
                .on_conflict(conflict_target=[Usage.account, Usage.day, Usage.bucket],
                             update={Usage.units: Usage.units + event.units}).execute()


def budget_problem(plan: UsagePlan, value: Any) -> str:
    """What is wrong with a budget the owner typed, or "" ("" and None mean: the plan's default)."""
    if value in ("", None):
        return ""
    if parse_budget(value) is None:
        return f"{plan.budget_setting} is an amount of at least 0 (in {plan.currency} per {plan.budget_period})."
    return ""


def parse_budget(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() and amount >= 0 else None


def budget_of(account: Account, plan: UsagePlan) -> Decimal | None:
    value = (account.settings or {}).get(plan.budget_setting)
    if value not in ("", None):
        parsed = parse_budget(value)
        if parsed is not None:
            return parsed
    return plan.default_budget


def pool_of(account: Account, plan: UsagePlan) -> list[int]:
    """The ids of the accounts whose spending counts against this account's budget: itself, and the
    accounts of its kind naming the same pool (plan.pool_setting) as it does."""
    pool = str((account.settings or {}).get(plan.pool_setting) or "") if plan.pool_setting else ""
    if not pool:
        return [account.id]
    same = Account.select(Account.id, Account.settings).where(Account.kind == account.kind)
    return sorted({account.id} | {a.id for a in same if str((a.settings or {}).get(plan.pool_setting) or "") == pool})


@dataclass(frozen=True)
class UsageSummary:
    currency: str
    today: Decimal
    month: Decimal
    budget: Decimal | None
    budget_period: str  # "day" | "month"
    renews_at: datetime  # UTC: when the budget period ends
    text: str  # owner-readable one-liner for the accounts list

    @property
    def spent(self) -> Decimal:
        """What counts against the budget: today's or this month's spend."""
        return self.today if self.budget_period == "day" else self.month

    @property
    def used_fraction(self) -> float | None:
        if self.budget is None:
            return None
        if self.budget == 0:
            return 1.0
        return float(self.spent / self.budget)

    def as_json(self) -> dict[str, Any]:
        return {
            "currency": self.currency, "today": str(self.today), "month": str(self.month),
            "budget": None if self.budget is None else str(self.budget), "budget_period": self.budget_period,
            "used_fraction": None if self.used_fraction is None else round(self.used_fraction, 4),
            "renews_at": self.renews_at.isoformat(), "text": self.text,
        }


def _renewal(plan: UsagePlan, today: date) -> datetime:
    zone = ZoneInfo(plan.zone)
    if plan.budget_period == "day":
        nxt = today + timedelta(days=1)
    else:
        nxt = date(today.year + (today.month == 12), today.month % 12 + 1, 1)
    return datetime.combine(nxt, time(0), tzinfo=zone).astimezone(ZoneInfo("UTC"))


def summary(account: Account, now: datetime) -> UsageSummary | None:
    """What the account spent today and this month (in the plan's zone), against its budget; None
    when its platform does not bill or ration calls."""
    plan = plan_of(account)
    if plan is None:
        return None
    today = plan.day(now)
    first = today.replace(day=1)
    today_amount = Decimal(0)
    month_amount = Decimal(0)
    in_pool = Usage.account << pool_of(account, plan)
    rows = Usage.select(Usage.day, Usage.bucket, Usage.units).where(
        in_pool & (Usage.day >= first.isoformat()) & (Usage.day <= today.isoformat()))
    for day, bucket, units in tuples(rows):
        amount = plan.amount(bucket, units)
        month_amount += amount
        if day == today.isoformat():
            today_amount += amount
    budget = budget_of(account, plan)
    if plan.currency == "units" and plan.budget_period == "day" and budget is not None:
        text = f"quota today: {int(today_amount):,} of {plan.format(budget, exact=True)}"
    else:
        text = f"{plan.format(today_amount)} today · {plan.format(month_amount)} this month"
        if budget is not None:
            text += f" of {plan.format(budget, exact=True)} {'a day' if plan.budget_period == 'day' else 'budget'}"
    return UsageSummary(plan.currency, today_amount, month_amount, budget, plan.budget_period,
                        _renewal(plan, today), text)


def pace(account: Account, base_seconds: float, now: datetime) -> float | None:
    """The poll interval after the budget's stretch; None: polling stops (budget spent)."""
    s = summary(account, now)
    fraction = s.used_fraction if s is not None else None
    if fraction is None or fraction <= float(STRETCH_FROM):
        return base_seconds
    if fraction >= 1.0:
        return None
    stretch = 1.0 + (MAX_STRETCH - 1.0) * (fraction - float(STRETCH_FROM)) / (1.0 - float(STRETCH_FROM))
    return base_seconds * stretch


def pace_notice(account: Account, now: datetime) -> str:
    """The account's note while polling is stretched for its budget ("" below STRETCH_FROM)."""
    s = summary(account, now)
    fraction = s.used_fraction if s is not None else None
    if s is None or s.budget is None or fraction is None or fraction <= float(STRETCH_FROM) or fraction >= 1.0:
        return ""
    plan = plan_of(account)
    assert plan is not None
    period = "today's" if s.budget_period == "day" else "this month's"
    return (f"{round(fraction * 100)} % of {period} budget used ({plan.format(s.spent)} of {plan.format(s.budget, exact=True)}): "
            f"polling slowed down; it stops at 100 %.")


def stop_notice(account: Account, now: datetime) -> tuple[str, datetime] | None:
    """(owner-readable notice, when polling may resume) when the budget is spent; else None."""
    s = summary(account, now)
    if s is None or s.budget is None or (s.used_fraction or 0.0) < 1.0:
        return None
    plan = plan_of(account)
    assert plan is not None
    period = "today's" if s.budget_period == "day" else "this month's"
    return (
        f"Polling stopped: {period} budget of {plan.format(s.budget, exact=True)} is used ({plan.format(s.spent)} spent). "
        f"It resumes {s.renews_at:%Y-%m-%d %H:%M} UTC, or at once when you raise the budget "
        f"(setting {plan.budget_setting}). Replies you send still go out.",
        s.renews_at,
    )


def post_cost(account: Account, text: str) -> str:
    """What one post of `text` costs on the account's platform, for the status-post preview ("" when
    posting is free): "≈ $0.20 (post with a link)"."""
    plan = plan_of(account)
    if plan is None or plan.post_bucket is None:
        return ""
    bucket = plan.post_bucket(text)
    price = plan.price(bucket)
    if price is None:
        return ""
    return f"≈ {plan.format(price.amount, exact=True)} ({price.label})"
