"""Away with no end date: business-hours deadlines cannot be promised, and nothing crashes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from socialdesk.connectors.base import Author, InboundItem
from socialdesk.core import ingest, queue
from socialdesk.core.hours import AwayPeriod, Schedule, parse_week_spec
from socialdesk.core.store import Account, Conversation
from socialdesk.core.targets import TargetConfig

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)  # a Monday


def test_open_ended_away_gives_no_deadline_and_coming_back_restores_it(store):
    schedule = Schedule(timezone="UTC", week=parse_week_spec("mon-fri 09:00-17:00"))
    account = Account.create(kind="demo", name="d", settings={"channel": "telegram"}, created_at=NOW)
    item = InboundItem("m1", "c1", "dm", False, Author("u1", "u1", "Ana"), "hello", NOW - timedelta(minutes=5))
    ingest.ingest(store, account.id, [item], {}, queue.Policy(TargetConfig.default(), schedule), NOW)
    assert Conversation.get().due_at is not None

    schedule.away.append(AwayPeriod(NOW, None, "on holiday"))
    away_policy = queue.Policy(TargetConfig.default(), schedule)
    assert queue.recompute_all(store, away_policy, NOW) == 1
    conv = Conversation.get()
    assert conv.due_at is None and conv.awaiting_since is not None  # still awaiting, just no promise

    schedule.away.clear()
    queue.recompute_all(store, queue.Policy(TargetConfig.default(), schedule), NOW)
    assert Conversation.get().due_at == NOW - timedelta(minutes=5) + timedelta(hours=1)
