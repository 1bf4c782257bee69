"""Conversation → "Delete our published reply…": take back the reply socialdesk published (a Google
review's), as `socialdesk reply CONV --delete` does, from the window.

`PublishedReplyFeature(core, tasks)` is a UI feature (ACTIONS and `attach(window)`, see ui/actions.py).

Decisions:
- Offered (the action enabled) only while the open conversation shows a reply of ours that went out and
  its account's connector can take it back (core/published_reply: the spec's "delete_reply" capability,
  so no platform is named here). Nothing is read from the store when the owner moves between
  conversations: the reply is looked for in the thread the window shows (ConversationView.thread_shown,
  which the window loads anyway and loads again after every change notification about the open
  conversation: a reply published or deleted; an empty thread when the pane is cleared), the account in
  a map of which accounts can (`accounts_can_delete`), read on a worker when the feature attaches and
  again when accounts change.
  At attach, the conversation already open (its thread shown before the feature was there, in a staged
  start) is asked of the store once. The trigger checks again (the menu may be stale for a moment).
- Asked first, in the owner's words: the customer and everyone reading the conversation on the platform
  no longer see the reply, the review (comment) itself stays, and the text stays in socialdesk, marked
  deleted. Cancel is the default and the Escape button: Enter alone never deletes. The box is opened
  with `open()` (window-modal, not a nested event loop), like the window's other confirmations.
- The delete is network work: on a worker (`tasks.run`), the action disabled meanwhile so it is not
  sent twice. The status bar says how it went; a failure goes through the account form's error path
  (`_error_text`: owner-readable, secrets redacted, never a traceback) and leaves the action offered.
  The window refreshes from the ChangeSet that core/published_reply.delete_our_reply publishes (the
  thread shows the reply greyed, "deleted on the platform"); nothing is reloaded here.
"""

from __future__ import annotations

import logging

from PySide6.QtWidgets import QMessageBox

from socialdesk.connectors import traits
from socialdesk.core import published_reply
from socialdesk.core.changes import ChangeSet
from socialdesk.ui.actions import ActionSpec
from socialdesk.ui.queue_model import KIND_LABELS

log = logging.getLogger(__name__)

ACTION_ID = "delete_published_reply"
STATUS_MS = 10_000


class PublishedReplyFeature:
    ACTIONS: tuple[ActionSpec, ...] = (
        ActionSpec(ACTION_ID, "Delete our published reply…", "Conversation", (), "delete_published_reply",
                   "Take back the reply you published here: the customer and the public no longer see it",
                   group="Answer"),
    )

    def __init__(self, core, tasks):
        self.core = core
        self.tasks = tasks
        self.window = None
        self.action = None
        self.offered: int | None = None  # the conversation the action is enabled for
        self.deleting: int | None = None  # the conversation whose reply is being deleted now
        self.confirm_box: QMessageBox | None = None
        self.can_delete: dict[int, bool] = {}  # account id -> its connector can take a reply back
        self.accounts_generation = 0
        self.thread: tuple[int, bool] | None = None  # (conversation shown, it shows a reply of ours that went out)

    def attach(self, window) -> None:
        self.window = window
        self.action = window.actions[ACTION_ID]
        self.action.setEnabled(False)
        # Connected after the window's own handlers, so window.current_id is already the new one.
        window.table.selectionModel().currentRowChanged.connect(lambda *_: self.check())
        window.model.modelReset.connect(self.check)
        window.thread_view.thread_shown.connect(self._thread_shown)
        window.engine_changed.connect(self._changed)
        self._load_accounts(window.current_id)

    # -- whether to offer it ---------------------------------------------------------------------------

    def check(self) -> None:
        """Offer it for the open conversation if its thread, as shown, has a reply of ours that went out and
        its account's connector can take it back. Reads nothing: what the window shows, and the map."""
        conv_id, row = self.window.current_id, self.window.current_row
        shown = conv_id is not None and self.thread == (conv_id, True)
        can = row is not None and row.id == conv_id and self.can_delete.get(row.account_id, False)
        self._offer(conv_id if shown and can else None)

    def _thread_shown(self, messages: list) -> None:
        conv_id = self.window.current_id  # the window shows only the open conversation's thread
        self.thread = None if conv_id is None else (conv_id, published_reply.shows_published_reply(messages))
        self.check()

    def _load_accounts(self, conv_id: int | None = None) -> None:
        """Which accounts can take a reply back (and, at attach, whether the open conversation has one)."""
        self.accounts_generation += 1
        generation = self.accounts_generation

        def work():
            has = published_reply.has_published_reply(conv_id) if conv_id is not None else False
            return generation, published_reply.accounts_can_delete(), conv_id, has

        self.tasks.run(work, self._accounts_loaded, self._check_failed)

    def _accounts_loaded(self, result) -> None:
        generation, can_delete, conv_id, has = result
        if generation != self.accounts_generation:
            return  # a newer read is on its way
        self.can_delete = can_delete
        if conv_id is not None and self.thread is None and conv_id == self.window.current_id:
            self.thread = (conv_id, has)  # shown before the feature attached, still open, and none shown since
        self.check()

    def _check_failed(self, exc: Exception) -> None:
        log.warning("could not tell whether the reply can be deleted: %s", self._reason(exc))
        self._offer(None)

    def _offer(self, conv_id: int | None) -> None:
        self.offered = conv_id
        self.action.setEnabled(conv_id is not None and conv_id != self.deleting)

    def _changed(self, change: ChangeSet) -> None:
        # A reply published or deleted in the open conversation: the window shows its thread again
        # (thread_shown). An account added, removed or changed: read the map again.
        if change.accounts:
            self._load_accounts()

    # -- asking, then deleting -------------------------------------------------------------------------

    def delete_published_reply(self) -> None:
        conv_id, row = self.window.current_id, self.window.current_row
        if conv_id is None or conv_id != self.offered or row is None or row.id != conv_id:
            self.check()  # the menu was stale: say nothing, offer again once known
            return
        customer = row.contact_name or "the customer"
        kind = KIND_LABELS.get(row.kind, row.kind).lower()
        platform = traits.of(row.channel).name
        box = QMessageBox(QMessageBox.Icon.Warning, "Delete your published reply?",
                          f"Delete your reply to {customer}'s {kind} on {platform}?", parent=self.window)
        box.setObjectName("delete_reply_box")
        box.setInformativeText(
            f"{customer} and everyone who reads the {kind} on {platform} will no longer see your reply. "
            f"The {kind} itself stays. Your text stays here in socialdesk, marked deleted, and you can "
            "write a new reply afterwards.")
        delete = box.addButton("&Delete reply", QMessageBox.ButtonRole.DestructiveRole)
        delete.setObjectName("delete_reply")
        cancel = box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(cancel)
        box.setEscapeButton(cancel)
        box.buttonClicked.connect(lambda button: self._answered(button is delete, conv_id, customer, platform))
        box.finished.connect(lambda _result: setattr(self, "confirm_box", None))
        self.confirm_box = box
        box.open()

    def _answered(self, confirmed: bool, conv_id: int, customer: str, platform: str) -> None:
        if not confirmed:
            return
        core = self.core
        self.deleting = conv_id
        self._offer(self.offered)
        self.window.statusBar().showMessage(f"Deleting your reply to {customer} on {platform}…")

        def work() -> int:
            return published_reply.delete_our_reply(core.store, core.engine.make_connector, core.changes, conv_id,
                                                    core.clock.now())

        def done(_count: int) -> None:
            self.deleting = None
            self.window.statusBar().showMessage(
                f"Deleted your reply to {customer} on {platform}. The customer and the public no longer see it.",
                STATUS_MS)
            self._offer(self.offered)  # its thread, shown again after the change notification, tells the rest

        def failed(exc: Exception) -> None:
            self.deleting = None
            reason = self._reason(exc)
            log.warning("deleting the published reply failed: %s", reason)
            self.window.statusBar().showMessage(f"Your reply to {customer} was not deleted: {reason}", STATUS_MS)
            self._offer(self.offered)

        self.tasks.run(work, done, failed)

    @staticmethod
    def _reason(exc: Exception) -> str:
        from socialdesk.ui.account_form import _error_text  # the one owner-readable error path

        return _error_text(exc)
