"""QueueModel: a lazy QAbstractTableModel over conversation ids.

Decisions (Anki's browser model, Vorta's move to QAbstractTableModel):
- The model holds only the ordered ids of the current view and a cache of `QueueRow`s. Rows the view
  asks for but the cache lacks are requested in blocks of 200 from a background task (`fetch_rows`
  callback); until they arrive the cells show an ellipsis. The GUI thread never queries SQLite.
- `set_ids()` applies a new order without a reset: removed rows are removed, new ones inserted, and the
  reorder goes through layoutChanged with persistent indexes moved by id, so selection and scroll
  position survive every refresh.
- `update_rows()` replaces cached rows by id and emits dataChanged for just those rows.
- A conversation with a draft shows "Draft: …" (in italics) instead of the customer's message, which
  the tooltip keeps.
- The window shows the columns' texts as two-line rows (ui/queue_delegate.py paints them in the
  "customer" column); the model stays a table so each text keeps its role, tooltip and accessible text.
- Every string from a message is displayed as plain text (Qt item views never interpret HTML in
  DisplayRole); tooltips, which Qt *would* treat as rich text, are escaped.
"""

from __future__ import annotations

import html
from datetime import datetime
from typing import Callable

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont

from socialdesk.core import drafts, targets
from socialdesk.core.queue_read import PLACE_TITLES, QueueRow
from socialdesk.core.states import ConversationStatus
from socialdesk.ui import icons, theme
from socialdesk.ui.qtcompat import emit

COLUMNS = ("channel", "customer", "message", "kind", "due", "status")
HEADERS = {"channel": "", "customer": "Customer", "message": "Message", "kind": "Kind", "due": "Due", "status": "Status"}
KIND_LABELS = {"dm": "Direct", "comment": "Comment", "mention": "Mention", "review": "Review", "email": "Email"}
BLOCK = 200

IdRole = Qt.ItemDataRole.UserRole + 1
RowRole = Qt.ItemDataRole.UserRole + 2
StateRole = Qt.ItemDataRole.UserRole + 3


def stars(rating: int) -> str:
    """★★☆☆☆ for a rating of 2 (of 5)."""
    return "★" * rating + "☆" * (5 - rating)


def age_text(when: datetime | None, now: datetime) -> str:
    if when is None:
        return ""
    minutes = int((now - when).total_seconds() // 60)
    if minutes < 1:
        return "just now"
    if minutes < 60:
        return f"{minutes} min ago"
    if minutes < 48 * 60:
        return f"{minutes // 60} h ago"
    return f"{minutes // 1440} d ago"


def due_text(row: QueueRow, now: datetime) -> str:
    """The row's countdown ("2 h 05 left", "overdue 4 min"), snooze or age: what the queue and the thread
    header both show, so they never disagree."""
    if row.status == ConversationStatus.SNOOZED and row.snoozed_until:
        return "snoozed until " + row.snoozed_until.astimezone().strftime("%a %H:%M")
    if row.due_at is None:
        return age_text(row.awaiting_since or row.last_message_at, now)
    return targets.format_countdown(row.due_at, now)


class QueueModel(QAbstractTableModel):
    def __init__(self, now: Callable[[], datetime], fetch_rows: Callable[[list[int]], None], parent=None):
        super().__init__(parent)
        self.now = now
        self.fetch_rows = fetch_rows
        self.ids: list[int] = []
        self.cache: dict[int, QueueRow] = {}
        self._row_of: dict[int, int] = {}
        self._requested: set[int] = set()
        self._bold = QFont()
        self._bold.setBold(True)
        self._italic = QFont()
        self._italic.setItalic(True)

    # --- Qt model API -------------------------------------------------------------------------------

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.ids)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[COLUMNS[section]]
        return None

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or index.row() >= len(self.ids):
            return None
        conv_id = self.ids[index.row()]
        if role == IdRole:
            return conv_id
        row = self.cache.get(conv_id)
        if row is None:
            self._request_around(index.row())
            return "…" if role == Qt.ItemDataRole.DisplayRole and index.column() == 1 else None
        column = COLUMNS[index.column()]
        if role == RowRole:
            return row
        now = self.now()
        state = row.state(now)
        if role == StateRole:
            return state
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, column, state, now)
        if role == Qt.ItemDataRole.DecorationRole:
            if column == "channel":
                return icons.channel_icon(row.channel, dark=theme.is_dark())
            if column == "due" and state:
                return icons.state_icon(state, dark=theme.is_dark())
            if column == "status" and row.status == ConversationStatus.DONE:
                return icons.state_icon("done", dark=theme.is_dark())
        if role == Qt.ItemDataRole.ForegroundRole and column == "due" and state in ("overdue", "due_soon"):
            return QBrush(QColor(theme.colour(theme.STATE[state])))
        if role == Qt.ItemDataRole.FontRole and column in ("customer", "due") and state == "overdue":
            return self._bold
        if role == Qt.ItemDataRole.FontRole and column == "message" and row.draft:
            return self._italic
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row, state, now)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            if column == "customer":  # the one column the window shows: it speaks for the whole row
                return self._spoken_row(row, state, now)
            return self._display(row, column, state, now) or icons.channel_label(row.channel)
        return None

    def _spoken_row(self, row: QueueRow, state: str | None, now: datetime) -> str:
        """What a screen reader says for a two-line row: "New. Moira Grant, Facebook, public comment,
        overdue 4 h 00. Hello?? The party starts at 4."."""
        parts = [self._display(row, "customer", state, now), icons.channel_label(row.channel),
                 self._display(row, "kind", state, now).lower(), self._display(row, "due", state, now)]
        spoken = ", ".join(p for p in parts if p) + ". " + self._display(row, "message", state, now)
        return ("New. " if row.new else "") + spoken

    def _display(self, row: QueueRow, column: str, state: str | None, now: datetime) -> str:
        if column == "channel":
            return ""
        if column == "customer":
            repeat = f"  ·  {row.unanswered_count}× unanswered" if row.unanswered_count >= 2 else ""
            return (row.contact_name or "(unknown)") + repeat
        if column == "message":
            if row.draft:  # the owner's unsent reply says more than the message it answers
                return "Draft: " + drafts.preview(row.draft)
            text = row.preview or row.subject
            if row.rating:
                text = stars(row.rating) + "  " + text
            return text
        if column == "kind":
            label = KIND_LABELS.get(row.kind, row.kind)
            return f"Public {label.lower()}" if row.public and row.kind != "review" else label
        if column == "due":
            return due_text(row, now)
        if column == "status":
            return PLACE_TITLES[row.place]
        return ""

    def _tooltip(self, row: QueueRow, state: str | None, now: datetime) -> str:
        # Tooltips are rich-text capable in Qt: everything from outside is escaped.
        parts = [
            f"<b>{html.escape(row.contact_name)}</b> — {html.escape(icons.channel_label(row.channel))}",
            html.escape(row.preview[:300]),
        ]
        if row.draft:
            parts.append("<i>Draft:</i> " + html.escape(drafts.preview(row.draft)))
        if row.due_at:
            due_local = row.due_at.astimezone().strftime("%a %d %b %H:%M")
            parts.append(f"Due {due_local} ({html.escape(targets.format_countdown(row.due_at, now))})")
        return "<br>".join(parts)

    # --- ids and rows ----------------------------------------------------------------------------------

    def id_at(self, row: int) -> int | None:
        return self.ids[row] if 0 <= row < len(self.ids) else None

    def row_of(self, conv_id: int) -> int | None:
        return self._row_of.get(conv_id)

    def _request_around(self, row: int) -> None:
        start = (row // BLOCK) * BLOCK
        block = [i for i in self.ids[start : start + BLOCK] if i not in self.cache and i not in self._requested]
        if block:
            self._requested.update(block)
            self.fetch_rows(block)

    def set_ids(self, new_ids: list[int]) -> None:
        """Show a new ordered list of ids, keeping selection/scroll (persistent indexes) by id."""
        if new_ids == self.ids:
            return
        # One dict serves as the membership test and, once the order is applied, as the row index:
        # with 20,000 ids every extra pass over the list is GUI-thread time.
        new_positions = {conv_id: r for r, conv_id in enumerate(new_ids)}
        # 1. remove rows that left, in contiguous runs from the bottom
        gone = [r for r, conv_id in enumerate(self.ids) if conv_id not in new_positions]
        while gone:
            end = start = gone.pop()
            while gone and gone[-1] == start - 1:
                start = gone.pop()
            self.beginRemoveRows(QModelIndex(), start, end)
            for conv_id in self.ids[start : end + 1]:
                self.cache.pop(conv_id, None)
                self._requested.discard(conv_id)
            del self.ids[start : end + 1]
            self.endRemoveRows()
        # 2. append newcomers (the old index still knows every id that stayed)
        added = [i for i in new_ids if i not in self._row_of]
        if added:
            self.beginInsertRows(QModelIndex(), len(self.ids), len(self.ids) + len(added) - 1)
            self.ids.extend(added)
            self.endInsertRows()
        # 3. reorder, moving persistent indexes with their ids
        if self.ids != new_ids:
            emit(self.layoutAboutToBeChanged)
            old_list = self.persistentIndexList()
            new_list = []
            for index in old_list:
                conv_id = self.ids[index.row()] if index.row() < len(self.ids) else None
                target = new_positions.get(conv_id) if conv_id is not None else None
                new_list.append(self.index(target, index.column()) if target is not None else QModelIndex())
            self.ids = list(new_ids)
            self.changePersistentIndexList(old_list, new_list)
            emit(self.layoutChanged)
        self._row_of = new_positions

    def update_rows(self, rows: dict[int, QueueRow]) -> None:
        """Cache fresh rows (from a background fetch) and repaint just those rows."""
        for conv_id, row in rows.items():
            self._requested.discard(conv_id)
            if conv_id in self._row_of:
                self.cache[conv_id] = row
        touched = sorted(self._row_of[i] for i in rows if i in self._row_of)
        for start, end in _runs(touched):
            emit(self.dataChanged, self.index(start, 0), self.index(end, len(COLUMNS) - 1))

    def forget(self, conv_ids) -> None:
        """Drop cached rows so they are fetched again (they changed in the store)."""
        for conv_id in conv_ids:
            self.cache.pop(conv_id, None)
            self._requested.discard(conv_id)

    def refresh_countdowns(self) -> None:
        if self.ids:
            col = COLUMNS.index("due")
            emit(self.dataChanged, self.index(0, col), self.index(len(self.ids) - 1, col))


def _runs(sorted_rows: list[int]):
    start = prev = None
    for r in sorted_rows:
        if start is None:
            start = prev = r
        elif r == prev + 1:
            prev = r
        else:
            yield start, prev
            start = prev = r
    if start is not None:
        yield start, prev

