"""Taking back our reply once it is published, where the platform allows it (a Google review reply).

Decisions:
- A connector offers it by declaring the capability "delete_reply" (CAPABILITY, on its class and so on its
  ConnectorSpec) and implementing `delete_reply(conversation_external_id)`; the connector contract test
  holds the two together. The platform holds at most one reply of ours per conversation there, so the
  conversation names it. Platforms without it refuse with NotAllowed, saying so.
- Whether to offer it (`deletable`, the window's "Delete our published reply…") is read from the store
  and the spec of the account's kind, the connector that does the work (a demo account simulating a
  platform that can is not one), so no connector is built and no platform is named: the conversation
  must show a reply of ours that went out (sent, or found on the platform) and is not deleted yet.
- The outbox has no "unsend" of a sent row (it only withdraws what has not gone out), and this is not
  one: the reply was sent and stays in the outbox's history. What changes is the thread: our outbound
  messages of the conversation are marked deleted (`deleted_at`, shown greyed "deleted on the
  platform", as a deletion the platform reports is), in one write after the platform confirmed.
- The conversation's clock does not change: the owner removed the reply on purpose, usually to write a
  better one (replying again is an ordinary reply). The next fetch may report the same deletion; ingest
  ignores a deletion of a message already deleted.
- Network first, outside the write lane; callers run it off the GUI thread.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

from socialdesk.connectors.base import NotAllowed
from socialdesk.core.changes import ChangeBus, ChangeSet
from socialdesk.core.states import Direction
from socialdesk.core.store import Account, Conversation, Message, Store

CAPABILITY = "delete_reply"


def can_delete(connector: Any) -> bool:
    return CAPABILITY in getattr(connector, "capabilities", ()) and callable(getattr(connector, "delete_reply", None))


def platform_can_delete(account_kind: str) -> bool:
    """Whether accounts of this kind can take back a published reply (from its spec: nothing is built)."""
    from socialdesk.connectors import registry  # lazily: the registry imports connector modules on demand

    return account_kind in registry.kinds() and CAPABILITY in registry.spec(account_kind).capabilities


def deletable(conversation_id: int) -> bool:
    """Whether the conversation shows a published reply of ours that its platform lets socialdesk take
    back: one that went out (not pending or failed in the outbox) and is not marked deleted. Reads the
    store: callers off the GUI thread."""
    conversation = Conversation.get_or_none(Conversation.id == conversation_id)
    if conversation is None or not platform_can_delete(Account.get_by_id(conversation.account_id).kind):
        return False
    ours = (Message.select(Message.meta)
            .where((Message.conversation == conversation_id) & (Message.direction == Direction.OUT)
                   & Message.deleted_at.is_null()))
    # An outbox message's meta "state" is "pending"/"failed" until it went out, then "" (core/outbox.py);
    # one found on the platform has none.
    return any(not (m.meta or {}).get("state") for m in ours)


def delete_our_reply(store: Store, make_connector: Callable[[Account], Any], changes: ChangeBus,
                     conversation_id: int, now: datetime) -> int:
    """Remove our published reply to a conversation on its platform; returns how many of our messages
    the thread now shows as deleted. Raises ConnectorError subclasses (NotAllowed where the platform
    cannot), owner-readable."""
    conversation = Conversation.get_by_id(conversation_id)
    account = Account.get_by_id(conversation.account_id)
    connector = make_connector(account)
    try:
        if not can_delete(connector):
            raise NotAllowed("This platform does not let socialdesk remove a reply once it is published; remove "
                             "it in the platform's own app.")
        connector.delete_reply(conversation.external_id)
    finally:
        close = getattr(connector, "close", None)
        if close is not None:
            close()
    with store.write():
        count = (Message.update(deleted_at=now)
                 .where((Message.conversation == conversation_id) & (Message.direction == Direction.OUT)
                        & Message.deleted_at.is_null())
                 .execute())
    changes.publish(ChangeSet(conversation_ids={conversation_id}))
    return count
