"""The usage meter (connectors/usage.py, core/usage.py) and how the sync engine records and paces by it:
daily dedup in the plan's zone, units stored per account/day/bucket across connectors and restarts,
today/month sums against the owner's budget, the stretch above 80 % and the stop at 100 %."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from socialdesk.connectors.demo import DemoConnector
from socialdesk.connectors.usage import Price, UsageCounter, UsageEvent, UsagePlan
from socialdesk.core import queue, usage
from socialdesk.core.clock import ManualClock
from socialdesk.core.hours import Schedule
from socialdesk.core.states import AccountState
from socialdesk.core.store import Account, Usage
from socialdesk.core.sync import SyncEngine
from socialdesk.core.targets import TargetConfig

T0 = datetime(2026, 3, 31, 23, 30, tzinfo=timezone.utc)
PLAN = UsagePlan(
    currency="USD",
    prices=(Price("read", Decimal("0.010"), "read", "resource"), Price("post", Decimal("0.015"), "post", "request")),
    zone="UTC",
    budget_period="month",
    dedupe_daily=True,
)
POLICY = queue.Policy(TargetConfig.default(), Schedule.always_open("UTC"))


@pytest.fixture
def planned(monkeypatch):
    """Demo accounts get PLAN (core asks by kind; the demo itself is free)."""
    monkeypatch.setattr(usage, "plan_of", lambda account: PLAN)


def test_counter_dedupes_ids_per_day_of_the_plan_zone():
    clock = ManualClock(T0)
    counter = UsageCounter(PLAN, now=clock.now)
    assert counter.count("read", ids=["1", "2", "2"]) == 2
    assert counter.count("read", ids=["2", "3"]) == 1  # "2" was charged today already
    assert counter.count("post") == 1
    clock.advance(hours=1)  # a new UTC day: X charges the same post again
    assert counter.count("read", ids=["1"]) == 1
    assert counter.drain() == [
        UsageEvent("post", 1, date(2026, 3, 31)),
        UsageEvent("read", 3, date(2026, 3, 31)),
        UsageEvent("read", 1, date(2026, 4, 1)),
    ]
    assert counter.drain() == []


def test_pacific_day_begins_at_pacific_midnight():
    plan = UsagePlan(currency="units", prices=(Price("list", Decimal(1), "list"),), zone="America/Los_Angeles",
                     budget_period="day", default_budget=Decimal(10000))
    assert plan.day(datetime(2026, 7, 1, 6, 59, tzinfo=timezone.utc)) == date(2026, 6, 30)
    assert plan.day(datetime(2026, 7, 1, 7, 0, tzinfo=timezone.utc)) == date(2026, 7, 1)
    assert plan.format(Decimal(1230)) == "1,230 units"


def _account(store, **settings) -> Account:
    with store.write():
        return Account.create(kind="demo", name="Paid", settings={"channel": "telegram", **settings}, created_at=T0)


def test_summary_sums_today_and_this_month_against_the_budget(store, planned):
    account = _account(store, usage_budget="1")
    usage.record(store, account.id, [UsageEvent("read", 30, date(2026, 3, 31)), UsageEvent("post", 10, date(2026, 3, 1)),
                                      UsageEvent("read", 99, date(2026, 2, 28))])
    usage.record(store, account.id, [UsageEvent("read", 5, date(2026, 3, 31))])  # adds to the same row
    s = usage.summary(account, T0)
    assert (s.today, s.month, s.budget) == (Decimal("0.350"), Decimal("0.500"), Decimal(1))
    assert s.used_fraction == 0.5
    assert s.text == "$0.35 today · $0.50 this month of $1.00 budget"
    assert s.renews_at == datetime(2026, 4, 1, tzinfo=timezone.utc)
    assert Usage.select().count() == 3


def test_pace_stretches_above_80_percent_and_stops_at_100(store, planned):
    account = _account(store, usage_budget="1.00")
    assert usage.pace(account, 60, T0) == 60
    assert usage.pace_notice(account, T0) == ""
    usage.record(store, account.id, [UsageEvent("read", 90, date(2026, 3, 31))])  # $0.90: 90 %
    assert usage.pace(account, 60, T0) == pytest.approx(60 * 2.5)
    assert usage.stop_notice(account, T0) is None
    assert usage.pace_notice(account, T0) == ("90 % of this month's budget used ($0.90 of $1.00): polling slowed "
                                              "down; it stops at 100 %.")
    usage.record(store, account.id, [UsageEvent("read", 10, date(2026, 3, 31))])  # $1.00
    assert usage.pace(account, 60, T0) is None
    notice, resume = usage.stop_notice(account, T0)
    assert "budget of $1.00 is used" in notice and resume == datetime(2026, 4, 1, tzinfo=timezone.utc)
    account.settings = {**account.settings, "usage_budget": "2"}  # the owner raises it
    assert usage.pace(account, 60, T0) == 60


class PaidDemo(DemoConnector):
    """The demo, billing one read per item and one post per send."""

    def __init__(self, settings, clock):
        super().__init__(settings, None, now=clock.now)
        self.usage = UsageCounter(PLAN, now=clock.now)

    def fetch(self, cursor):
        items, cursor = super().fetch(cursor)
        self.usage.count("read", ids=[i.external_id for i in items])
        return items, cursor


def test_engine_records_usage_across_rebuilt_connectors_and_stops_polling_at_the_budget(store, planned):
    clock = ManualClock(T0)
    built: list[PaidDemo] = []

    def make(account):
        built.append(PaidDemo(dict(account.settings), clock))
        return built[-1]

    engine = SyncEngine(store, make, clock, lambda: POLICY, rng=random.Random(0))
    account = _account(store, usage_budget="0.02")
    engine.sync_account(account.id)
    first = sum(u.units for u in Usage.select())
    assert first >= 2  # the opening scene was read and billed
    engine.invalidate(account.id)
    engine.connector(account.id)
    assert built[1].usage is built[0].usage  # the account's counter (and its dedup memory) carries over
    clock.advance(minutes=5)
    engine.sync_account(account.id)  # over budget now: no fetch, a clear notice, back next month
    account = Account.get_by_id(account.id)
    assert account.state == AccountState.RATE_LIMITED
    assert "budget of $0.02 is used" in account.last_error
    assert account.next_sync_at == datetime(2026, 4, 1, tzinfo=timezone.utc)


def test_x_polls_slower_while_closed_and_stretches_near_its_budget(store):
    """X's traits: 90 s open, 300 s closed (an off-hours auto-reply still goes out within about five
    minutes); above 80 % of the monthly budget the interval grows; the owner's poll_seconds wins."""
    clock = ManualClock(datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc))  # a Monday
    hours = Schedule.from_json(Schedule.default().to_json())
    policy = queue.Policy(TargetConfig.default(), hours)
    engine = SyncEngine(store, lambda account: None, clock, lambda: policy)
    with store.write():
        account = Account.create(kind="x", name="X", settings={"client_id": "c", "usage_budget": "1"},
                                 created_at=T0)
    opened = hours.next_open(clock.now())
    clock.set(opened + timedelta(minutes=5))
    assert engine._interval(account) == 90
    clock.set(hours.next_close(clock.now()) + timedelta(minutes=5))
    assert engine._interval(account) == 300
    usage.record(store, account.id, [UsageEvent("dm_read", 90, clock.now().date())])  # $0.90 of $1
    assert engine._interval(account) == pytest.approx(300 * 2.5)
    account.settings = {**account.settings, "poll_seconds": 30}
    assert engine._interval(account) == pytest.approx(30 * 2.5)


def test_the_status_post_preview_says_what_an_x_post_costs(store):
    """A post with a link costs $0.20 on X, a plain one $0.015: the preview says which, before it goes out."""
    from socialdesk.core.automation import AutomationConfig, StatusPosts, preview_status_posts, save_config
    from socialdesk.core.settings import Settings

    settings = Settings(store)
    with store.write():
        account = Account.create(kind="x", name="X", settings={"client_id": "c"}, created_at=T0)
    texts = {"opening": "We're open! Menu: https://juniper.example/menu", "closing": "Closing now, see you tomorrow"}
    save_config(settings, AutomationConfig(status_posts={account.id: StatusPosts(enabled=True, texts=texts)}))
    posts = preview_status_posts(settings, Schedule.default(), datetime(2026, 3, 2, 6, 0, tzinfo=timezone.utc), days=1)
    costs = {post.kind: post.cost for post in posts}
    assert costs == {"opening": "≈ $0.20 (post with a link)", "closing": "≈ $0.015 (post)"}


def test_engine_says_when_it_slows_polling_for_the_budget(store, planned):
    clock = ManualClock(T0)
    engine = SyncEngine(store, lambda account: PaidDemo(dict(account.settings), clock), clock, lambda: POLICY,
                        rng=random.Random(0))
    account = _account(store, usage_budget="0.045", poll_seconds=60)
    engine.sync_account(account.id)  # 4 messages read: $0.04 of $0.045
    account = Account.get_by_id(account.id)
    assert account.state == AccountState.OK
    assert account.last_error.startswith("89 % of this month's budget used ($0.04 of $0.045)")
    assert (account.next_sync_at - T0).total_seconds() == pytest.approx(60 * (1 + 3 * (0.04 / 0.045 - 0.8) / 0.2))
