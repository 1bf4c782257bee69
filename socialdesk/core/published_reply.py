"""Taking back our reply once it is published, where the platform allows it (a Google review reply).

Decisions:
- A connector offers it by declaring the capability "delete_reply" (CAPABILITY, on its class and so on its
  ConnectorSpec) and implementing `delete_reply(conversation_external_id)`; the connector contract test
  holds the two together. The platform holds at most one reply of ours per conversation there, so the
  conversation names it. Platforms without it refuse with NotAllowed, saying so.
- Whether to offer it (the window's "Delete our published reply…") takes two answers: the spec of the
  account's kind, the connector that does the work, declares it (`platform_can_delete`: a demo account
  simulating a platform that can is not one), so no connector is built and no platform is named; and the
  conversation shows a reply of ours that went out (sent, or found on the platform) and is not deleted
  yet. That one is a single rule (`went_out`), read from the store (`has_published_reply`) or from the
  thread the window already shows (`shows_published_reply`), so the window asks the store nothing when
  the owner moves from one conversation to the next.
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
from typing import Any, Callable, Iterable

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


def went_out(direction: str, state: str, deleted_at: datetime | None) -> bool:
    """Whether a message is a reply of ours on the platform now: outbound, gone out and not deleted. An
    outbox message's meta "state" is "pending"/"failed" until it went out, then "" (core/outbox.py); one
    found on the platform has none."""
    return direction == Direction.OUT and not state and deleted_at is None


def has_published_reply(conversation_id: int) -> bool:
    """Whether the conversation shows a reply of ours on the platform (`went_out`). Reads the store:
    callers off the GUI thread."""
    ours = (Message.select(Message.direction, Message.meta, Message.deleted_at)
            .where((Message.conversation == conversation_id) & (Message.direction == Direction.OUT)
                   & Message.deleted_at.is_null()))
    return any(went_out(m.direction, (m.meta or {}).get("state", ""), m.deleted_at) for m in ours)


def shows_published_reply(thread: Iterable[Any]) -> bool:
    """The same, read from a thread as the window shows it (core/queue.ThreadMessage: `direction`, `state`,
    `deleted_at`), so nothing is read again."""
    return any(went_out(m.direction, m.state, m.deleted_at) for m in thread)


def accounts_can_delete() -> dict[int, bool]:
    """Whether each account's connector can take back a published reply (`platform_can_delete`), by account
    id: read once and again when accounts change, not per conversation. Reads the store."""
    return {a.id: platform_can_delete(a.kind) for a in Account.select(Account.id, Account.kind)}


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
