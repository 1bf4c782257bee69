"""core/published_reply: when the window offers "Delete our published reply…". From the spec of the
account's kind (its "delete_reply" capability), never from a platform's name, and from the conversation's
messages: read from the store or from the thread as the window shows it, the same answer."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from socialdesk.connectors.base import Author, InboundItem
from socialdesk.core import ingest, published_reply, queue
from socialdesk.core.changes import ChangeBus
from socialdesk.core.hours import Schedule
from socialdesk.core.states import Direction
from socialdesk.core.store import Account, Conversation, Message
from socialdesk.core.targets import TargetConfig

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
POLICY = queue.Policy(TargetConfig.default(), Schedule.always_open("UTC"))


def _review(store, kind: str, settings: dict, *, replied: bool) -> int:
    with store.write():
        account = Account.create(kind=kind, name=f"Maps {kind}", settings=settings, created_at=NOW)
    items = [InboundItem("r1", "r1", "review", True, Author("review:r1", "", "Sam"), "Slow", NOW - timedelta(hours=1),
                         rating=2)]
    if replied:  # our reply, as the platform lists it
        items.append(InboundItem("r1/reply", "r1", "review", True, Author("owner"), "Sorry, Sam", NOW, outbound=True))
    ingest.ingest(store, account.id, items, None, POLICY, NOW)
    return Conversation.get(Conversation.account == account.id).id


def deletable(conversation_id: int) -> bool:
    """What the window offers it for (ui/published_reply_feature.py): the account can, and the thread it
    shows has a reply of ours that went out; the store's answer is checked to agree with the thread's."""
    conversation = Conversation.get_or_none(Conversation.id == conversation_id)
    if conversation is None:
        return False
    shown = published_reply.shows_published_reply(queue.thread(conversation_id))
    assert published_reply.has_published_reply(conversation_id) == shown
    return published_reply.accounts_can_delete()[conversation.account_id] and shown


class _Deleting:
    capabilities = frozenset({"review", published_reply.CAPABILITY})

    def __init__(self):
        self.deleted: list[str] = []

    def delete_reply(self, external_id: str) -> None:
        self.deleted.append(external_id)


def test_offered_for_a_published_reply_on_a_platform_that_can_take_it_back(store):
    conv = _review(store, "google", {}, replied=True)
    assert deletable(conv)
    connector = _Deleting()
    published_reply.delete_our_reply(store, lambda a: connector, ChangeBus(), conv, NOW)
    assert connector.deleted == ["r1"]
    assert not deletable(conv)  # taken back: nothing left to delete


def test_not_offered_without_a_reply_that_went_out(store):
    conv = _review(store, "google", {}, replied=False)
    assert not deletable(conv)
    with store.write():  # a reply still in the outbox, then one that failed: not on the platform
        Message.create(conversation=conv, account=Conversation.get_by_id(conv).account_id, external_id="outbox:k1",
                       direction=Direction.OUT, text="Sorry", created_at=NOW, meta={"state": "pending"})
        Message.create(conversation=conv, account=Conversation.get_by_id(conv).account_id, external_id="outbox:k2",
                       direction=Direction.OUT, text="Sorry", created_at=NOW, meta={"state": "failed"})
    assert not deletable(conv)
    assert not deletable(conv + 1000)  # gone since it was selected


@pytest.mark.parametrize("kind, settings", [("demo", {"channel": "google"}), ("mastodon", {}), ("gone", {})])
def test_not_offered_where_the_connector_cannot(store, kind, settings):
    """A demo simulating a platform that can is still the demo's connector, which cannot."""
    assert not deletable(_review(store, kind, settings, replied=True))


def test_a_connector_must_declare_it_as_well_as_have_it():
    undeclared = _Deleting()
    undeclared.capabilities = frozenset({"review"})
    assert published_reply.can_delete(_Deleting()) and not published_reply.can_delete(undeclared)
