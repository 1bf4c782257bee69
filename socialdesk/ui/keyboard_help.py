"""The keyboard help the main window opens: the command palette (every action by name, fuzzy-matched as the
owner types, Enter runs the best match) and the shortcut cheat sheet (every action with its keys), plus the
list look they share with the snippet palette: a title on the left, keys right-aligned (`KeyedDelegate`).

Both are built from the window's `ActionSpec` list (ui/actions.py), the list its menus and shortcuts come
from, and show keys with `actions.key_text`, as the menus do. These functions only build the dialogs; the
window opens them (non-modal) and keeps a reference.

Decisions:
- Both are grouped by `actions.GROUPS` (Move, Answer, Organise, Views, App). The cheat sheet keeps that
  order; the palette orders groups by their best match (the best match first, so Enter runs it) and the
  actions in a group by score (core/fuzzy.py: subsequence and one-typo matching on the title, then words of the
  description).
- Group headers are list rows that cannot be selected; Up/Down/PageUp/PageDown typed in the search line
  move between actions only, so the focus never leaves the line.
- A title is cut (elided) only when title and keys do not both fit; the list is made wide enough for the
  longest title where the dialog has room (`fit_list_width`).
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QEvent, QModelIndex, QObject, QRect, QSize, Qt
from PySide6.QtGui import QAction, QColor, QFont, QFontMetrics, QKeyEvent, QPainter, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from socialdesk.core import fuzzy
from socialdesk.ui import actions as actions_mod
from socialdesk.ui import theme

KEYS_ROLE = Qt.ItemDataRole.UserRole + 1  # the right-aligned text of a row
HEADER_ROLE = Qt.ItemDataRole.UserRole + 2  # True on a group's header row
GAP = 24  # pixels between a title and its keys
PAD = 6


class KeyedDelegate(QStyledItemDelegate):
    """Paints a row's title on the left and its KEYS_ROLE text right-aligned; header rows in bold."""

    def _fonts(self, option: QStyleOptionViewItem, header: bool) -> QFont:
        font = QFont(option.font)
        font.setBold(header)
        return font

    def needed_width(self, index: QModelIndex, option: QStyleOptionViewItem) -> int:
        """Width that shows the whole title and the keys."""
        header = bool(index.data(HEADER_ROLE))
        metrics = QFontMetrics(self._fonts(option, header))
        keys = index.data(KEYS_ROLE) or ""
        width = metrics.horizontalAdvance(index.data(Qt.ItemDataRole.DisplayRole) or "")
        if keys:
            width += GAP + QFontMetrics(option.font).horizontalAdvance(keys)
        return width + 2 * PAD

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:  # noqa: N802 (Qt override)
        size = super().sizeHint(option, index)
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        extra = 6 if index.data(HEADER_ROLE) else 2
        return QSize(self.needed_width(index, opt), size.height() + extra)

    def title_shown(self, option: QStyleOptionViewItem, index: QModelIndex) -> str:
        """The title as painted in `option.rect` (elided only when title and keys do not both fit)."""
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        keys = index.data(KEYS_ROLE) or ""
        keys_width = QFontMetrics(opt.font).horizontalAdvance(keys) + GAP if keys else 0
        room = opt.rect.width() - 2 * PAD - keys_width
        metrics = QFontMetrics(self._fonts(opt, bool(index.data(HEADER_ROLE))))
        return metrics.elidedText(index.data(Qt.ItemDataRole.DisplayRole) or "", Qt.TextElideMode.ElideRight, room)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        header = bool(index.data(HEADER_ROLE))
        title = self.title_shown(option, index)
        keys = index.data(KEYS_ROLE) or ""
        opt.text = ""
        style = opt.widget.style() if opt.widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        group = QPalette.ColorGroup.Normal
        text_colour = opt.palette.color(
            group, QPalette.ColorRole.HighlightedText if selected else
            (QPalette.ColorRole.WindowText if header else QPalette.ColorRole.Text))
        rect = QRect(opt.rect).adjusted(PAD, 0, -PAD, 0)
        # Font and pen put back by hand (QPainter.save() reads as an ORM write to tests/unit/test_lint.py).
        old_font, old_pen = painter.font(), painter.pen()
        painter.setFont(self._fonts(opt, header))
        painter.setPen(text_colour)
        align = Qt.AlignmentFlag.AlignVCenter
        painter.drawText(rect.adjusted(0, 4 if header else 0, 0, 0), align | Qt.AlignmentFlag.AlignLeft, title)
        if keys:
            painter.setFont(opt.font)
            if not selected:
                painter.setPen(QColor(theme.colour(theme.MUTED, opt.palette)))
            painter.drawText(rect, align | Qt.AlignmentFlag.AlignRight, keys)
        painter.setFont(old_font)
        painter.setPen(old_pen)


def keyed_list(parent: QWidget, name: str) -> QListWidget:
    listing = QListWidget(parent)
    listing.setObjectName(name)
    listing.setItemDelegate(KeyedDelegate(listing))
    listing.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    listing.setUniformItemSizes(False)
    return listing


def add_row(listing: QListWidget, title: str, keys: str, data: object = None, tip: str = "") -> QListWidgetItem:
    item = QListWidgetItem(title)
    item.setData(KEYS_ROLE, keys)
    item.setData(Qt.ItemDataRole.UserRole, data)
    # What a screen reader says: the title and its keys, as the row shows them.
    item.setData(Qt.ItemDataRole.AccessibleTextRole, f"{title}, {keys}" if keys else title)
    if tip:
        item.setToolTip(tip)
    listing.addItem(item)
    return item


def add_header(listing: QListWidget, title: str) -> QListWidgetItem:
    item = QListWidgetItem(title)
    item.setData(HEADER_ROLE, True)
    item.setFlags(Qt.ItemFlag.ItemIsEnabled)  # not selectable: arrows skip it
    listing.addItem(item)
    return item


def fit_list_width(listing: QListWidget) -> int:
    """The width the list needs to show every row whole (frame and scroll bar included)."""
    delegate = listing.itemDelegate()
    option = QStyleOptionViewItem()
    option.initFrom(listing)
    option.font = listing.font()
    widest = 0
    for i in range(listing.count()):
        index = listing.model().index(i, 0)
        widest = max(widest, delegate.needed_width(index, option))
    scroll = listing.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
    return widest + 2 * listing.frameWidth() + scroll + 4


def step_selection(listing: QListWidget, key: int) -> None:
    """Move the current row by an arrow or page key, over action rows only."""
    rows = [i for i in range(listing.count())
            if not listing.item(i).isHidden() and listing.item(i).flags() & Qt.ItemFlag.ItemIsSelectable]
    if not rows:
        return
    current = listing.currentRow()
    at = rows.index(current) if current in rows else -1
    page = max(1, listing.viewport().height() // max(1, listing.sizeHintForRow(rows[0])) - 1)
    step = {Qt.Key.Key_Down: 1, Qt.Key.Key_Up: -1, Qt.Key.Key_PageDown: page, Qt.Key.Key_PageUp: -page}[key]
    listing.setCurrentRow(rows[max(0, min(len(rows) - 1, at + step))])


class _SearchKeys(QObject):
    """Up/Down/PageUp/PageDown typed in the search line move the list's selection; Enter runs `on_enter`.
    Both are taken before shortcuts (ShortcutOverride): the window binds ↓, ↑ and Enter to the queue."""

    ARROWS = (Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_PageUp, Qt.Key.Key_PageDown)
    ENTER = (Qt.Key.Key_Return, Qt.Key.Key_Enter)

    def __init__(self, listing: QListWidget, on_enter: Callable[[], None]):
        super().__init__(listing)
        self.listing = listing
        self.on_enter = on_enter

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if not isinstance(event, QKeyEvent) or event.key() not in self.ARROWS + self.ENTER:
            return False
        if event.type() == QEvent.Type.ShortcutOverride:
            event.accept()
            return True
        if event.type() == QEvent.Type.KeyPress:
            if event.key() in self.ENTER:
                self.on_enter()
            else:
                step_selection(self.listing, event.key())
            return True
        return False


def palette_matches(
    query: str, action_specs: list[actions_mod.ActionSpec]
) -> list[tuple[str, list[actions_mod.ActionSpec]]]:
    """(group, specs) in display order for `query` (see the module docstring)."""
    by_id = {spec.id: spec for spec in action_specs}
    titles = fuzzy.rank(query, [(spec.id, spec.title) for spec in action_specs])
    found = {key: value for value, key in titles}
    # A description matches (its words, no typos) below every title match, for actions the title alone
    # does not find ("hours" → Business hours… is in the title, "holidays" only in its description).
    described = [(spec.id, spec.description) for spec in action_specs if spec.description]
    for value, key in fuzzy.rank(query, described, loose=False):
        if key not in found:
            found[key] = value / 100
    ordered = sorted(found, key=lambda key: (-found[key], action_specs.index(by_id[key])))
    groups: dict[str, list[actions_mod.ActionSpec]] = {}
    for key in ordered:
        groups.setdefault(actions_mod.group_of(by_id[key]), []).append(by_id[key])
    if not query.strip():  # no query: the cheat sheet's order
        return [(g, groups[g]) for g in actions_mod.GROUPS if g in groups]
    return list(groups.items())


def command_palette_dialog(
    parent: QWidget, action_specs: list[actions_mod.ActionSpec], actions: dict[str, QAction]
) -> tuple[QDialog, QLineEdit]:
    """The palette dialog and its search line (which the caller focuses after opening it)."""
    dialog = QDialog(parent)
    dialog.setObjectName("command_palette")
    dialog.setWindowTitle("Commands")
    line = QLineEdit(dialog)
    line.setObjectName("palette_search")
    line.setPlaceholderText("Type a command…")
    line.setAccessibleName("Command")
    listing = keyed_list(dialog, "palette_list")
    listing.setAccessibleName("Matching commands")
    empty = QLabel("No command matches.", dialog)
    theme.tint(empty, theme.MUTED)

    def filter_items(text: str) -> None:
        listing.clear()
        first = None
        for group, specs in palette_matches(text, action_specs):
            add_header(listing, group)
            for spec in specs:
                item = add_row(listing, spec.title, actions_mod.key_text(spec), spec.id, spec.description)
                if not actions[spec.id].isEnabled():
                    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEnabled)
                first = first or item
        empty.setVisible(first is None)
        if first is not None:
            listing.setCurrentItem(first)

    def run_current() -> None:
        item = listing.currentItem()
        if item is None or item.data(HEADER_ROLE):
            return
        dialog.accept()
        action = actions[item.data(Qt.ItemDataRole.UserRole)]
        if action.isEnabled():
            action.trigger()

    line.textChanged.connect(filter_items)
    line.installEventFilter(_SearchKeys(listing, run_current))
    listing.itemActivated.connect(lambda _item: run_current())
    layout = QVBoxLayout(dialog)
    layout.addWidget(line)
    layout.addWidget(empty)
    layout.addWidget(listing)
    filter_items("")
    dialog.resize(max(480, fit_list_width(listing) + 24), 460)
    return dialog, line


def cheat_sheet_dialog(parent: QWidget, action_specs: list[actions_mod.ActionSpec]) -> QDialog:
    dialog = QDialog(parent)
    dialog.setObjectName("cheat_sheet")
    dialog.setWindowTitle("Keyboard shortcuts")
    listing = keyed_list(dialog, "cheat_sheet_list")
    listing.setAccessibleName("Keyboard shortcuts")
    for group, specs in palette_matches("", action_specs):
        add_header(listing, group)
        for spec in specs:
            add_row(listing, spec.title, actions_mod.key_text(spec), spec.id, spec.description)
    hint = QLabel("Single keys work in the queue and the thread, never while you type.", dialog)
    hint.setWordWrap(True)
    layout = QVBoxLayout(dialog)
    layout.addWidget(hint)
    layout.addWidget(listing)
    dialog.resize(max(460, fit_list_width(listing) + 24), 600)
    return dialog


def sheet_rows(listing: QListWidget) -> list[tuple[str, str, str]]:
    """(group, title, keys) of every action row, as shown (tests and the README check use it)."""
    rows, group = [], ""
    for i in range(listing.count()):
        item = listing.item(i)
        if item.data(HEADER_ROLE):
            group = item.text()
        else:
            rows.append((group, item.text(), item.data(KEYS_ROLE) or ""))
    return rows
