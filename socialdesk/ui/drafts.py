"""DraftKeeper: saves what the owner types, per conversation, as they type, off the GUI thread.

Decisions:
- `typed(conv, text)` on every edit; the save runs DEBOUNCE_MS after the last keystroke (a crash loses
  at most that), and at once on `flush()` (switching conversation, quitting). The write is
  core/owner_actions.save_drafts on a `Tasks` worker: the GUI thread never touches the database.
- One save at a time, carrying every conversation typed in since the previous one: saves run on a
  pool, and two in flight could land out of order and bring back an older text. `when_saved(fn)` runs
  `fn` once no save is in flight, which is how a reply is queued only after any save of that
  conversation's text landed (the reply deletes the draft; a late save must not re-create it).
- `latest(conv)` is the newest text typed this session, saved or not: the window prefers it to the
  stored draft when the owner comes back to a conversation.
"""

from __future__ import annotations

import logging
from typing import Callable

from PySide6.QtCore import QObject, QTimer

from socialdesk.ui.workers import Tasks

log = logging.getLogger(__name__)

DEBOUNCE_MS = 600


class DraftKeeper(QObject):
    def __init__(self, tasks: Tasks, save: Callable[[dict[int, str]], None], on_error: Callable[[Exception], None],
                 parent: QObject | None = None):
        super().__init__(parent)
        self.tasks = tasks
        self.save = save
        self.on_error = on_error
        self.texts: dict[int, str] = {}  # newest text per conversation, this session
        self.dirty: set[int] = set()  # typed since the last save started
        self.saving = False
        self.waiting: list[Callable[[], None]] = []  # to run once nothing is being saved
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(DEBOUNCE_MS)
        self.timer.timeout.connect(self.flush)

    def typed(self, conversation_id: int, text: str) -> None:
        if self.texts.get(conversation_id) == text and conversation_id not in self.dirty:
            return
        self.texts[conversation_id] = text
        self.dirty.add(conversation_id)
        self.timer.start()

    def latest(self, conversation_id: int) -> str | None:
        return self.texts.get(conversation_id)

    def forget(self, conversation_id: int) -> None:
        """The text was sent: nothing of it is to be saved any more (the reply deletes the stored draft)."""
        self.texts.pop(conversation_id, None)
        self.dirty.discard(conversation_id)

    def flush(self, then: Callable[[], None] | None = None) -> None:
        """Save what is unsaved now; `then` runs once everything typed so far is stored."""
        self.timer.stop()
        if then is not None:
            self.waiting.append(then)
        if self.saving:
            return  # the running save's completion starts the next one
        if not self.dirty:
            self._run_waiting()
            return
        batch = {conv_id: self.texts.get(conv_id, "") for conv_id in self.dirty}
        self.dirty.clear()
        self.saving = True
        save = self.save
        self.tasks.run(lambda: save(batch), self._saved, self._failed)

    def when_saved(self, fn: Callable[[], None]) -> None:
        """Run `fn` once no save is in flight (at once when none is); unsaved typing is not waited for."""
        if self.saving:
            self.waiting.append(fn)
        else:
            fn()

    def _saved(self, _result: object) -> None:
        self.saving = False
        if self.dirty and self.waiting:
            self.flush()  # typed meanwhile, and someone waits for everything: save that too
        elif not self.dirty:
            self._run_waiting()
        else:
            self.timer.start()

    def _failed(self, exc: Exception) -> None:
        self.saving = False
        log.error("draft not saved: %s", exc)
        self.on_error(exc)
        self._run_waiting()  # a quit must not hang on a disk that refuses

    def _run_waiting(self) -> None:
        waiting, self.waiting = self.waiting, []
        for fn in waiting:
            fn()
