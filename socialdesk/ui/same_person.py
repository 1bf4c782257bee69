"""The "Same person as…" dialog (Ctrl+Shift+M): pick who the selected customer also is. The ranking is
core/contact_match.py's; the merge itself is the window's (OwnerActions.merge_contacts).

Decisions:
- Candidates are listed best first with their channels and the reason they are listed ("Same handle",
  "Similar name, wrote within the same hour", or "No shared name, handle or address": contact_match's
  `Candidate.why`), so the owner sees why before merging two people; no row's "Why" is empty.
- Nothing typed: a candidate is preselected only when the match is strong (contact_match.PRESELECT);
  otherwise nothing is selected, Merge stays disabled and the line above the list says to type a name
  or handle. Once the owner types, the best result is selected: they said whom they mean.
- Lookups run in the background, 150 ms after the last keystroke; a result for older text is dropped
  (generation counter). Enter merges with the selection, ↓ moves from the search field into the list.
- Names are customer text: shown as plain text only (QTreeWidget items never render markup).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from socialdesk.core import contact_match
from socialdesk.ui import icons
from socialdesk.ui.qtcompat import emit

LOOKUP_DELAY_MS = 150
MIN_NAME_WIDTH, MAX_NAME_WIDTH = 160, 280
NO_STRONG_MATCH = "No likely match among recent customers: type a name or handle to find the person."
NOTHING_FOUND = "Nobody matches “{text}”. Try part of a name or a handle."


class SamePersonDialog(QDialog):
    """Emits `chosen(keep_id, drop_id)` when the owner merges; the caller does the merge."""

    chosen = Signal(int, int)

    def __init__(self, core, tasks, contact_id: int, contact_name: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.core, self.tasks = core, tasks
        self.contact_id = contact_id
        self.generation = 0
        self.shown_generation = 0  # the lookup whose result the list shows
        self.shown_text = ""
        self.setObjectName("same_person")
        self.setWindowTitle(f"{contact_name} is the same person as…")
        intro = QLabel(
            f"Link {contact_name} with their conversations on other channels: they will show as one person.",
            self,
        )
        intro.setTextFormat(Qt.TextFormat.PlainText)
        intro.setWordWrap(True)
        self.search = QLineEdit(self)
        self.search.setObjectName("search")
        self.search.setPlaceholderText("Type a name or @handle…")
        self.search.setClearButtonEnabled(True)
        self.hint = QLabel(self)
        self.hint.setObjectName("hint")
        self.hint.setTextFormat(Qt.TextFormat.PlainText)
        self.hint.setWordWrap(True)
        self.hint.hide()
        self.listing = QTreeWidget(self)
        self.listing.setObjectName("candidates")
        self.listing.setColumnCount(3)
        self.listing.setHeaderLabels(["Person", "Channels", "Why"])
        self.listing.setRootIsDecorated(False)
        self.listing.setUniformRowHeights(True)
        self.listing.setAllColumnsShowFocus(True)
        self.listing.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.listing.header()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.merge_button = self.buttons.addButton("&Merge", QDialogButtonBox.ButtonRole.AcceptRole)
        self.merge_button.setObjectName("merge")
        self.merge_button.setEnabled(False)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        # Selection, not the current item, is the choice: a list that gets focus makes its first row
        # current without selecting it, and that must not enable Merge for a weak match.
        self.listing.itemSelectionChanged.connect(self._selection_changed)
        self.listing.itemActivated.connect(lambda _item, _column: self.accept())
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.search)
        layout.addWidget(self.hint)
        layout.addWidget(self.listing, 1)
        layout.addWidget(self.buttons)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(LOOKUP_DELAY_MS)
        self.timer.timeout.connect(self.lookup)
        self.search.textChanged.connect(lambda _text: self.timer.start())
        self.search.returnPressed.connect(self._enter)
        self.search.installEventFilter(self)
        self.resize(620, 420)
        self.lookup()

    # --- lookup -----------------------------------------------------------------------------------------

    def lookup(self) -> None:
        self.generation += 1
        generation, text, contact_id, now = self.generation, self.search.text(), self.contact_id, self.core.clock.now()

        def work():
            return generation, text, contact_match.rank_candidates(contact_id, text, now=now)

        self.tasks.run(work, self._ranked, self._failed)

    def _ranked(self, result) -> None:
        generation, text, candidates = result
        if generation != self.generation:
            return  # the owner typed on meanwhile
        self.shown_generation, self.shown_text = generation, text
        self.listing.clear()
        for candidate in candidates:
            channels = ", ".join(icons.channel_label(c) for c in candidate.channels)
            item = QTreeWidgetItem([candidate.name, channels, candidate.why])
            item.setData(0, Qt.ItemDataRole.UserRole, candidate.id)
            item.setToolTip(0, candidate.name)
            item.setToolTip(2, candidate.why)
            self.listing.addTopLevelItem(item)
        # Names as wide as they need, up to MAX_NAME_WIDTH (a longer one is elided; its tooltip has it all).
        self.listing.setColumnWidth(0, min(max(self.listing.sizeHintForColumn(0), MIN_NAME_WIDTH), MAX_NAME_WIDTH))
        typed = bool(text.strip())
        if candidates and (typed or candidates[0].strong):
            self.listing.setCurrentItem(self.listing.topLevelItem(0))
        else:
            self.listing.setCurrentItem(None)
            self.listing.clearSelection()
        if typed and not candidates:
            self.hint.setText(NOTHING_FOUND.format(text=text.strip()))
        elif not typed and not (candidates and candidates[0].strong):
            self.hint.setText(NO_STRONG_MATCH)
        else:
            self.hint.setText("")
        self.hint.setVisible(bool(self.hint.text()))
        self._selection_changed()

    def _failed(self, exc: Exception) -> None:
        self.hint.setText(f"Could not look people up: {exc}")
        self.hint.show()

    # --- choosing ---------------------------------------------------------------------------------------

    def selected_id(self) -> int | None:
        items = self.listing.selectedItems()
        return items[0].data(0, Qt.ItemDataRole.UserRole) if items else None

    def _selection_changed(self) -> None:
        self.merge_button.setEnabled(self.selected_id() is not None)

    def _enter(self) -> None:
        if self.timer.isActive() or self.shown_text != self.search.text():
            return  # the list does not show what was typed yet: Enter must not merge someone else
        if self.selected_id() is not None:
            self.accept()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if watched is self.search and event.type() == QEvent.Type.KeyPress:
            if isinstance(event, QKeyEvent) and event.key() == Qt.Key.Key_Down and self.listing.topLevelItemCount():
                self.listing.setFocus()
                if self.selected_id() is None:
                    self.listing.setCurrentItem(self.listing.topLevelItem(0))
                return True
        return super().eventFilter(watched, event)

    def accept(self) -> None:
        drop = self.selected_id()
        if drop is None:
            return
        super().accept()
        emit(self.chosen, self.contact_id, drop)
