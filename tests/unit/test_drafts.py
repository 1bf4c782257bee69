"""Drafts (issue 17 item 2): kept per conversation across a restart, a blank text deletes one, a reply
deletes it in its own transaction, the queue row carries it, and saving publishes only a draft change."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from socialdesk import paths
from socialdesk.app import build_core
from socialdesk.connectors.base import Author, InboundItem
from socialdesk.core import drafts, queue
from socialdesk.core.changes import ChangeSet
from socialdesk.core.clock import ManualClock
from socialdesk.core.store import Account, Conversation, Draft, Store

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)


@pytest.fixture
def core():
    c = build_core(paths.profile("t"), clock=ManualClock(NOW))
    yield c
    c.close()


def conversations(core, n=2) -> list[int]:
    with core.store.write():
        account_id = Account.create(kind="demo", name="Shop", settings={"channel": "telegram"}, created_at=NOW).id
    items = [InboundItem(f"m{i}", f"c{i}", "dm", False, Author(f"u{i}", display_name=f"Ana {i}"), "hello",
                         NOW - timedelta(minutes=5)) for i in range(n)]
    core.engine._ingest(account_id, items, {})
    return [c.id for c in Conversation.select().order_by(Conversation.id)]


def test_drafts_are_saved_shown_in_rows_and_survive_a_restart(core, published):
    a, b = conversations(core)
    published.clear()
    core.owner.save_drafts({a: "Hi Ana, yes we\n  have   it", b: "Thanks"})
    assert published == [ChangeSet(drafts={a, b})]  # rows refresh; no reload of the view
    assert queue.rows([a])[a].draft == "Hi Ana, yes we\n  have   it"
    assert drafts.preview(queue.rows([a])[a].draft) == "Hi Ana, yes we have it"
    core.owner.save_drafts({b: "  \n"})  # emptied: no draft any more
    assert drafts.texts([a, b]) == {a: "Hi Ana, yes we\n  have   it"}
    path = core.store.path
    core.close()
    store = Store.open(path)  # the restart
    try:
        assert drafts.texts([a, b]) == {a: "Hi Ana, yes we\n  have   it"}
    finally:
        store.close()


def test_sending_deletes_the_draft_in_the_same_transaction(core, monkeypatch):
    (a,) = conversations(core, 1)
    core.owner.save_drafts({a: "Hi Ana!"})
    core.owner.reply(a, "Hi Ana!")
    assert drafts.texts([a]) == {}
    core.owner.save_drafts({a: "Another one"})

    from socialdesk.core import outbox

    def refuse(*args, **kwargs):
        raise outbox.OutboxError("refused")

    monkeypatch.setattr(outbox, "enqueue_reply", refuse)
    with pytest.raises(outbox.OutboxError):
        core.owner.reply(a, "Another one")
    assert drafts.texts([a]) == {a: "Another one"}  # a refused reply keeps its draft


def test_a_draft_of_a_conversation_that_is_gone_is_dropped(core):
    (a,) = conversations(core, 1)
    core.owner.save_drafts({a: "kept", a + 100: "nobody to answer"})
    assert Draft.select().count() == 1
    with core.store.write():
        Conversation.delete().where(Conversation.id == a).execute()
    assert Draft.select().count() == 0  # deleted with its conversation
