"""The reply box: plain text only, with the channel's length counter and the reason it cannot send.

Decisions: pasted rich text is inserted as plain text (QPlainTextEdit), so nothing formatted or remote
sneaks into a reply. The counter uses core/text_limits (graphemes for Bluesky, weighted characters for X,
...), and the composer itself refuses to emit a send over the limit; the window's Send action asks
`can_send()`. Sending itself is the window's job (it goes through the outbox off the GUI thread).
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget

from socialdesk.core import text_limits


class ReplyEdit(QPlainTextEdit):
    pass


class Composer(QWidget):
    send_clicked = Signal(bool)  # mark done too?

    def __init__(self, parent=None):
        super().__init__(parent)
        self.channel = ""
        self.row = None
        self.limit_override: int | None = None
        self.edit = ReplyEdit(self)
        self.edit.setObjectName("composer_edit")
        self.edit.setPlaceholderText("Write a reply…  (Ctrl+Enter sends, Ctrl+Shift+Enter sends and marks done)")
        self.edit.setAccessibleName("Reply")
        self.edit.setTabChangesFocus(False)
        self.edit.setMaximumHeight(160)
        self.counter = QLabel(self)
        self.counter.setObjectName("composer_counter")
        self.hint = QLabel(self)
        self.hint.setObjectName("composer_hint")
        self.hint.setWordWrap(True)
        self.hint.hide()
        self.send_button = QPushButton("Send", self)
        self.send_button.setToolTip("Send (Ctrl+Enter)")
        self.send_done_button = QPushButton("Send && done", self)
        self.send_done_button.setToolTip("Send and mark done (Ctrl+Shift+Enter)")
        self.send_button.clicked.connect(lambda: self.send_clicked.emit(False))
        self.send_done_button.clicked.connect(lambda: self.send_clicked.emit(True))
        row = QHBoxLayout()
        row.addWidget(self.counter, 1)
        row.addWidget(self.send_button)
        row.addWidget(self.send_done_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.hint)
        layout.addWidget(self.edit)
        layout.addLayout(row)
        self.edit.textChanged.connect(self.update_counter)
        self.update_counter()

    def set_conversation(self, row) -> None:
        """The window selected a conversation (a core.queue.QueueRow): adapt counter and context."""
        self.row = row
        self.channel = row.channel
        self.update_counter()

    def reply_meta(self) -> dict:
        """How the text was written, for outbox.enqueue_reply: via, snippet_id, edited_after_snippet."""
        return {}

    def text(self) -> str:
        return self.edit.toPlainText()

    def clear(self) -> None:
        self.edit.clear()
        self.hint.hide()

    def _count(self) -> text_limits.LimitCount | None:
        try:
            return text_limits.count(self.text(), self.channel, self.limit_override)
        except ValueError:
            return None

    def update_counter(self) -> None:
        count = self._count()
        blank = not self.text().strip()
        if count is None or count.limit is None:
            self.counter.setText(f"{len(self.text())} characters" if self.text() else "")
            self.counter.setStyleSheet("")
        else:
            self.counter.setText(text_limits.limit_message(count))
            self.counter.setStyleSheet("color:#c62828; font-weight:bold" if count.over else "")
        ok = not blank and not (count is not None and count.over)
        self.send_button.setEnabled(ok)
        self.send_done_button.setEnabled(ok)

    def why_not(self) -> str:
        """Empty when the text can be sent, else the reason (shown to the owner)."""
        if not self.text().strip():
            return "The reply is empty."
        count = self._count()
        if count is not None and count.over:
            return text_limits.limit_message(count)
        return ""
