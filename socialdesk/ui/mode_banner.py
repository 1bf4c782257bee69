"""The Away / Paused banner across the top of the main window (issue 17 item 8).

While the owner is away (core/hours: an away period covers now) or automation is paused
(core/automation.is_paused), a band says so in words, with what it means for customers, and a button
that ends it: "End away" (owner.come_back) or "Resume automation" (the settings feature's pause action,
so its check mark follows). The buttons are ordinary push buttons in the tab chain with a mnemonic
(Alt+E, Alt+U), so the keyboard reaches them like everything else.

Decisions:
- The state is read on a worker thread (`MainWindow.refresh_mode`) at start, at the minute tick (an away
  period ends by itself) and after a change notification that wrote settings; the banner only renders.
- The colours are ui/theme.BANNER and BANNER_TEXT, applied again when the palette changes (the system
  switched modes). Light or dark is judged from the parent's palette: the banner's own is its style
  sheet's amber, and a widget with a style sheet hears no further palette changes, so it listens to its
  parent's.
- The same state reaches the tray (ui/tray.Tray.set_mode), so Away and Paused show at a glance there too.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from socialdesk.ui import theme
from socialdesk.ui.qtcompat import emit


class ModeBanner(QFrame):
    end_away_requested = Signal()
    resume_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("mode_banner")
        self.away_label = ""  # "Away until 3 Dec", "" when not away
        self.paused = False
        row = QHBoxLayout(self)
        row.setContentsMargins(12, 6, 8, 6)
        self.label = QLabel(self)
        self.label.setObjectName("mode_banner_text")
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setWordWrap(True)
        self.end_away = QPushButton("&End away", self)
        self.end_away.setObjectName("end_away")
        self.end_away.clicked.connect(lambda: emit(self.end_away_requested))
        self.resume = QPushButton("Res&ume automation", self)
        self.resume.setObjectName("resume_automation")
        self.resume.clicked.connect(lambda: emit(self.resume_requested))
        row.addWidget(self.label, 1)
        row.addWidget(self.end_away)
        row.addWidget(self.resume)
        if parent is not None:
            parent.installEventFilter(self)
        self._colour()
        self.hide()

    def show_mode(self, away_label: str, paused: bool) -> None:
        """Away (its state label, e.g. "Away until 3 Dec") and/or paused; neither hides the banner."""
        self.away_label, self.paused = away_label, paused
        parts = []
        if away_label:
            parts.append(f"{away_label}: the queue's clocks wait and customers get your away message.")
        if paused:
            parts.append("Automation paused: no automatic replies or status posts are sent.")
        self.label.setText("  ".join(parts))
        self.end_away.setVisible(bool(away_label))
        self.resume.setVisible(paused)
        self.setVisible(bool(parts))

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if obj is self.parentWidget() and event.type() == QEvent.Type.PaletteChange:
            self._colour()
        return False

    def _colour(self) -> None:
        parent = self.parentWidget()
        palette = parent.palette() if parent is not None else None
        sheet = (f"QFrame#mode_banner {{ background:{theme.colour(theme.BANNER, palette)}; }}"
                 f" QLabel#mode_banner_text {{ color:{theme.colour(theme.BANNER_TEXT, palette)}; }}")
        if self.styleSheet() != sheet:  # setting a sheet re-polishes: only when the colour changed
            self.setStyleSheet(sheet)
