"""The tray icon: the number awaiting an answer, a warning variant when anything is overdue, a corner
badge while away or paused (ui/icons.tray_icon), a menu.

Decisions: the icon is repainted only when the count or the warning state changes. The tooltip names
the most urgent item and its deadline; customer names are escaped (tooltips are rich text in Qt).
Left-click toggles the window; the menu offers Show, the automation switches (added by the window) and
Quit. Without a system tray (some Linux desktops) the window simply stays the main surface.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from socialdesk.ui import icons
from socialdesk.ui.qtcompat import emit


class Tray(QSystemTrayIcon):
    toggle_requested = Signal()
    show_requested = Signal()
    quit_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.count = -1
        self.warning = False
        self.mode = ""  # "away", "paused" or "": the icon's corner badge
        self.mode_text = ""  # "Away until 3 Dec", "Automation paused": the tooltip's first line
        self.urgent = ""
        self.menu = QMenu()
        self.show_action = QAction("Show socialdesk", self.menu)
        self.show_action.triggered.connect(self.show_requested)
        self.menu.addAction(self.show_action)
        self.menu.addSeparator()
        self.extra_anchor = self.menu.addSeparator()
        self.quit_action = QAction("Quit", self.menu)
        self.quit_action.triggered.connect(self.quit_requested)
        self.menu.addAction(self.quit_action)
        self.setContextMenu(self.menu)
        self.activated.connect(self._on_activated)
        self.update_state(0, False, "")

    def add_menu_action(self, action: QAction) -> None:
        self.menu.insertAction(self.extra_anchor, action)

    def update_state(self, count: int, warning: bool, most_urgent: str) -> None:
        self.urgent = most_urgent
        self._show(count, warning, self.mode)

    def set_mode(self, away_label: str, paused: bool) -> None:
        """Away (its state label) wins the badge over Paused; the tooltip names both."""
        self.mode_text = "  ·  ".join(part for part in (away_label, "Automation paused" if paused else "") if part)
        self._show(self.count, self.warning, "away" if away_label else "paused" if paused else "")

    def _show(self, count: int, warning: bool, mode: str) -> None:
        if (count, warning, mode) != (self.count, self.warning, self.mode):
            self.count, self.warning, self.mode = count, warning, mode
            self.setIcon(icons.tray_icon(count, warning, mode))
        if count <= 0:
            tip = "socialdesk — nothing awaiting an answer"
        else:
            tip = f"socialdesk — {count} awaiting an answer"
            if self.urgent:
                tip += f"<br>Next: {html.escape(self.urgent)}"
        if self.mode_text:
            tip += f"<br>{html.escape(self.mode_text)}"
        self.setToolTip(tip)

    def _on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason == QSystemTrayIcon.ActivationReason.Trigger:
            emit(self.toggle_requested)
