"""The reply box: plain text only, with the channel's length counter, the reason it cannot send, and
snippet insertion (`;abbr` expansion, favourites, palette) with the "Add their name?" nudge.

Decisions: pasted rich text is inserted as plain text (QPlainTextEdit), so nothing formatted or remote
sneaks into a reply. The counter uses core/text_limits, which reads the platform's traits for the
conversation's kind (graphemes for Bluesky, 300 a post and 1,000 a DM; UTF-16 units for Telegram, ...),
and the composer itself refuses to emit a send over the limit; the window's Send action asks
`can_send()`. Sending itself is the window's job (it goes through the outbox off the GUI thread).

Suggested reply: when a conversation opens with an empty reply box, the snippet ranking first for the
customer's latest message (core.snippets.rank_snippets, asked by `suggestions_needed` and answered by
the feature with `set_suggestions`) shows in the box as its placeholder, rendered for this customer:
placeholder text (the palette's placeholder colour, light or dark) is never sent, so a suggestion
cannot go out by itself. Tab in the empty box inserts it as a snippet, ready to edit (`reply_meta`
counts it as one); Alt+Down / Alt+Up show the next / previous one, and also swap an inserted
suggestion the owner has not edited. A draft or typed text hides it.

Reply windows: when the platform limits how long a conversation may be answered, a line above the text
says so ("Reply window closes in 2 h 05."), turns into a warning in its last hour, and once it closed
says what still works: Send stays on only where the platform takes a late reply (it then goes out
tagged), else it is off and the owner is sent to the platform's app. The wording and the rule are
core/conversation_clock.window_notice; the composer asks it again on every counter update and on the
window's 30-second tick (`update_window`), with the injected clock.

Snippets (the data comes from ui/snippet_palette.SnippetsFeature, which owns all I/O):
- The keypress path does no I/O: expansion looks `;abbr` up in an in-memory map the feature fills in the
  background (`set_snippet_index`), and renders with the conversation's RenderContext cached here
  (`set_context`). When the context is not loaded yet the insertion waits for it (`context_needed` asks
  the feature) and happens when it arrives, provided the `;abbr` the owner typed is still there.
- `;abbr` expands on Space or Tab when `;` starts a word; the trigger key is consumed, so a reply made of
  one snippet is exactly the snippet. An unknown abbreviation is left as typed with a short hint.
  "/" typed into an EMPTY composer opens the palette instead of being inserted.
- The last inserted snippet is tracked (id + rendered text); `reply_meta` follows
  core.snippets.classify_reply: unchanged / edited snippet, or "manual" once it no longer resembles it.
- Name nudge: shown while the text is that snippet unchanged and lacks the customer's first name
  (core.snippets.needs_name_nudge). Alt+N (`add_name`) places the name by `name_insertion`: after a
  leading greeting word ("Hi, thanks" -> "Hi Léa, thanks"; "Hello there!" -> "Hello Léa!"), otherwise
  as a greeting in front ("Thanks for…" -> "Hi Léa! Thanks for…"), so the owner's sentence is untouched.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent, QTextCursor
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from socialdesk.connectors import traits
from socialdesk.core import conversation_clock, text_limits
from socialdesk.core import snippets as snip
from socialdesk.ui import theme
from socialdesk.ui.qtcompat import emit

PLACEHOLDER = "Write a reply…  (;abbr + Space expands a snippet, Ctrl+; or / lists them, Ctrl+Enter sends)"
SUGGESTIONS = 5  # how many ranked snippets Alt+Down cycles through
CONTEXT_MAX_AGE_S = 300  # "today" and "next open" drift: refresh a cached context after five minutes
_TRIGGER = re.compile(r"(?:^|(?<=\s));([\w-]{1,32})$")
_GREETING = re.compile(r"^(\s*)(hi|hello|hey|dear|good (?:morning|afternoon|evening))\b( there\b)?", re.IGNORECASE)


@dataclass(frozen=True)
class SnippetRef:
    """What the composer keeps of a snippet (a snapshot, safe to hold on the GUI thread)."""

    id: int
    abbreviation: str
    title: str
    body: str
    favorite_slot: int | None = None


def name_insertion(text: str, first_name: str) -> tuple[int, int, str]:
    """Where and how to add the customer's first name: (start, end, replacement) for text[start:end]."""
    m = _GREETING.match(text)
    if m:
        if m.group(3):  # "Hi there" -> "Hi Léa"
            return m.start(3), m.end(3), " " + first_name
        return m.end(2), m.end(2), " " + first_name
    start = len(text) - len(text.lstrip())
    return start, start, f"Hi {first_name}! "


def _utf16_len(text: str) -> int:
    """Length in QTextCursor positions (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


class ReplyEdit(QPlainTextEdit):
    """The text field; snippet keys are decided by the Composer before Qt edits the text."""

    def __init__(self, composer: "Composer"):
        super().__init__(composer)
        self._composer = composer

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt override)
        handled, hint = self._composer._before_key(event)
        if handled:
            event.accept()
            return
        super().keyPressEvent(event)
        if hint:
            self._composer.show_hint(hint)


class Composer(QWidget):
    send_clicked = Signal(bool)  # mark done too?
    context_needed = Signal(int)  # conversation id whose RenderContext should be loaded
    snippet_inserted = Signal(int)  # snippet id, to record its use
    palette_requested = Signal()  # "/" in an empty composer
    suggestions_needed = Signal(int, str, str)  # conversation id, the customer's latest message, channel

    def __init__(self, parent=None, *, now: Callable[[], datetime] | None = None):
        super().__init__(parent)
        self.now = now or (lambda: datetime.now(timezone.utc))  # the app's clock (tests move it)
        self.channel = ""
        self.kind = ""  # the conversation kind: a Bluesky DM allows 1,000 graphemes, a post 300
        self.row = None
        self.limit_override: int | None = None
        self.abbreviations: dict[str, SnippetRef] = {}
        self.favorites: dict[int, SnippetRef] = {}
        self.snippets_loaded = False
        self.contexts: dict[int, tuple[float, snip.RenderContext]] = {}
        self.inserted: tuple[int, str] | None = None  # last inserted snippet: id, rendered text
        self._pending: list[tuple[int, SnippetRef, tuple[int, int, str] | None]] = []
        self.suggestions: list[SnippetRef] = []  # best first, for the current conversation
        self.suggestion_at = 0
        self._suggested_for: tuple[int, str | None] | None = None  # (conversation, message) they were ranked for
        self.edit = ReplyEdit(self)
        self.edit.setObjectName("composer_edit")
        self.edit.setPlaceholderText(PLACEHOLDER)
        self.edit.setAccessibleName("Reply")
        self.edit.setTabChangesFocus(False)
        self.edit.setMaximumHeight(160)
        self.counter = QLabel(self)
        self.counter.setObjectName("composer_counter")
        self.hint = QLabel(self)
        self.hint.setObjectName("composer_hint")
        self.hint.setTextFormat(Qt.TextFormat.PlainText)
        self.hint.setWordWrap(True)
        self.hint.hide()
        # The platform's note for this kind of reply (traits.reply_notices: "Your reply is public…").
        self.notice_line = QLabel(self)
        self.notice_line.setObjectName("composer_notice")
        self.notice_line.setTextFormat(Qt.TextFormat.PlainText)
        self.notice_line.setWordWrap(True)
        theme.tint(self.notice_line, theme.MUTED)
        self.notice_line.hide()
        self.window_line = QLabel(self)
        self.window_line.setObjectName("composer_window")
        self.window_line.setTextFormat(Qt.TextFormat.PlainText)
        self.window_line.setWordWrap(True)
        self.window_line.hide()
        self.nudge = QWidget(self)
        self.nudge.setObjectName("composer_nudge")
        self.nudge_label = QLabel(self.nudge)
        self.nudge_label.setTextFormat(Qt.TextFormat.PlainText)  # the name is customer data
        theme.tint(self.nudge_label, theme.NOTE)
        self.nudge_button = QPushButton(self.nudge)
        self.nudge_button.setFlat(True)
        self.nudge_button.setToolTip("Add the customer's first name (Alt+N)")
        self.nudge_button.clicked.connect(self.add_name)
        nudge_row = QHBoxLayout(self.nudge)
        nudge_row.setContentsMargins(0, 0, 0, 0)
        nudge_row.addWidget(self.nudge_label, 1)
        nudge_row.addWidget(self.nudge_button)
        self.nudge.hide()
        self.send_button = QPushButton("Send", self)
        self.send_button.setToolTip("Send (Ctrl+Enter)")
        self.send_done_button = QPushButton("Send && done", self)
        self.send_done_button.setToolTip("Send and mark done (Ctrl+Shift+Enter)")
        self.send_button.clicked.connect(lambda: emit(self.send_clicked, False))
        self.send_done_button.clicked.connect(lambda: emit(self.send_clicked, True))
        # The platform's other ways to answer this kind of conversation (traits.ReplyMode: a private
        # reply to a public comment); hidden where there are none.
        self.mode_box = QComboBox(self)
        self.mode_box.setObjectName("composer_mode")
        self.mode_box.setAccessibleName("How to answer")
        self.mode_box.hide()
        row = QHBoxLayout()
        row.addWidget(self.counter, 1)
        row.addWidget(self.mode_box)
        row.addWidget(self.send_button)
        row.addWidget(self.send_done_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.notice_line)
        layout.addWidget(self.window_line)
        layout.addWidget(self.hint)
        layout.addWidget(self.nudge)
        layout.addWidget(self.edit)
        layout.addLayout(row)
        self.edit.textChanged.connect(self._text_changed)
        self.update_counter()

    def set_conversation(self, row) -> None:
        """The window selected a conversation (a core.queue.QueueRow): adapt counter and context."""
        changed = self.row is None or self.row.id != row.id
        self.row = row
        self.channel = row.channel
        self.kind = row.kind
        self.limit_override = row.text_limit  # e.g. a Mastodon instance that allows 5,000 characters
        if changed:
            self._offer_modes(row.channel, row.kind)
            notice = traits.of(row.channel).reply_notice(row.kind)
            self.notice_line.setText(notice)
            self.notice_line.setVisible(bool(notice))
        if changed:
            self._pending.clear()
            self.suggestions, self.suggestion_at = [], 0
        cached = self.contexts.get(row.id)
        if cached is None or time.monotonic() - cached[0] > CONTEXT_MAX_AGE_S:
            emit(self.context_needed, row.id)
        # Only what awaits an answer gets a suggestion: an answered, done or spam conversation would be
        # offered a reply to a message that was answered (or needs none).
        awaits = row.awaiting_since is not None and row.place not in ("done", "spam")
        message = (row.preview or row.subject) if awaits else None
        if message is None:
            self._suggested_for = (row.id, None)
            self.suggestions, self.suggestion_at = [], 0
        elif (row.id, message) != self._suggested_for:  # a new conversation, or the customer wrote again
            self._suggested_for = (row.id, message)
            emit(self.suggestions_needed, row.id, message, row.channel)
        self.update_counter()
        self._update_nudge()
        self._update_suggestion()

    def _offer_modes(self, channel: str, kind: str) -> None:
        """The ordinary reply first, then the channel's reply modes for this kind of conversation."""
        self.mode_box.clear()
        modes = [m for m in traits.of(channel).reply_modes if kind in m.kinds]
        self.mode_box.addItem("Reply", "")
        for mode in modes:
            self.mode_box.addItem(mode.label, mode.key)
            self.mode_box.setItemData(self.mode_box.count() - 1, mode.help, Qt.ItemDataRole.ToolTipRole)
        self.mode_box.setVisible(bool(modes))

    def leave(self) -> None:
        """No conversation is selected: nothing to count, suggest or render for."""
        self.row = None
        self.notice_line.hide()
        self.suggestions, self.suggestion_at, self._suggested_for = [], 0, None
        self._pending.clear()
        self.update_counter()
        self._update_suggestion()

    def reply_meta(self) -> dict:
        """What outbox.enqueue_reply needs besides the text: how it was written, and the reply mode
        the owner chose ("mode", only when not the ordinary reply)."""
        meta = self._written()
        mode = self.mode_box.currentData() if not self.mode_box.isHidden() else ""
        if mode:
            meta["mode"] = mode
        return meta

    def _written(self) -> dict:
        """How the text was written: via, snippet_id, edited_after_snippet."""
        manual = {"via": "manual", "snippet_id": None, "edited_after_snippet": False}
        if self.inserted is None:
            return manual
        snippet_id, inserted_text = self.inserted
        kind = snip.classify_reply(self.text(), inserted_text, self._names())
        if kind == "personal":
            return manual
        return {"via": "snippet", "snippet_id": snippet_id, "edited_after_snippet": kind == "snippet_edited"}

    def text(self) -> str:
        return self.edit.toPlainText()

    def clear(self) -> None:
        self.edit.clear()
        self.mode_box.setCurrentIndex(0)  # the next reply is an ordinary one unless chosen again
        self.inserted = None
        self._pending.clear()
        self.hint.hide()
        self.nudge.hide()

    # --- the suggested reply --------------------------------------------------------------------------

    def set_suggestions(self, conversation_id: int, refs: list[SnippetRef]) -> None:
        """The ranked snippets for a conversation's latest message arrived (best first)."""
        if self.row is None or self.row.id != conversation_id:
            return  # the owner moved on
        self.suggestions, self.suggestion_at = list(refs), 0
        if refs and self.current_context() is None:
            emit(self.context_needed, conversation_id)  # rendering waits for the customer's details
        self._update_suggestion()

    def ask_again(self) -> None:
        """Ask again for the open conversation's customer details and suggested replies: whoever answers
        those asks (the snippets feature) may have attached after it was opened — after the first paint,
        in a staged start — and missed them."""
        if self.row is not None:
            self._suggested_for = None
            self.set_conversation(self.row)

    def forget_suggestions(self) -> None:
        """The snippet library changed: rank again at the next selection."""
        self._suggested_for = None

    def suggestion(self) -> tuple[SnippetRef, str] | None:
        """The suggestion on offer now and its text rendered for this customer (None: nothing to offer)."""
        ctx = self.current_context()
        if not self.suggestions or ctx is None:
            return None
        ref = self.suggestions[self.suggestion_at % len(self.suggestions)]
        try:
            return ref, snip.render(ref.body, ctx)
        except snip.SnippetError:
            return None

    def _update_suggestion(self) -> None:
        offered = None if self.text() else self.suggestion()
        if offered is None:
            self.edit.setPlaceholderText(PLACEHOLDER)
            return
        n, count = self.suggestion_at % len(self.suggestions) + 1, len(self.suggestions)
        more = f", Alt+↓ next ({n}/{count})" if count > 1 else ""
        self.edit.setPlaceholderText(f"Suggested reply (Tab inserts it{more}):\n\n{offered[1]}")

    def accept_suggestion(self) -> bool:
        """Tab in the empty box: insert the suggestion, ready to edit (nothing is sent)."""
        offered = None if self.text() else self.suggestion()
        if offered is None:
            return False
        self.insert_snippet(offered[0])
        return True

    def cycle_suggestion(self, step: int = 1) -> bool:
        """Alt+Down / Alt+Up: the next or previous suggestion, in the placeholder or in place of an
        inserted suggestion the owner has not changed."""
        if len(self.suggestions) < 2 or self.current_context() is None:
            return False
        current = self.suggestions[self.suggestion_at % len(self.suggestions)]
        untouched = self.inserted is not None and self.inserted[0] == current.id and self.text() == self.inserted[1]
        if self.text() and not untouched:
            return False
        self.suggestion_at = (self.suggestion_at + step) % len(self.suggestions)
        if untouched:
            self.edit.clear()
            self.inserted = None
            self.accept_suggestion()
        self._update_suggestion()
        return True

    # --- snippets -----------------------------------------------------------------------------------------

    def set_snippet_index(self, refs: list[SnippetRef]) -> None:
        """The feature loaded the library in the background: abbreviation and favourite lookups."""
        self.abbreviations = {r.abbreviation: r for r in refs}
        self.favorites = {r.favorite_slot: r for r in refs if r.favorite_slot is not None}
        self.snippets_loaded = True

    def set_context(self, conversation_id: int, ctx: snip.RenderContext) -> None:
        """The render context for a conversation arrived: cache it, run insertions waiting for it."""
        self.contexts[conversation_id] = (time.monotonic(), ctx)
        if self.row is not None and self.row.id == conversation_id:
            waiting = [p for p in self._pending if p[0] == conversation_id]
            self._pending = [p for p in self._pending if p[0] != conversation_id]
            for _conv, ref, span in waiting:
                self._insert_now(ref, ctx, span)
            self._update_nudge()
            self._update_suggestion()

    def context_failed(self, conversation_id: int, message: str) -> None:
        """Loading the context failed: drop the insertions waiting for it and say so."""
        self._pending = [p for p in self._pending if p[0] != conversation_id]
        self.show_hint(f"Could not load the customer's details for the snippet: {message}")

    def current_context(self) -> snip.RenderContext | None:
        cached = self.contexts.get(self.row.id) if self.row is not None else None
        return cached[1] if cached else None

    def insert_snippet(self, ref: SnippetRef, span: tuple[int, int, str] | None = None) -> None:
        """Insert `ref` rendered for the current customer at the cursor (or over `span`:
        start, end and the text expected there, e.g. the typed ";thx")."""
        if self.row is None:
            return
        ctx = self.current_context()
        if ctx is None:
            self._pending.append((self.row.id, ref, span))
            emit(self.context_needed, self.row.id)
            return
        self._insert_now(ref, ctx, span)

    def _insert_now(self, ref: SnippetRef, ctx: snip.RenderContext, span: tuple[int, int, str] | None) -> None:
        try:
            rendered = snip.render(ref.body, ctx)
        except snip.SnippetError as exc:  # saved bodies are validated; this is a library edited elsewhere
            self.show_hint(f"The snippet “{ref.title}” cannot be used: {exc}")
            return
        cursor = self.edit.textCursor()
        if span is not None:
            start, end, expected = span  # Qt positions (UTF-16 units, like QTextCursor)
            cursor.setPosition(min(start, self._end_position()))
            cursor.setPosition(min(end, self._end_position()), QTextCursor.MoveMode.KeepAnchor)
            if cursor.selectedText() != expected:
                return  # the owner changed the text while the context loaded: leave it as it is
        self.inserted = (ref.id, rendered)
        cursor.insertText(rendered)
        self.edit.setTextCursor(cursor)
        self.edit.setFocus()
        self._update_nudge()
        emit(self.snippet_inserted, ref.id)

    def insert_favorite(self, slot: int) -> bool:
        ref = self.favorites.get(slot)
        if ref is None or self.row is None:
            self.show_hint(f"No favourite snippet in slot {slot}. Give one a slot in Tools ▸ Manage snippets.")
            return False
        self.insert_snippet(ref)
        return True

    def forget_snippet(self, snippet_id: int) -> None:
        """A snippet was deleted: the reply no longer counts as using it."""
        if self.inserted is not None and self.inserted[0] == snippet_id:
            self.inserted = None
            self._update_nudge()

    def _before_key(self, event: QKeyEvent) -> tuple[bool, str]:
        """(consumed, hint to show after Qt handled the key)."""
        mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if event.key() == Qt.Key.Key_Tab and mods == Qt.KeyboardModifier.NoModifier and self.accept_suggestion():
            return True, ""
        if event.key() in (Qt.Key.Key_Down, Qt.Key.Key_Up) and mods == Qt.KeyboardModifier.AltModifier:
            return self.cycle_suggestion(1 if event.key() == Qt.Key.Key_Down else -1), ""
        if event.text() == "/" and not self.text() and mods in (
            Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.ShiftModifier
        ):
            emit(self.palette_requested)
            return True, ""
        if event.key() not in (Qt.Key.Key_Space, Qt.Key.Key_Tab) or mods != Qt.KeyboardModifier.NoModifier:
            return False, ""
        cursor = self.edit.textCursor()
        if cursor.hasSelection():
            return False, ""
        line = QTextCursor(cursor)
        line.movePosition(QTextCursor.MoveOperation.StartOfBlock, QTextCursor.MoveMode.KeepAnchor)
        before = line.selectedText()  # a Python str; positions in Qt count UTF-16 units (emoji = 2)
        m = _TRIGGER.search(before)
        if m is None:
            return False, ""
        ref = self.abbreviations.get(m.group(1).lower())
        if ref is None:
            if not self.snippets_loaded:
                return False, "Snippets are still loading — try again in a moment."
            return False, f"No snippet “;{m.group(1)}”. Ctrl+; lists your snippets."
        token = m.group(0)
        end = cursor.position()
        self.insert_snippet(ref, (end - _utf16_len(token), end, token))
        return True, ""

    def _names(self) -> list[str]:
        ctx = self.current_context()
        return [n for n in (ctx.first_name, ctx.name) if n] if ctx else []

    def _update_nudge(self) -> None:
        ctx = self.current_context()
        first = ctx.first_name if ctx else ""
        inserted = self.inserted[1] if self.inserted else None
        show = snip.needs_name_nudge(self.text(), inserted, first)
        if show:
            self.nudge_label.setText("Add their name? (Alt+N)")
            self.nudge_button.setText(f"Add “{first}”")
        self.nudge.setVisible(show)

    def add_name(self) -> bool:
        """Alt+N: put the customer's first name into the reply (see `name_insertion`)."""
        ctx = self.current_context()
        first = ctx.first_name if ctx else ""
        text = self.text()
        if not first or snip.contains_name(text, first) or not text.strip():
            return False
        start, end, replacement = name_insertion(text, first)
        cursor = self.edit.textCursor()
        cursor.setPosition(_utf16_len(text[:start]))
        cursor.setPosition(_utf16_len(text[:end]), QTextCursor.MoveMode.KeepAnchor)
        cursor.insertText(replacement)
        self.edit.setFocus()
        return True

    def _end_position(self) -> int:
        return self.edit.document().characterCount() - 1

    def show_hint(self, message: str) -> None:
        self.hint.setText(message)
        self.hint.show()

    # --- counter --------------------------------------------------------------------------------------------

    def _text_changed(self) -> None:
        self.hint.hide()
        self.update_counter()
        self._update_nudge()
        self._update_suggestion()

    def _count(self) -> text_limits.LimitCount | None:
        try:
            return text_limits.count(self.text(), self.channel, self.kind, self.limit_override)
        except ValueError:
            return None

    def update_counter(self) -> None:
        count = self._count()
        blank = not self.text().strip()
        if count is None or count.limit is None:
            self.counter.setText(f"{len(self.text())} characters" if self.text() else "")
            theme.untint(self.counter)
        else:
            self.counter.setText(text_limits.limit_message(count))
            if count.over:
                theme.tint(self.counter, theme.ERROR, "font-weight:bold")
            else:
                theme.untint(self.counter)
        window = self.update_window()
        ok = not blank and not (count is not None and count.over) and (window is None or window.can_send)
        self.send_button.setEnabled(ok)
        self.send_done_button.setEnabled(ok)

    def window_notice(self) -> conversation_clock.WindowNotice | None:
        """The reply window's state for the selected conversation now (None: it has no window)."""
        if self.row is None:
            return None
        return conversation_clock.window_notice(self.row.reply_window_ends_at, self.row.reply_window, self.now())

    def update_window(self) -> conversation_clock.WindowNotice | None:
        """Show the reply-window line (called on every counter update and on the window's tick)."""
        notice = self.window_notice()
        if notice is None:
            self.window_line.hide()
            return None
        self.window_line.setText(notice.text)
        colour = {"info": theme.MUTED, "warning": theme.WARNING, "closed": theme.ERROR}[notice.level]
        weight = "" if notice.level == "info" else "font-weight:bold"
        theme.tint(self.window_line, colour, weight)  # and again when the system switches light/dark
        self.window_line.show()
        return notice

    def why_not(self) -> str:
        """Empty when the text can be sent, else the reason (shown to the owner)."""
        window = self.window_notice()
        if window is not None and not window.can_send:
            return window.text
        if not self.text().strip():
            return "The reply is empty."
        count = self._count()
        if count is not None and count.over:
            return text_limits.limit_message(count)
        return ""
