"""Tests for core/alerts.py: due-soon and overdue alerts, each once per deadline; a new deadline alerts again."""

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
    return [(a.kind, a.conversation_id) for a in alerts.collect(store, now)]


def test_due_soon_then_overdue_each_once(store, conv):
    # DM target 60 min; due soon when 15 min (max(25%, 15 min)) are left.
    assert kinds(store, T0 + timedelta(minutes=44)) == []
    found = alerts.collect(store, T0 + timedelta(minutes=45))
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
