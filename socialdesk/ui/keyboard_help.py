"""The keyboard help the main window opens: the command palette (every action by name, filtered as the owner
types, Enter runs the first match) and the shortcut cheat sheet (every action with its keys).

Both are built from the window's `ActionSpec` list (ui/actions.py), the list its menus and shortcuts come
from. These functions only build the dialogs; the window opens them (non-modal) and keeps a reference.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from socialdesk.ui import actions as actions_mod


def command_palette_dialog(
    parent: QWidget, action_specs: list[actions_mod.ActionSpec], actions: dict[str, QAction]
) -> tuple[QDialog, QLineEdit]:
    """The palette dialog and its search line (which the caller focuses after opening it)."""
    dialog = QDialog(parent)
    dialog.setObjectName("command_palette")
    dialog.setWindowTitle("Commands")
    dialog.resize(440, 420)
    line = QLineEdit(dialog)
    line.setPlaceholderText("Type a command…")
    listing = QListWidget(dialog)
    for spec in action_specs:
        item = QListWidgetItem(f"{spec.title}    —    {actions_mod.key_text(spec)}")
        item.setData(Qt.ItemDataRole.UserRole, spec.id)
        listing.addItem(item)

    def filter_items(text: str) -> None:
        words = text.lower().split()
        first = None
        for i in range(listing.count()):
            item = listing.item(i)
            hidden = not all(w in item.text().lower() for w in words)
            item.setHidden(hidden)
            if not hidden and first is None:
                first = item
        if first is not None:
            listing.setCurrentItem(first)

    def run_current() -> None:
        item = listing.currentItem()
        if item is not None and not item.isHidden():
            dialog.accept()
            action = actions[item.data(Qt.ItemDataRole.UserRole)]
            if action.isEnabled():
                action.trigger()

    line.textChanged.connect(filter_items)
    line.returnPressed.connect(run_current)
    listing.itemActivated.connect(lambda _item: run_current())
    layout = QVBoxLayout(dialog)
    layout.addWidget(line)
    layout.addWidget(listing)
    filter_items("")
    return dialog, line


def cheat_sheet_dialog(parent: QWidget, action_specs: list[actions_mod.ActionSpec]) -> QDialog:
    dialog = QDialog(parent)
    dialog.setObjectName("cheat_sheet")
    dialog.setWindowTitle("Keyboard shortcuts")
    table = QTableWidget(len(action_specs), 2, dialog)
    table.setHorizontalHeaderLabels(["Action", "Keys"])
    table.verticalHeader().hide()
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    for row, spec in enumerate(action_specs):
        table.setItem(row, 0, QTableWidgetItem(spec.title))
        table.setItem(row, 1, QTableWidgetItem(actions_mod.key_text(spec)))
    table.resizeColumnsToContents()
    table.horizontalHeader().setStretchLastSection(True)
    layout = QVBoxLayout(dialog)
    layout.addWidget(QLabel("Single keys work in the queue and the thread, never while you type."))
    layout.addWidget(table)
    dialog.resize(460, 560)
    return dialog
