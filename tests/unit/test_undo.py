"""Undo (issue 17 item 3): every status change and a merge return what reverses them; undoing puts the
database back exactly as it was, publishes the change, and a conversation that changed since is left alone."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

import pytest

from socialdesk import paths
from socialdesk.app import build_core
from socialdesk.connectors.base import Author, InboundItem
from socialdesk.core import queue
from socialdesk.core.changes import ChangeSet
from socialdesk.core.clock import ManualClock
from socialdesk.core.hours import Schedule
from socialdesk.core.store import Account, AutoReplyLedger, Contact, Conversation, Identity, Outbox

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)  # a Tuesday, open 9-17 UTC


@pytest.fixture
def core():
    c = build_core(paths.profile("t"), clock=ManualClock(NOW))
    weekdays = Schedule(timezone="UTC", week={d: [(time(9), time(17))] for d in range(5)})
    c.settings.set("hours.schedule", weekdays.to_json())
    c.policy.invalidate()
    yield c
    c.close()


def ingest(core, account_name, channel, ext, author, name, text, at, kind="dm"):
    with core.store.write():
        account, _ = Account.get_or_create(name=account_name, defaults={
            "kind": "demo", "settings": {"channel": channel}, "created_at": NOW})
    item = InboundItem(ext, "c-" + ext, kind, False, Author(author, display_name=name), text, at)
    core.engine._ingest(account.id, [item], {})
    return Conversation.get((Conversation.account == account.id) & (Conversation.external_id == "c-" + ext)).id


def dump(core) -> dict:
    """Every row of every table (and the contact name index), for "exactly as it was"."""
    db = core.store.db
    tables = [r[0] for r in db.execute_sql(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '%fts%' AND name != 'setting'")]
    rows = {t: db.execute_sql(f'SELECT * FROM "{t}" ORDER BY 1').fetchall() for t in tables}
    rows["contact_fts"] = db.execute_sql(
        "SELECT rowid FROM contact_fts WHERE contact_fts MATCH 'ana OR bea' ORDER BY rowid").fetchall()
    return rows


@pytest.mark.parametrize("status", ["done", "waiting", "spam", "snoozed"])
def test_undoing_a_status_change_restores_the_conversation_exactly(core, published, status):
    conv_id = ingest(core, "Shop", "telegram", "m1", "u1", "Ana", "hello", NOW - timedelta(minutes=5))
    before = dump(core)
    core.clock.advance(minutes=7)
    until = NOW + timedelta(hours=3) if status == "snoozed" else None
    undo = core.owner.set_status(conv_id, status, until)
    assert Conversation.get_by_id(conv_id).status == status
    assert undo.label and undo.conversation_ids == {conv_id}
    core.clock.advance(minutes=2)
    published.clear()
    assert core.owner.undo(undo).startswith("Undone: ")
    assert dump(core) == before
    assert published == [ChangeSet({conv_id})]


def test_a_conversation_that_changed_since_is_not_undone(core):
    conv_id = ingest(core, "Shop", "telegram", "m1", "u1", "Ana", "hello", NOW - timedelta(minutes=5))
    undo = core.owner.set_status(conv_id, "waiting")
    # The customer writes again in this conversation: it reopens, and that newer fact wins.
    item = InboundItem("m2", "c-m1", "dm", False, Author("u1", display_name="Ana"), "hello?", NOW + timedelta(minutes=2))
    core.engine._ingest(Conversation.get_by_id(conv_id).account_id, [item], {})
    assert Conversation.get_by_id(conv_id).status == "open"
    reopened = queue.clock_values(Conversation.get_by_id(conv_id))
    with pytest.raises(queue.QueueError, match="changed since"):
        core.owner.undo(undo)
    assert queue.clock_values(Conversation.get_by_id(conv_id)) == reopened


def test_undoing_a_merge_unmerges_exactly(core, published):
    a1 = ingest(core, "Shop", "telegram", "m1", "u1", "Ana", "hello", NOW - timedelta(minutes=5))
    b1 = ingest(core, "Mail", "email", "m2", "ana@example.com", "Bea Ana", "hi", NOW, kind="email")
    b2 = ingest(core, "Mail", "email", "m3", "ana@example.com", "Bea Ana", "again", NOW, kind="email")
    keep = Conversation.get_by_id(a1).contact_id
    drop = Conversation.get_by_id(b1).contact_id
    # History both people have (one closed period in common), notes, and an outbox row of the dropped one.
    with core.store.write():
        Contact.update(notes="prefers email").where(Contact.id == drop).execute()
        Contact.update(notes="regular").where(Contact.id == keep).execute()
        AutoReplyLedger.create(contact=keep, closed_period_key="p1", created_at=NOW)
        AutoReplyLedger.create(contact=drop, closed_period_key="p1", created_at=NOW)
        AutoReplyLedger.create(contact=drop, closed_period_key="p2", created_at=NOW)
    core.owner.reply(b1, "Thanks Bea!")
    assert Outbox.get(Outbox.conversation == b1).contact_id == drop
    before = dump(core)

    undo = core.owner.merge_contacts(keep, drop)
    assert Contact.get_or_none(Contact.id == drop) is None
    assert {c.contact_id for c in Conversation.select()} == {keep}
    assert Contact.get_by_id(keep).notes == "regular\nprefers email"
    published.clear()
    core.owner.undo(undo)
    assert dump(core) == before
    assert published == [ChangeSet({a1, b1, b2})]
    assert Identity.select().where(Identity.contact == drop).count() == 1
    with pytest.raises(queue.QueueError):  # twice: the person exists again
        core.owner.undo(undo)
