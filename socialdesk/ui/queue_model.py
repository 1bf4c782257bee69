"""QueueModel: a lazy QAbstractTableModel over conversation ids.

Decisions (Anki's browser model, Vorta's move to QAbstractTableModel):
- The model holds only the ordered ids of the current view and a cache of `QueueRow`s. Rows the view
  asks for but the cache lacks are requested in blocks of 200 from a background task (`fetch_rows`
  callback); until they arrive the cells show an ellipsis. The GUI thread never queries SQLite.
- `set_ids()` applies a new order without a reset: removed rows are removed, new ones inserted, and the
  reorder goes through layoutChanged with persistent indexes moved by id, so selection and scroll
  position survive every refresh.
- `update_rows()` replaces cached rows by id and emits one dataChanged over the rows they span (one
  signal, however many rows: a burst of 10,000 synced items touched thousands of scattered rows, and a
  signal per run of rows was tens of milliseconds of GUI-thread time; a view repaints only what it shows).
- `reread()` (a change notification): only the rows the model has read or asked for are read again, and
  a cached row stays on screen until its fresh one arrives (no "…" in between); the others are read when
  the view first shows them. Every read has a serial, taken when it is asked for: a row never replaces one
  from a read asked for later (the worker pool may finish reads out of order).
- A conversation with a draft shows "Draft: …" (in italics) instead of the customer's message, which
  the tooltip keeps.
- The window shows the columns' texts as two-line rows (ui/queue_delegate.py paints them in the
  "customer" column); the model stays a table so each text keeps its role, tooltip and accessible text.
- Every string from a message is displayed as plain text (Qt item views never interpret HTML in
  DisplayRole); tooltips, which Qt *would* treat as rich text, are escaped.
"""

from __future__ import annotations

import html
import itertools
from datetime import datetime
from itertools import filterfalse
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


def positions_of(ids: list[int]) -> dict[int, int]:
    """Each id's row in `ids` (QueueModel.set_ids; made on a worker with the order it goes with)."""
    return dict(zip(ids, range(len(ids)), strict=True))


class QueueModel(QAbstractTableModel):
    def __init__(self, now: Callable[[], datetime], fetch_rows: Callable[[list[int], int], None], parent=None):
        """`fetch_rows(ids, serial)` reads the rows in the background and hands them to
        `update_rows(rows, serial)`."""
        super().__init__(parent)
        self.now = now
        self.fetch_rows = fetch_rows
        self.ids: list[int] = []
        self.cache: dict[int, QueueRow] = {}
        self._row_of: dict[int, int] = {}
        self._asked: dict[int, int] = {}  # id -> serial of the newest read asked for it, until it arrives
        self._read_at: dict[int, int] = {}  # id -> serial of the read its cached row came from
        self._serials = itertools.count(1)
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
            if conv_id not in self._asked:  # a view asks for every role of every cell: scan a block once
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

    def row_texts(self, row: QueueRow) -> tuple[str | None, dict[str, str]]:
        """A cached row's state and the DisplayRole texts of its columns, now: what the two-line row paints
        (ui/queue_delegate.py), in one call."""
        now = self.now()
        state = row.state(now)
        return state, {column: self._display(row, column, state, now) for column in COLUMNS}

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
        block = [i for i in self.ids[start : start + BLOCK] if i not in self.cache and i not in self._asked]
        if block:
            self._ask(block)

    def new_serial(self) -> int:
        """The serial of a read of rows about to be asked for elsewhere (a view's first rows)."""
        return next(self._serials)

    def _ask(self, conv_ids: list[int]) -> None:
        serial = next(self._serials)
        for conv_id in conv_ids:
            self._asked[conv_id] = serial
        self.fetch_rows(conv_ids, serial)

    def reread(self, conv_ids) -> list[int]:
        """Rows that changed in the store: read again those the model holds or is reading (returned); the
        cached ones stay shown until then. A row the model has not read is read when it is first shown."""
        again = [i for i in conv_ids if i in self.cache or i in self._asked]
        if again:
            self._ask(again)
        return again

    def read_failed(self, conv_ids, serial: int) -> None:
        """A read did not come back: its rows are dropped, so they are asked for again when shown."""
        for conv_id in conv_ids:
            if self._asked.get(conv_id) == serial:
                del self._asked[conv_id]
                self.cache.pop(conv_id, None)
                self._read_at.pop(conv_id, None)

    def set_ids(self, new_ids: list[int], positions: dict[int, int] | None = None) -> None:
        """Show a new ordered list of ids, keeping selection/scroll (persistent indexes) by id.

        `positions`: `positions_of(new_ids)`, when the caller made it off the GUI thread."""
        if new_ids == self.ids:
            return
        # One dict serves as the membership test and, once the order is applied, as the row index. Who left
        # and who is new are found by C loops over the lists (itertools.filterfalse): with 17,000 ids every
        # pass of Python over them is milliseconds of GUI-thread time, and this runs at every refresh.
        new_positions = positions if positions is not None else positions_of(new_ids)
        old_positions = self._row_of
        # 1. remove rows that left, in contiguous runs from the bottom
        gone = [old_positions[i] for i in filterfalse(new_positions.__contains__, self.ids)]
        while gone:
            end = start = gone.pop()
            while gone and gone[-1] == start - 1:
                start = gone.pop()
            self.beginRemoveRows(QModelIndex(), start, end)
            for conv_id in self.ids[start : end + 1]:
                self.cache.pop(conv_id, None)
                self._asked.pop(conv_id, None)
                self._read_at.pop(conv_id, None)
            del self.ids[start : end + 1]
            self.endRemoveRows()
        # 2. append newcomers (in their new order; step 3 moves them to their places)
        added = list(filterfalse(old_positions.__contains__, new_ids))
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

    def update_rows(self, rows: dict[int, QueueRow], serial: int = 0) -> None:
        """Cache rows read in the background and repaint the rows they span (one dataChanged).

        `serial`: the read's (`fetch_rows`, `new_serial`); a row from a read asked for before the one its
        cached row came from, or before the row was forgotten, is dropped. 0: older than every read."""
        asked, cache, read_at, row_of = self._asked, self.cache, self._read_at, self._row_of
        top = bottom = -1
        for conv_id, row in rows.items():
            number = row_of.get(conv_id)
            if number is None:
                continue
            if asked.get(conv_id, serial + 1) <= serial:
                del asked[conv_id]  # the newest read asked for has come back
            if serial < read_at.get(conv_id, 0):
                continue  # what is shown was read later
            cache[conv_id] = row
            read_at[conv_id] = serial
            if top < 0 or number < top:
                top = number
            if number > bottom:
                bottom = number
        if top >= 0:
            emit(self.dataChanged, self.index(top, 0), self.index(bottom, len(COLUMNS) - 1))

    def forget(self, conv_ids) -> None:
        """Drop cached rows so they are read again when shown. A read asked for before this that comes back
        after it is dropped too (it may hold what changed: the hours, the targets, an account's name)."""
        floor = next(self._serials)
        for conv_id in conv_ids:
            self.cache.pop(conv_id, None)
            self._asked.pop(conv_id, None)
            if conv_id in self._row_of:
                self._read_at[conv_id] = floor

    def forget_all(self) -> None:
        """Every row changed (hours, targets, accounts): the cached ones and those being read."""
        self.forget([*self.cache, *self._asked])

    def refresh_countdowns(self) -> None:
        if self.ids:
            col = COLUMNS.index("due")
            emit(self.dataChanged, self.index(0, col), self.index(len(self.ids) - 1, col))

