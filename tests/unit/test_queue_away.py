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


def test_customer_writing_to_a_snoozed_conversation_resumes_its_paused_clock(store):
    schedule = Schedule.always_open("UTC")
    policy = queue.Policy(TargetConfig.default(), schedule)
    account = Account.create(kind="demo", name="d2", settings={"channel": "telegram"}, created_at=NOW)
    first = InboundItem("a1", "c9", "dm", False, Author("u9", "u9", "Bo"), "hi", NOW)
    ingest.ingest(store, account.id, [first], {}, policy, NOW)
    conv = Conversation.get(Conversation.external_id == "c9")
    # 20 minutes in, the owner snoozes it with 40 minutes of the 1 h target left.
    queue.set_status(store, conv.id, "snoozed", policy, NOW + timedelta(minutes=20),
                     snoozed_until=NOW + timedelta(days=1))
    later = NOW + timedelta(hours=3)
    again = InboundItem("a2", "c9", "dm", False, Author("u9", "u9", "Bo"), "any news?", later)
    ingest.ingest(store, account.id, [again], {}, policy, later)
    conv = Conversation.get_by_id(conv.id)
    assert conv.status == "open" and conv.unanswered_count == 2
    assert conv.due_at == later + timedelta(minutes=40)  # not overdue since the first message


def test_search_words_may_match_name_and_text_separately(store):
    account = Account.create(kind="demo", name="d3", settings={"channel": "email"}, created_at=NOW)
    item = InboundItem("s1", "c5", "email", False, Author("lea@x.org", "lea", "Léa Martin"),
                       "Do you bake sourdough on Sundays?", NOW)
    ingest.ingest(store, account.id, [item], {}, queue.Policy(TargetConfig.default(), _always()), NOW)
    conv_id = Conversation.get(Conversation.external_id == "c5").id
    assert queue.list_ids("all", NOW, search="Léa sourdough") == [conv_id]
    assert queue.list_ids("all", NOW, search="lea sourd") == [conv_id]
    assert queue.list_ids("all", NOW, search="Léa croissant") == []


def _always() -> Schedule:
    return Schedule.always_open("UTC")
