"""The change notification: what changed in the profile, published by whoever changed it.

This module owns `ChangeSet` (what changed, so views refresh just those rows, after Anki's OpChanges)
and `ChangeBus`, the one publisher every writer of owner-visible state publishes to: the sync engine
(fetches, sends, automation) and the owner-action services (core/owner_actions.py: done, snooze,
merge, replies, settings; core/account_service.py: account edits).

Decisions:
- Qt-free and thread-safe: publishers run on engine and worker threads. The window subscribes one
  ui/workers.ChangeRelay (wired in app.py), which batches ChangeSets onto the GUI thread; `socialdesk
  sync` subscribes a printer. A view never reloads everything after an action of its own: it
  refreshes from the notification, the same way it follows the engine.
- A listener that raises is logged and skipped: one broken view must not stop the engine.
- `settings` carries the keys that changed; `policy_changed` says whether due times may have moved
  (core/settings.POLICY_KEYS), the one case where every row is stale.
- `drafts` names conversations whose saved draft changed: their rows show it, their order and every
  other view stay as they are (saved as the owner types, so it must cost a row fetch, not a reload).
  `seen` likewise names conversations the owner opened (their rows stop showing "new").
- `activity` marks a change of the automatic-message log that carries no other sign (a skipped status
  post, an unknown send resolved by the owner); new messages and outbox changes imply it.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Callable

from socialdesk.core.settings import POLICY_KEYS

log = logging.getLogger(__name__)


@dataclass
class ChangeSet:
    """What changed, for views to refresh just those rows."""

    conversation_ids: set[int] = field(default_factory=set)
    new_inbound: list[tuple[int, int]] = field(default_factory=list)  # (conversation id, message id)
    accounts: set[int] = field(default_factory=set)  # accounts whose row or state changed
    outbox: bool = False
    settings: set[str] = field(default_factory=set)  # setting keys written
    activity: bool = False  # the Activity log changed (see the module docstring)
    drafts: set[int] = field(default_factory=set)  # conversations whose saved draft changed
    seen: set[int] = field(default_factory=set)  # conversations the owner opened (no longer "new")
    woke: bool = False  # the computer slept and woke (core/wake.py): every countdown and alert is stale

    def __bool__(self) -> bool:
        return bool(self.conversation_ids or self.new_inbound or self.accounts or self.outbox or self.settings
                    or self.activity or self.drafts or self.seen or self.woke)

    def merge(self, other: "ChangeSet") -> None:
        self.conversation_ids |= other.conversation_ids
        self.new_inbound += other.new_inbound
        self.accounts |= other.accounts
        self.outbox = self.outbox or other.outbox
        self.settings |= other.settings
        self.activity = self.activity or other.activity
        self.drafts |= other.drafts
        self.seen |= other.seen
        self.woke = self.woke or other.woke

    @property
    def policy_changed(self) -> bool:
        """Hours or targets changed: every due time may have moved."""
        return not self.settings.isdisjoint(POLICY_KEYS)

    @property
    def touches_activity(self) -> bool:
        """Whether the Activity log (automatic messages) may show something new."""
        return bool(self.activity or self.outbox or self.new_inbound)


Listener = Callable[[ChangeSet], None]


class ChangeBus:
    """Publish ChangeSets to every subscriber, from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        with self._lock:
            self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def publish(self, change: ChangeSet) -> None:
        if not change:
            return
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(change)
            except Exception:
                log.exception("change listener failed")
