"""Tests for core/alerts.py: due-soon and overdue alerts, each once per deadline; a new deadline alerts again;
an alert counts as announced only once it is recorded (after the notifier accepted it)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from socialdesk.connectors.base import Author, InboundItem
from socialdesk.core import alerts, ingest, outbox, queue
from socialdesk.core.hours import Schedule
from socialdesk.core.store import Account, Conversation, Store
from socialdesk.core.targets import TargetConfig

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
POLICY = queue.Policy(TargetConfig.default(), Schedule.always_open("UTC"))


def _inbound(store, account_id, ext, at):
    item = InboundItem(ext, "c1", "dm", False, Author("u1", "lea", "Léa Martin"), f"message {ext}", at)
    ingest.ingest(store, account_id, [item], None, POLICY, at)


@pytest.fixture
def conv(store):
    with store.write():
        account = Account.create(kind="demo", name="Demo", settings={"channel": "instagram"}, created_at=T0)
    _inbound(store, account.id, "m1", T0)
    return Conversation.get()


def kinds(store: Store, now: datetime) -> list[tuple[str, int]]:
    """Collect, then record every alert as shown (a notifier that accepts everything)."""
    found = alerts.collect(store, now)
    alerts.record(store, found)
    return [(a.kind, a.conversation_id) for a in found]


def test_due_soon_then_overdue_each_once(store, conv):
    # DM target 60 min; due soon when 15 min (max(25%, 15 min)) are left.
    assert kinds(store, T0 + timedelta(minutes=44)) == []
    found = alerts.collect(store, T0 + timedelta(minutes=45))
    alerts.record(store, found)
    assert [(a.kind, a.customer, a.preview, a.due_at) for a in found] == [
        ("due_soon", "Léa Martin", "message m1", T0 + timedelta(minutes=60))
    ]
    assert kinds(store, T0 + timedelta(minutes=50)) == []
    assert kinds(store, T0 + timedelta(minutes=60)) == [("overdue", conv.id)]
    assert kinds(store, T0 + timedelta(minutes=90)) == []
    assert kinds(store, T0 + timedelta(days=2)) == []


def test_overdue_supersedes_a_missed_due_soon(store, conv):
    assert kinds(store, T0 + timedelta(hours=3)) == [("overdue", conv.id)]
    assert kinds(store, T0 + timedelta(hours=4)) == []


def test_alerts_survive_a_restart(store, conv, tmp_path):
    assert kinds(store, T0 + timedelta(minutes=46)) == [("due_soon", conv.id)]
    path = store.path
    store.close()
    reopened = Store.open(path)
    try:
        assert kinds(reopened, T0 + timedelta(minutes=47)) == []
    finally:
        reopened.close()


def test_new_deadline_alerts_again(store, conv):
    assert kinds(store, T0 + timedelta(hours=2)) == [("overdue", conv.id)]
    at = T0 + timedelta(hours=2, minutes=1)
    row = outbox.enqueue_reply(store, conv.id, "Sorry for the wait!", POLICY, at)
    assert row.state == "pending"
    assert kinds(store, at + timedelta(hours=1)) == []  # answered: nothing to alert
    again = T0 + timedelta(hours=3)
    _inbound(store, conv.account_id, "m2", again)
    assert kinds(store, again + timedelta(minutes=45)) == [("due_soon", conv.id)]
    assert kinds(store, again + timedelta(minutes=60)) == [("overdue", conv.id)]
    assert kinds(store, again + timedelta(minutes=61)) == []


def test_paused_items_do_not_alert(store, conv):
    queue.set_status(store, conv.id, "waiting", POLICY, T0 + timedelta(minutes=10))
    assert kinds(store, T0 + timedelta(hours=5)) == []
    queue.set_status(store, conv.id, "done", POLICY, T0 + timedelta(hours=5))
    assert kinds(store, T0 + timedelta(hours=6)) == []


def test_an_alert_that_was_not_shown_is_collected_again(store, conv):
    """Collecting does not mark anything: a pop-up that failed leaves its alert for the next round."""
    at = T0 + timedelta(minutes=46)
    first = alerts.collect(store, at)
    assert [(a.kind, a.conversation_id) for a in first] == [("due_soon", conv.id)]
    # The notifier refused it: nothing recorded, so it is still due a minute later (and after a restart).
    assert alerts.collect(store, at + timedelta(minutes=1)) == first
    alerts.record(store, first)
    assert alerts.collect(store, at + timedelta(minutes=2)) == []


def test_only_the_accepted_alerts_are_recorded(store, conv):
    """Of two alerts, the one whose pop-up failed is offered again; the shown one is not."""
    _inbound(store, conv.account_id, "m9", T0 + timedelta(minutes=5))
    with store.write():
        other_account = Account.create(kind="demo", name="Other", settings={"channel": "telegram"}, created_at=T0)
    item = InboundItem("x1", "c2", "dm", False, Author("u2", "sam", "Sam Taylor"), "hello", T0)
    ingest.ingest(store, other_account.id, [item], None, POLICY, T0)
    other = Conversation.get(Conversation.account_id == other_account.id)
    at = T0 + timedelta(hours=2)
    found = alerts.collect(store, at)
    assert sorted(a.conversation_id for a in found) == sorted([conv.id, other.id])
    shown = [a for a in found if a.conversation_id == other.id]
    alerts.record(store, shown)
    again = alerts.collect(store, at + timedelta(minutes=1))
    assert [(a.kind, a.conversation_id) for a in again] == [("overdue", conv.id)]
