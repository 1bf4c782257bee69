"""The coverage panel: per account, what still happens while socialdesk is not running (core/coverage.py).

Decisions:
- The summary lines are core's (`CoverageReport.lines`, the same words as `socialdesk coverage show`),
  shown as plain text; the table below has one row per promise: account, what, who keeps it, until, and
  the details (with the reason where a server does not keep it). A row nothing keeps shows only its own
  detail (`Promise.generic`: what the auto-replies are for, the next status post), not the sentence the
  third column already says on every such row. Nothing here names a platform.
- Loading and "Push now" run through `Tasks` (a worker thread): the GUI thread never touches SQLite or
  the network. The pushes the app makes by itself run on the sync engine's job thread (core/coverage.py).
- It refreshes on open, on F5 / Refresh, and from change notifications while it is visible (a push
  publishes its state key; hours, settings and account changes can change what it says).
- Colours come from the palette only, so it reads the same in light and dark themes.
"""

from __future__ import annotations

import html
from datetime import datetime
from zoneinfo import ZoneInfo

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from socialdesk.core import coverage
from socialdesk.core.changes import ChangeSet

COLUMNS = ("Account", "What", "While socialdesk is closed", "Until", "Details")
WHAT = {"auto_reply": "Auto-replies", "status_posts": "Status posts"}
KEPT_BY = {"server": "Kept by the server", "app": "Not kept: only while it runs"}


def load(core, secrets_for=None) -> tuple[coverage.CoverageReport, str]:
    """The report and the schedule's zone (runs on a worker thread)."""
    schedule = core.policy().schedule
    ctx = coverage.make_context(core.store, core.settings, schedule, core.clock.now(), secrets_for)
    return coverage.report(ctx), schedule.timezone


class CoverageDialog(QDialog):
    def __init__(self, core, tasks, parent: QWidget | None = None):
        super().__init__(parent)
        self.core = core
        self.tasks = tasks
        self.generation = 0
        self.setObjectName("coverage_view")
        self.setWindowTitle("While socialdesk is closed")
        intro = QLabel("What still happens for each account while socialdesk is not running (the computer "
                       "asleep, the app closed), and what does not.", self)
        intro.setWordWrap(True)
        self.summary = QLabel(self)
        self.summary.setObjectName("coverage_summary")
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setObjectName("coverage_table")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for col, width in enumerate((190, 110, 200, 100)):
            self.table.setColumnWidth(col, width)
        self.status = QLabel(self)
        self.status.setObjectName("coverage_status")
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setWordWrap(True)
        self.push_button = QPushButton("&Push to the servers now", self)
        self.push_button.setObjectName("coverage_push")
        self.push_button.setToolTip("Write what the servers keep (the mail server's off-hours replies) now; "
                                    "socialdesk also does this by itself after every change")
        self.push_button.clicked.connect(self.push)
        refresh = QPushButton("&Refresh", self)
        refresh.clicked.connect(self.refresh)
        QShortcut(QKeySequence("F5"), self, self.refresh)
        close = QPushButton("Close", self)
        close.clicked.connect(self.close)
        bottom = QHBoxLayout()
        bottom.addWidget(self.push_button)
        bottom.addWidget(refresh)
        bottom.addStretch(1)
        bottom.addWidget(close)
        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        layout.addWidget(intro)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status)
        layout.addLayout(bottom)
        self.resize(980, 420)

    # --- loading ---------------------------------------------------------------------------------------

    def refresh(self) -> None:
        self.generation += 1
        generation, core = self.generation, self.core
        self.tasks.run(lambda: (generation, *load(core)), self._loaded, self._failed)

    def follow(self, change: ChangeSet) -> None:
        """A change notification: refresh while shown, when it can change what the panel says."""
        if self.isVisible() and (change.settings or change.accounts):
            self.refresh()

    def _loaded(self, result) -> None:
        generation, report, tz = result
        if generation != self.generation:
            return
        self.summary.setText("\n".join(report.lines))
        zone = ZoneInfo(tz)
        rows = [(account, promise) for account, promises in report.accounts for promise in promises]
        self.table.setRowCount(len(rows))
        for row, (account, promise) in enumerate(rows):
            # A row nothing keeps says so in its third column: the details are what is its own.
            details = promise.note if promise.generic else promise.text + (f" — {promise.note}" if promise.note else "")
            values = (
                account.name, WHAT.get(promise.what, promise.what), KEPT_BY.get(promise.kept_by, promise.kept_by),
                _day(promise.until, zone), details,
            )
            for col, value in enumerate(values):
                item = QTableWidgetItem(value)
                if col == 4 and value:
                    item.setToolTip(html.escape(value))  # Qt reads tooltips as rich text; a server's words are not ours
                self.table.setItem(row, col, item)
        self.table.setVisible(bool(rows))

    def _failed(self, exc: Exception) -> None:
        self.status.setText(f"That did not work: {exc}")
        self.push_button.setEnabled(True)

    # --- pushing ---------------------------------------------------------------------------------------

    def push(self) -> None:
        from socialdesk.secrets import KeyringSecrets

        core = self.core
        profile = core.profile.name
        self.push_button.setEnabled(False)
        self.status.setText("Pushing to the servers…")

        def work():
            schedule = core.policy().schedule
            ctx = coverage.make_context(core.store, core.settings, schedule, core.clock.now(),
                                        lambda account: KeyringSecrets(profile, account.name))
            return coverage.push_all(ctx)

        self.tasks.run(work, self._pushed, self._failed)

    def _pushed(self, lines: list[coverage.PushLine]) -> None:
        self.push_button.setEnabled(True)
        self.status.setText("\n".join(line.text for line in lines) or "Nothing to push: no account has a server "
                            "that keeps replies or posts for socialdesk.")
        self.refresh()


def _day(when: datetime | None, zone: ZoneInfo) -> str:
    if when is None:
        return ""
    local = when.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b}"
