"""The Today panel: today's answers and reply mix, what is waiting now, the last 7 days per channel, and
charts (ui/charts.py) of first response per day, messages per hour of the week against the opening hours
(with core/trends' sentence, e.g. "40 % of your messages arrive 19:00–21:00 while you are closed") and the
share answered within target per channel.

Decisions:
- Two background calls: `metrics.today_summary(now, tz, policy)` (the schedule's zone, the current
  policy so "% within target" is judged), then `trends.today_charts(now, policy)`, slower on a big
  profile, so the numbers show first; the dialog only renders.
- Numbers on top; below them two tabs, "&Charts" (first) and "&Per channel, 7 days" (the table), so the
  panel fits 1024×640 without clipping; Alt+C / Alt+P or Ctrl+Tab switch them, Tab reaches each chart.
- "Today" is the owner's working day in the schedule's timezone; the per-channel table is the 7-day
  report (first-response median and % within target cover answers given in those 7 days).
- A number that cannot be computed (no answers yet) is shown as "—", never as 0.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from socialdesk.core import metrics, trends
from socialdesk.ui import fit, icons, theme
from socialdesk.ui.charts import ChannelShareChart, ResponseTrendChart, WeekArrivalsChart

CHANNEL_COLUMNS = ("Channel", "Received", "Answered", "Response rate", "Median first response", "Within target",
                   "Overdue now")
NUMBERS = (
    ("answered_today", "Answered today"),
    ("received_today", "New conversations today"),
    ("awaiting_now", "Awaiting an answer now"),
    ("overdue_now", "Overdue now"),
    ("personal_today", "Personal replies today"),
    ("edited_snippet_today", "Edited snippets today"),
    ("unchanged_snippet_today", "Unchanged snippets today"),
)
WEEK_NUMBERS = (
    ("median", "Median first response (7 days)"),
    ("within", "Answered within target (7 days)"),
    ("rate", "Response rate (7 days)"),
)


def duration_text(seconds: int | None) -> str:
    """"12 min", "2 h 05", "3 d 4 h"; "—" for None."""
    if seconds is None:
        return "—"
    minutes = max(0, round(seconds / 60))
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 24 * 60:
        return f"{minutes // 60} h {minutes % 60:02d}"
    return f"{minutes // (24 * 60)} d {minutes % (24 * 60) // 60} h"


def percent_text(value: float | None, scale: float = 1.0) -> str:
    return "—" if value is None else f"{round(value * scale)} %"


def _font(widget: QWidget, pixels: int | None = None) -> QFont:
    font = QFont(widget.font())
    font.setBold(True)
    if pixels is not None:
        font.setPixelSize(pixels)
    return font


class TodayDialog(QDialog):
    def __init__(self, feature, parent: QWidget | None = None):
        super().__init__(parent)
        self.feature = feature
        self.setObjectName("today_panel")
        self.setWindowTitle("Today")
        self.generation = 0
        self.summary: metrics.TodaySummary | None = None
        self.charts: trends.Charts | None = None
        self.title = QLabel(self)
        # Fonts, not style sheets: a label with a style sheet keeps the text colour of the palette it was
        # polished with, so it would stay dark after a live switch to a dark palette.
        self.title.setFont(_font(self, 15))
        grid = QGridLayout()
        self.values: dict[str, QLabel] = {}
        for i, (key, label) in enumerate(NUMBERS + WEEK_NUMBERS):
            value = QLabel("…", self)
            value.setObjectName(f"today_{key}")
            value.setFont(_font(self, 18))
            value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            row, col = i % 5, (i // 5) * 2
            grid.addWidget(QLabel(label, self), row, col)
            grid.addWidget(value, row, col + 1)
            self.values[key] = value
        grid.setColumnMinimumWidth(2, 40)
        grid.setHorizontalSpacing(18)
        self.table = QTableWidget(0, len(CHANNEL_COLUMNS), self)
        self.table.setObjectName("today_channels")
        self.table.setHorizontalHeaderLabels(list(CHANNEL_COLUMNS))
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.status = QLabel(self)
        theme.tint(self.status, theme.MUTED)
        refresh = QPushButton("&Refresh", self)
        refresh.clicked.connect(self.refresh)
        QShortcut(QKeySequence("F5"), self, self.refresh)
        close = QPushButton("Close", self)
        close.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addWidget(self.status, 1)
        buttons.addWidget(refresh)
        buttons.addWidget(close)
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("today_tabs")
        # The charts scroll: the dialog fits a 1024x640 screen (ui/fit.py; it needed 647 px of height).
        self.tabs.addTab(fit.scrolling(self._build_charts(), self), "&Charts")
        self.tabs.addTab(self.table, "&Per channel, 7 days")
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addLayout(grid)
        layout.addWidget(self.tabs, 1)
        layout.addLayout(buttons)
        fit.resize_within_screen(self, 900, 620)

    def _build_charts(self) -> QWidget:
        page = QWidget(self)
        self.trend_chart = ResponseTrendChart(page)
        self.share_chart = ChannelShareChart(page)
        self.week_chart = WeekArrivalsChart(page)
        self.arrival_sentence = QLabel(page)
        self.arrival_sentence.setObjectName("today_arrival_sentence")
        self.arrival_sentence.setTextFormat(Qt.TextFormat.PlainText)
        self.arrival_sentence.setWordWrap(True)
        self.arrival_sentence.setFont(_font(self))
        grid = QGridLayout(page)
        grid.setContentsMargins(6, 6, 6, 6)
        grid.addWidget(self.trend_chart, 0, 0)
        grid.addWidget(self.share_chart, 0, 1)
        grid.addWidget(self.week_chart, 1, 0, 1, 2)
        grid.addWidget(self.arrival_sentence, 2, 0, 1, 2)
        grid.setColumnStretch(0, 3)
        grid.setColumnStretch(1, 2)
        grid.setRowStretch(0, 1)
        grid.setRowStretch(1, 1)
        return page

    def refresh(self) -> None:
        self.generation += 1
        generation, core = self.generation, self.feature.core
        self.status.setText("Counting…")

        now = core.clock.now()

        def numbers():
            policy = core.policy()  # may read the settings: on the worker
            return generation, metrics.today_summary(now, policy.schedule.timezone, policy)

        def charts():
            return generation, trends.today_charts(now, core.policy())

        # Two tasks: the numbers show first; the charts take longer on a big profile (about 2 s for
        # 100,000 messages on a busy machine) and fill in when ready.
        self.feature.tasks.run(numbers, self._loaded, self._failed)
        self.feature.tasks.run(charts, self._charts_loaded, self._failed)

    def _loaded(self, result) -> None:
        generation, summary = result
        if generation != self.generation:
            return
        self.summary = summary
        self.title.setText(f"Today, {summary.date:%A %d %B}")
        for key, _label in NUMBERS:
            self.values[key].setText(str(getattr(summary, key)))
        week = summary.week
        total = week.total if week else None
        self.values["median"].setText(duration_text(total.first_response_median_s if total else None))
        self.values["within"].setText(percent_text(total.within_target_pct if total else None))
        self.values["rate"].setText(percent_text(total.response_rate if total else None, 100))
        channels = week.channels if week else []
        self.table.setRowCount(len(channels))
        for row, c in enumerate(channels):
            cells = (
                icons.channel_label(c.channel), str(c.received), str(c.answered), percent_text(c.response_rate, 100),
                duration_text(c.first_response_median_s), percent_text(c.within_target_pct), str(c.overdue_now),
            )
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, col, item)
        self.status.setText("")

    def _charts_loaded(self, result) -> None:
        generation, charts = result
        if generation != self.generation:
            return
        self.charts = charts
        self.trend_chart.set_data(charts.trend)
        self.share_chart.set_data(charts.shares)
        self.week_chart.set_data(charts.week)
        sentence = charts.week.sentence
        self.arrival_sentence.setText(sentence if sentence.endswith(".") else sentence + ".")

    def _failed(self, exc: Exception) -> None:
        self.status.setText(f"Could not count: {exc}")
