"""A budget shared by several accounts (UsagePlan.pool_setting): YouTube's daily quota belongs to the
Google Cloud project, named by the OAuth client id, so every channel signed in with one client spends
from, and shows, the same quota (core/usage.summary, pace and stop_notice add the pool up)."""

from __future__ import annotations

from datetime import date, datetime, timezone

from socialdesk.connectors.usage import UsageEvent
from socialdesk.core import usage
from socialdesk.core.store import Account

NOW = datetime(2026, 11, 30, 20, 0, tzinfo=timezone.utc)  # 12:00 in Los Angeles
TODAY = date(2026, 11, 30)


def _channel(store, name: str, client_id: str) -> Account:
    with store.write():
        return Account.create(name=name, kind="youtube", settings={"client_id": client_id, "channel_id": name},
                              created_at=NOW)


def test_channels_of_one_google_project_share_and_show_one_quota(store):
    shop = _channel(store, "shop", "project-a.apps.googleusercontent.com")
    tutorials = _channel(store, "tutorials", "project-a.apps.googleusercontent.com")
    other = _channel(store, "other", "project-b.apps.googleusercontent.com")
    usage.record(store, shop.id, [UsageEvent("list", 1190, TODAY)])
    usage.record(store, tutorials.id, [UsageEvent("insert", 1, TODAY)])  # one reply: 50 units
    usage.record(store, other.id, [UsageEvent("list", 7, TODAY)])
    for account in (shop, tutorials):
        summary = usage.summary(account, NOW)
        assert summary is not None and summary.today == 1240
        assert summary.text == "quota today: 1,240 of 10,000 units"
    assert usage.summary(other, NOW).text == "quota today: 7 of 10,000 units"
    # The project's quota spent: every channel of it stops polling, the other project's does not.
    usage.record(store, tutorials.id, [UsageEvent("list", 8760, TODAY)])
    assert usage.pace(shop, 60, NOW) is None and usage.pace(tutorials, 60, NOW) is None
    assert usage.pace(other, 60, NOW) == 60
