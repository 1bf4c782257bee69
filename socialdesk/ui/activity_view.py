"""The Activity view: every automatic message (when, account, to whom, why, result) and the pause switch.

Decisions:
- Rows come from `automation.activity()` in the background; customer names and texts are plain
  table items (tooltips, which Qt reads as rich text, are escaped).
- The "Pause automation" button is checkable and mirrors the feature's shared pause action.
- For an automatic message whose fate is "unknown" or that "failed", the owner decides: "Mark as
  sent" (it did arrive) or "Send again" (asks first: it may reach the customer twice).
- It refreshes on open, on F5 / Refresh, and from change notifications while it is visible
  (settings_feature.py passes on every ChangeSet that can touch the log: new messages, sends,
  automation): an auto-reply the engine records shows up at once, and nothing polls.
- "Mark as sent" and "Send again" run core/owner_actions.resolve_automatic, whose notification
  refreshes the table.
- A result that needs the owner ("failed", "unknown") is in theme.ERROR, read from the table's palette each
  time the cell is painted (`_NeedsOwnerItem`), so it stays 4.5:1 in both palettes and follows a live switch
  (tests/gui/test_dark_mode.py measures it). A selected row keeps the palette's highlighted text.
"""

from __future__ import annotations

import html
from datetime import datetime
from zoneinfo import ZoneInfo

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from socialdesk.core import automation
from socialdesk.ui import theme

COLUMNS = ("When", "What", "Account", "To whom", "Why", "Result", "Details")
KIND_TITLES = {"auto_reply": "Auto-reply", "status_post": "Status post", "skipped": "Not sent", "error": "Error"}
NEEDS_OWNER = ("unknown", "failed")  # results the owner resolves: "Mark as sent" or "Send again"


class _NeedsOwnerItem(QTableWidgetItem):
    """A result cell in theme.ERROR, picked from the table's palette when it is painted (a fixed brush
    would keep the colour of the palette it was loaded in after the system switched)."""

    def data(self, role: int):  # Qt override: any item data, as QTableWidgetItem.data
        if role == Qt.ItemDataRole.ForegroundRole:
            table = self.tableWidget()
            return QBrush(QColor(theme.colour(theme.ERROR, table.palette() if table is not None else None)))
        return super().data(role)


class ActivityDialog(QDialog):
    def __init__(self, feature, parent: QWidget | None = None):
        super().__init__(parent)
        self.feature = feature
        self.setObjectName("activity_view")
        self.setWindowTitle("Activity — automatic messages")
        self.entries: list[automation.ActivityEntry] = []
        self.generation = 0
        self.pause_button = QPushButton("&Pause automation", self)
        self.pause_button.setObjectName("pause_button")
        self.pause_button.setCheckable(True)
        self.pause_button.clicked.connect(self._pause_clicked)
        self.state = QLabel(self)
        self.state.setObjectName("automation_state")
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setObjectName("activity_table")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for col, width in enumerate((130, 95, 150, 140, 230, 75)):
            self.table.setColumnWidth(col, width)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.empty = QLabel("No automatic messages yet.", self)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.mark_sent = QPushButton("&Mark as sent", self)
        self.mark_sent.setObjectName("mark_sent")
        self.mark_sent.clicked.connect(self._mark_sent)
        self.send_again = QPushButton("Send &again", self)
        self.send_again.setObjectName("send_again")
        self.send_again.clicked.connect(self._send_again)
        refresh = QPushButton("&Refresh", self)
        refresh.clicked.connect(self.refresh)
        QShortcut(QKeySequence("F5"), self, self.refresh)
        close = QPushButton("Close", self)
        close.clicked.connect(self.close)
        top = QHBoxLayout()
        top.addWidget(self.pause_button)
        top.addWidget(self.state, 1)
        top.addWidget(refresh)
        bottom = QHBoxLayout()
        bottom.addWidget(self.mark_sent)
        bottom.addWidget(self.send_again)
        bottom.addStretch(1)
        bottom.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.empty)
        layout.addLayout(bottom)
        self.resize(1000, 480)
        self._selection_changed()

    # --- loading ---------------------------------------------------------------------------------------

    def refresh(self) -> None:
        self.generation += 1
        generation, core = self.generation, self.feature.core

        def work():
            return generation, automation.activity(), core.policy().schedule.timezone

        self.feature.tasks.run(work, self._loaded, self._failed)

    def _loaded(self, result) -> None:
        generation, entries, tz = result
        if generation != self.generation:
            return
        selected = self._selected()
        key = (selected.outbox_id, selected.when) if selected else None
        self.entries = entries
        zone = ZoneInfo(tz)
        self.table.setRowCount(len(entries))
        for row, e in enumerate(entries):
            values = (
                _when(e.when, zone), KIND_TITLES.get(e.kind, e.kind), e.account, e.to_whom, e.why, e.result, e.detail,
            )
            for col, value in enumerate(values):
                item = _NeedsOwnerItem(value) if col == 5 and e.result in NEEDS_OWNER else QTableWidgetItem(value)
                if col in (3, 4, 6) or (col == 1 and e.text):
                    tip = f"{value}\n\n{e.text}" if col == 1 else value
                    item.setToolTip(html.escape(tip).replace("\n", "<br>"))
                self.table.setItem(row, col, item)
            if key is not None and (e.outbox_id, e.when) == key:
                self.table.selectRow(row)
        self.table.setVisible(bool(entries))
        self.empty.setVisible(not entries)
        self._selection_changed()

    def _failed(self, exc: Exception) -> None:
        self.state.setText(f"Could not load the activity: {exc}")

    # --- pause -------------------------------------------------------------------------------------

    def show_paused(self, paused: bool) -> None:
        self.pause_button.setChecked(paused)
        self.pause_button.setText("Automation &paused — resume" if paused else "&Pause automation")
        self.state.setText(
            "Paused: no automatic replies or posts are sent." if paused
            else "Automatic replies and status posts are on."
        )

    def _pause_clicked(self, checked: bool) -> None:
        self.feature.set_paused(checked)

    # --- resolving unknown or failed messages -------------------------------------------------------

    def _selected(self) -> automation.ActivityEntry | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows or rows[0].row() >= len(self.entries):
            return None
        return self.entries[rows[0].row()]

    def _selection_changed(self) -> None:
        entry = self._selected()
        resolvable = entry is not None and entry.outbox_id is not None and entry.result in NEEDS_OWNER
        self.mark_sent.setEnabled(resolvable)
        self.send_again.setEnabled(resolvable)

    def _mark_sent(self) -> None:
        self._resolve(True)

    def _send_again(self) -> None:
        entry = self._selected()
        if entry is None:
            return
        answer = QMessageBox.question(
            self, "Send again?",
            f"Send this {KIND_TITLES.get(entry.kind, entry.kind).lower()} again? If the first attempt did "
            "arrive, the customer gets it twice.",
        )
        if answer == QMessageBox.StandardButton.Yes:
            self._resolve(False)

    def _resolve(self, sent: bool) -> None:
        entry = self._selected()
        if entry is None or entry.outbox_id is None:
            return
        owner, outbox_id = self.feature.core.owner, entry.outbox_id

        def work():
            owner.resolve_automatic(outbox_id, sent=sent)
            return sent

        self.feature.tasks.run(work, self._resolved, self._resolve_failed)

    def _resolved(self, sent: bool) -> None:
        # The table follows the change notification.
        self.state.setText("Marked as sent." if sent else "Queued to send again.")

    def _resolve_failed(self, exc: Exception) -> None:
        QMessageBox.warning(self, "Activity", str(exc))
        self.refresh()


def _when(value: datetime, zone: ZoneInfo) -> str:
    return value.astimezone(zone).strftime("%a %d %b %H:%M")
