"""The hours editor (opening hours, dates, away, auto-replies, status posts) and the "Away now…" dialog.

Decisions:
- The week is a grid of seven line edits, one per day, holding windows as text ("09:00-12:30,
  13:30-17:00"; empty or "closed" = closed): quickest with the keyboard (Tab from day to day), and the
  errors are parse_week_spec's own, prefixed with the day. The text forms (one day's windows, the week
  summary) are core/hours/week_spec.py's, shared with `socialdesk hours`.
- Everything is validated live on every edit; the first problems are listed in red under the tabs and
  Save stays disabled while there are any. Save builds the Schedule and AutomationConfig from the
  fields (their own validation is the final word) and hands the values to the feature's save path.
- Nothing is stored before Save: Cancel/Esc drops the edits and loses nothing stored.
- The preview (the state label for the edited schedule and the next 7 days of automatic posts) is
  computed in the background, 300 ms after the last edit; a stale result is dropped by generation.
  It uses the edited schedule and the edited post texts, so a text shows in the preview as it is typed.
- Date-times are edited as wall-clock times in the schedule's timezone, the zone the owner thinks in.
- It fits an 800x500 screen (ui/fit.py TINY_SCREEN): pages scroll vertically, long labels wrap or sit
  above their field instead of beside it, and the next week's posts fold under one line ("Automatic
  posts in the next 7 days: 12, the next Tue 01 Dec 18:00") that unfolds to the list.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, available_timezones

from PySide6.QtCore import QDate, QDateTime, Qt, QTime, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from socialdesk.connectors import traits
from socialdesk.core import automation
from socialdesk.core.hours import (
    AwayPeriod,
    Schedule,
    ScheduleError,
    Window,
    describe_week,
    format_windows,
    parse_windows,
)
from socialdesk.ui import fit, theme
from socialdesk.ui.snooze_dialog import WHEN_FORMAT

DAY_TITLES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
PREVIEW_DELAY_MS = 300
MAX_ERRORS_SHOWN = 4
POSTS_PREVIEW = "Automatic posts in the next 7 days"


def windows_text(windows: list[Window]) -> str:
    """A day's windows for its line edit: empty when closed (the placeholder says so)."""
    return format_windows(windows) if windows else ""


def _qdatetime(value: datetime) -> QDateTime:
    return QDateTime(QDate(value.year, value.month, value.day), QTime(value.hour, value.minute))


def _wall(edit: QDateTimeEdit, tz: str) -> datetime:
    """The edit's wall-clock value read in `tz` (Qt's own zone handling is bypassed on purpose)."""
    d, t = edit.date().toPython(), edit.time().toPython()
    return datetime.combine(d, time(t.hour, t.minute), tzinfo=ZoneInfo(tz))


def _local_text(value: datetime | None, tz: str) -> str:
    if value is None:
        return "until switched off"
    return value.astimezone(ZoneInfo(tz)).strftime("%a %d %b %Y %H:%M")


def _wrapping(text: str, parent: QWidget) -> QLabel:
    """A label that wraps instead of widening its page (the dialog fits an 800 px screen: ui/fit.py)."""
    label = QLabel(text, parent)
    label.setWordWrap(True)
    return label


def _error_label(parent: QWidget) -> QLabel:
    label = QLabel(parent)
    label.setObjectName("errors")
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    theme.tint(label, theme.ERROR)
    return label


class HoursDialog(QDialog):
    """Edits hours.schedule, business.name/my_name and automation.config; saves through the feature."""

    def __init__(self, feature, data: dict, parent: QWidget | None = None):
        super().__init__(parent)
        self.feature = feature
        self.setObjectName("hours_dialog")
        self.setWindowTitle("Business hours")
        self.now: datetime = data["now"]
        schedule: Schedule = data["schedule"]
        self.config: automation.AutomationConfig = data["config"]
        self.accounts = data["accounts"]  # (id, name, channel, can_post)
        self.closed_dates: set[date] = set(schedule.closed_dates)
        self.special: dict[date, list[Window]] = {d: list(w) for d, w in schedule.special_hours.items()}
        self.away: list[AwayPeriod] = [AwayPeriod(p.start, p.end, p.message) for p in schedule.away]
        self.post_edits: dict[int, tuple[bool, dict[str, str]]] = {}
        self.preview_generation = 0
        self.edited_config: automation.AutomationConfig | None = self.config  # what the preview shows
        self.schedule: Schedule | None = None
        self.problems: list[str] = []

        tabs = QTabWidget(self)
        # Each page scrolls: the dialog fits a 1024x640 screen (ui/fit.py; it needed 625 px of height).
        tabs.addTab(fit.scrolling(self._hours_tab(schedule, data), self), "&Hours")
        tabs.addTab(fit.scrolling(self._dates_tab(schedule), self), "&Dates && away")
        tabs.addTab(fit.scrolling(self._replies_tab(), self), "Auto-&replies")
        tabs.addTab(fit.scrolling(self._posts_tab(), self), "Status &posts")
        tabs.addTab(fit.scrolling(self._listings_tab(), self), "&Listings")
        self.tabs = tabs

        self.config_note = QLabel(self)
        self.config_note.setWordWrap(True)
        self.config_note.setTextFormat(Qt.TextFormat.PlainText)
        self.config_note.setText(
            f"The stored automation settings were invalid ({data['config_error']}); saving replaces them "
            "with what you see here." if data["config_error"] else ""
        )
        self.config_note.setVisible(bool(data["config_error"]))
        self.errors = _error_label(self)
        self.state_label = QLabel(self)
        self.state_label.setObjectName("preview_state")
        bold = self.state_label.font()  # a font, not a style sheet, which would pin the light palette
        bold.setBold(True)
        self.state_label.setFont(bold)
        # The next week's posts fold under one line saying how many and when the next is: unfolded they
        # took 130 px of the 460 an 800x500 screen leaves, and most edits are not about posts.
        self.preview_toggle = QToolButton(self)
        self.preview_toggle.setObjectName("preview_toggle")
        self.preview_toggle.setCheckable(True)
        self.preview_toggle.setAutoRaise(True)
        self.preview_toggle.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.preview_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.preview_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.preview_toggle.setText(f"{POSTS_PREVIEW}: …")
        self.preview_toggle.toggled.connect(self._fold_preview)
        self.preview = QListWidget(self)
        self.preview.setObjectName("preview_posts")
        self.preview.setMaximumHeight(110)
        self.preview.setWordWrap(True)  # a post's whole text, not cut at the dialog's edge
        self.preview.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.preview.setVisible(False)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)

        layout = QVBoxLayout(self)
        layout.addWidget(tabs, 1)
        layout.addWidget(self.config_note)
        layout.addWidget(self.errors)
        layout.addWidget(self.state_label)
        layout.addWidget(self.preview_toggle, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.preview)
        layout.addWidget(self.buttons)

        self.preview_timer = QTimer(self)
        self.preview_timer.setSingleShot(True)
        self.preview_timer.setInterval(PREVIEW_DELAY_MS)
        self.preview_timer.timeout.connect(self.refresh_preview)
        fit.resize_within_screen(self, 760, 680)
        self._refresh_lists()
        if self.post_account.currentData() is not None:
            self._post_account_changed(0)
        self.timezone.currentTextChanged.connect(self._refresh_lists)
        self.validate()
        self.day_edits[0].setFocus()

    # --- tabs ------------------------------------------------------------------------------------------

    def _hours_tab(self, schedule: Schedule, data: dict) -> QWidget:
        page = QWidget(self)
        form = QFormLayout(page)
        self.timezone = QComboBox(page)
        self.timezone.setObjectName("timezone")
        self.timezone.setEditable(True)
        self.timezone.addItems(sorted(available_timezones()))
        self.timezone.setCurrentText(schedule.timezone)
        self.timezone.currentTextChanged.connect(self.validate)
        form.addRow("&Timezone:", self.timezone)

        grid = QGridLayout()
        self.day_edits: list[QLineEdit] = []
        for day, title in enumerate(DAY_TITLES):
            edit = QLineEdit(windows_text(schedule.week.get(day, [])), page)
            edit.setObjectName(f"day_{day}")
            edit.setPlaceholderText("closed — or e.g. 09:00-12:30, 13:30-17:00")
            edit.textChanged.connect(self.validate)
            label = QLabel(f"&{title}:" if day < 5 else f"{title}:", page)
            label.setBuddy(edit)
            grid.addWidget(label, day, 0)
            grid.addWidget(edit, day, 1)
            self.day_edits.append(edit)
        copy = QPushButton("Copy Monday to Tue–Fri", page)
        copy.clicked.connect(self._copy_monday)
        grid.addWidget(copy, 7, 1, alignment=Qt.AlignmentFlag.AlignLeft)
        form.addRow(QLabel("Opening hours (empty = closed):", page))
        form.addRow(grid)
        self.week_summary = QLabel(page)
        self.week_summary.setObjectName("week_summary")
        self.week_summary.setWordWrap(True)  # a week of split days is one long line
        theme.tint(self.week_summary, theme.MUTED)
        form.addRow("Week:", self.week_summary)

        self.holiday_country = QLineEdit(schedule.holidays_country, page)
        self.holiday_country.setObjectName("holiday_country")
        self.holiday_country.setPlaceholderText("none — or a country code such as DE, US, GB")
        self.holiday_region = QLineEdit(schedule.holidays_subdiv, page)
        self.holiday_region.setObjectName("holiday_region")
        self.holiday_region.setPlaceholderText("optional region, e.g. BY")
        for edit in (self.holiday_country, self.holiday_region):
            edit.textChanged.connect(self.validate)
        holidays_row = QHBoxLayout()
        holidays_row.addWidget(self.holiday_country, 2)
        holidays_row.addWidget(self.holiday_region, 1)
        form.addRow("Public holidays:", holidays_row)

        self.business_name = QLineEdit(data["business_name"], page)
        self.business_name.setObjectName("business_name")
        self.my_name = QLineEdit(data["my_name"], page)
        self.my_name.setObjectName("my_name")
        form.addRow("&Business name:", self.business_name)
        form.addRow("&Your name:", self.my_name)
        return page

    def _dates_tab(self, schedule: Schedule) -> QWidget:
        page = QWidget(self)
        layout = QVBoxLayout(page)
        today = self.now.astimezone(ZoneInfo(schedule.timezone)).date()

        layout.addWidget(QLabel("Closed dates:", page))
        row = QHBoxLayout()
        self.closed_list = QListWidget(page)
        self.closed_list.setObjectName("closed_dates")
        self.closed_edit = QDateEdit(QDate(today.year, today.month, today.day), page)
        self.closed_edit.setCalendarPopup(True)
        self.closed_edit.setDisplayFormat("yyyy-MM-dd")
        add_closed = QPushButton("Add closed date", page)
        add_closed.clicked.connect(self._add_closed)
        remove_closed = QPushButton("Remove", page)
        remove_closed.clicked.connect(self._remove_closed)
        side = QVBoxLayout()
        for w in (self.closed_edit, add_closed, remove_closed):
            side.addWidget(w)
        side.addStretch(1)
        row.addWidget(self.closed_list, 1)
        row.addLayout(side)
        layout.addLayout(row)

        layout.addWidget(_wrapping("Special hours (one date, e.g. 24 Dec 09:00-12:00):", page))
        row = QHBoxLayout()
        self.special_list = QListWidget(page)
        self.special_list.setObjectName("special_hours")
        self.special_date = QDateEdit(QDate(today.year, today.month, today.day), page)
        self.special_date.setCalendarPopup(True)
        self.special_date.setDisplayFormat("yyyy-MM-dd")
        self.special_windows = QLineEdit(page)
        self.special_windows.setPlaceholderText("09:00-12:00")
        add_special = QPushButton("Set special hours", page)
        add_special.clicked.connect(self._add_special)
        remove_special = QPushButton("Remove", page)
        remove_special.clicked.connect(self._remove_special)
        side = QVBoxLayout()
        for w in (self.special_date, self.special_windows, add_special, remove_special):
            side.addWidget(w)
        side.addStretch(1)
        row.addWidget(self.special_list, 1)
        row.addLayout(side)
        layout.addLayout(row)

        layout.addWidget(QLabel("Away periods (vacation, sick days):", page))
        row = QHBoxLayout()
        self.away_list = QListWidget(page)
        self.away_list.setObjectName("away_periods")
        start = self.now.astimezone(ZoneInfo(schedule.timezone)).replace(second=0, microsecond=0)
        self.away_start = QDateTimeEdit(_qdatetime(start), page)
        self.away_end = QDateTimeEdit(_qdatetime(start + timedelta(days=1)), page)
        for edit in (self.away_start, self.away_end):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd HH:mm")
        self.away_open_end = QCheckBox("No end (until I switch it off)", page)
        self.away_message = QLineEdit(page)
        self.away_message.setPlaceholderText("Away message (optional; placeholders allowed)")
        add_away = QPushButton("Add away period", page)
        add_away.clicked.connect(self._add_away)
        end_away = QPushButton("End now", page)
        end_away.clicked.connect(self._end_away)
        remove_away = QPushButton("Remove", page)
        remove_away.clicked.connect(self._remove_away)
        side = QFormLayout()
        side.addRow("From:", self.away_start)
        side.addRow("Until:", self.away_end)
        side.addRow(self.away_open_end)
        side.addRow(self.away_message)
        buttons = QHBoxLayout()
        for w in (add_away, end_away, remove_away):
            buttons.addWidget(w)
        side.addRow(buttons)
        row.addWidget(self.away_list, 1)
        row.addLayout(side, 1)
        layout.addLayout(row)
        self.dates_problem = _error_label(page)
        layout.addWidget(self.dates_problem)
        return page

    def _replies_tab(self) -> QWidget:
        page = QWidget(self)
        layout = QVBoxLayout(page)
        layout.addWidget(_wrapping(
            "While you are closed or away, a new customer gets one automatic reply per closed period.", page))
        layout.addWidget(QLabel("Default auto-reply text:", page))
        self.default_reply = QPlainTextEdit(self.config.auto_reply_text, page)
        self.default_reply.setObjectName("default_reply")
        self.default_reply.setMaximumHeight(80)
        self.default_reply.textChanged.connect(self.validate)
        layout.addWidget(self.default_reply)
        layout.addWidget(_wrapping("Per channel (“*” = every other channel; empty text = the default):", page))
        self.channel_table = QTableWidget(0, 4, page)
        self.channel_table.setObjectName("channel_rules")
        self.channel_table.setHorizontalHeaderLabels(["Channel", "Private messages", "Public items", "Text"])
        self.channel_table.verticalHeader().hide()
        self.channel_table.horizontalHeader().setStretchLastSection(True)
        self.channel_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        for channel, rule in sorted(self.config.channels.items(), key=lambda kv: (kv[0] != "*", kv[0])):
            self._add_channel_row(channel, rule)
        self.channel_table.resizeColumnsToContents()
        self.channel_table.itemChanged.connect(self.validate)
        layout.addWidget(self.channel_table, 1)
        row = QHBoxLayout()
        self.new_channel = QComboBox(page)
        self.new_channel.setEditable(True)
        known = sorted({a[2] for a in self.accounts} | set(traits.platforms()))
        self.new_channel.addItems([c for c in known if c not in self.config.channels])
        add = QPushButton("Add channel rule", page)
        add.clicked.connect(self._add_channel)
        remove = QPushButton("Remove rule", page)
        remove.clicked.connect(self._remove_channel)
        row.addWidget(self.new_channel)
        row.addWidget(add)
        row.addWidget(remove)
        row.addStretch(1)
        layout.addLayout(row)
        # Messages found when socialdesk runs again (after the laptop slept): AutomationConfig.catch_up.
        # The question above its answer: side by side they asked 833 px, past an 800 px screen.
        late_label = _wrapping("Messages found later (socialdesk was closed) get the auto-&reply:", page)
        late = QHBoxLayout()
        self.catch_up = QComboBox(page)
        self.catch_up.setObjectName("catch_up")
        for mode, text in automation.CATCH_UP_MODES.items():
            self.catch_up.addItem(text, mode)
        self.catch_up.setCurrentIndex(max(0, self.catch_up.findData(self.config.catch_up)))
        self.catch_up.currentIndexChanged.connect(self.validate)
        late_label.setBuddy(self.catch_up)
        layout.addWidget(late_label)
        late.addWidget(self.catch_up)
        late.addStretch(1)
        layout.addLayout(late)
        return page

    def _listings_tab(self) -> QWidget:
        """Publish these hours where the business is listed (core/hours_publish.py; the accounts whose
        platform can take them): Check shows what would change there, Publish writes it."""
        page = QWidget(self)
        layout = QVBoxLayout(page)
        intro = QLabel("Write these hours, with the holidays, closed dates and away days of the next 90 days, to "
                       "the platforms that list your business, so customers read the right hours there. Check "
                       "first: you see what would change before anything is written.", page)
        intro.setWordWrap(True)
        self.listings_check = QPushButton("&Check listings", page)
        self.listings_check.setObjectName("listings_check")
        self.listings_check.clicked.connect(self.check_listings)
        self.listings_publish = QPushButton("Publish these &hours", page)
        self.listings_publish.setObjectName("listings_publish")
        self.listings_publish.setEnabled(False)
        self.listings_publish.clicked.connect(self.publish_listings)
        self.listings_text = QPlainTextEdit(page)  # platform answers and names: plain text
        self.listings_text.setObjectName("listings_changes")
        self.listings_text.setReadOnly(True)
        # Until the first check the box would be an empty white panel: say what appears in it.
        self.listings_text.setPlaceholderText(
            "Press Check listings: each listing's current hours and what publishing would change appear here.")
        self.listings: list = []  # hours_publish.Listing of the last check
        self.listings_generation = 0
        buttons = QHBoxLayout()
        buttons.addWidget(self.listings_check)
        buttons.addWidget(self.listings_publish)
        buttons.addStretch(1)
        layout.addWidget(intro)
        layout.addLayout(buttons)
        layout.addWidget(self.listings_text, 1)
        return page

    def check_listings(self) -> None:
        from socialdesk.core import hours_publish
        from socialdesk.core.store import Account

        schedule = self.schedule if not self.problems else None
        if schedule is None:
            self.listings_text.setPlainText("Fix the hours first: " + "; ".join(self.problems))
            return
        self._drop_listings()
        self.listings_generation += 1
        generation, core = self.listings_generation, self.feature.core
        self.listings_check.setEnabled(False)
        self.listings_text.setPlainText("Asking your listings what they show…")

        def work():
            accounts = list(Account.select().order_by(Account.name))
            return generation, hours_publish.survey(accounts, core.engine.make_connector, schedule, core.clock.now())

        self.feature.tasks.run(work, self._listings_checked, self._listings_failed)

    def _listings_checked(self, result) -> None:
        from socialdesk.core import hours_publish

        generation, listings = result
        if generation != self.listings_generation or not self.isVisible():
            hours_publish.close(listings)
            return
        self.listings = listings
        self.listings_check.setEnabled(True)
        lines = []
        for listing in listings:
            if listing.problem:
                lines.append(f"{listing.name}: {listing.problem}")
            elif listing.changes:
                lines += [f"{listing.name}: what would change:"] + [f"  {line}" for line in listing.changes]
            else:
                lines.append(f"{listing.name}: already shows these hours.")
        self.listings_text.setPlainText("\n".join(lines) or "No account here can publish opening hours.")
        self.listings_publish.setEnabled(any(item.changes and not item.problem for item in listings))

    def _listings_failed(self, exc: Exception) -> None:
        self.listings_check.setEnabled(True)
        self.listings_text.setPlainText(f"The listings could not be checked: {exc}")

    def publish_listings(self) -> None:
        from socialdesk.core import hours_publish

        chosen = [listing for listing in self.listings if listing.changes and not listing.problem]
        if not chosen:
            return
        self.listings_publish.setEnabled(False)
        self.listings_check.setEnabled(False)
        self.feature.tasks.run(lambda: [hours_publish.publish(listing) for listing in chosen],
                               self._listings_published, self._listings_failed)

    def _listings_published(self, lines: list[str]) -> None:
        self.listings_check.setEnabled(True)
        self.listings_text.setPlainText("\n".join(lines))

    def _drop_listings(self) -> None:
        from socialdesk.core import hours_publish

        listings, self.listings = self.listings, []
        self.listings_publish.setEnabled(False)
        hours_publish.close(listings)

    def done(self, result: int) -> None:
        self.listings_generation += 1  # a check still running is dropped when it ends
        self._drop_listings()
        super().done(result)

    def _posts_tab(self) -> QWidget:
        page = QWidget(self)
        form = QFormLayout(page)
        form.addRow(_wrapping("Opening, closing and away posts on an account's public profile (off by default).", page))
        self.post_account = QComboBox(page)
        self.post_account.setObjectName("post_account")
        for account_id, name, _channel, can_post in self.accounts:
            if can_post:
                self.post_account.addItem(name, account_id)
        self.post_enabled = QCheckBox("Post automatically on this account", page)
        self.post_enabled.setObjectName("post_enabled")
        self.post_texts: dict[str, QLineEdit] = {}
        form.addRow("&Account:", self.post_account)
        form.addRow(self.post_enabled)
        for kind in automation.STATUS_KINDS:
            edit = QLineEdit(page)
            edit.setObjectName(f"post_{kind}")
            edit.setPlaceholderText("empty = no post")
            edit.textChanged.connect(self.validate)
            self.post_texts[kind] = edit
            form.addRow(f"{automation.STATUS_LABELS[kind].capitalize()}:", edit)
        form.addRow(_wrapping("{next_close} is the next closing time; the other placeholders are as in snippets.",
                              page))
        self.post_enabled.toggled.connect(self.validate)
        self.post_account.currentIndexChanged.connect(self._post_account_changed)
        self.current_post_account: int | None = None
        if self.post_account.count() == 0:
            self.post_account.addItem("No account here can publish posts", None)
            for w in [self.post_account, self.post_enabled, *self.post_texts.values()]:
                w.setEnabled(False)
        return page

    # --- week, dates and away -------------------------------------------------------------------------

    def _copy_monday(self) -> None:
        for edit in self.day_edits[1:5]:
            edit.setText(self.day_edits[0].text())

    def _tz(self) -> str:
        return self.schedule.timezone if self.schedule is not None else "UTC"

    def _refresh_lists(self) -> None:
        self.closed_list.clear()
        for d in sorted(self.closed_dates):
            item = QListWidgetItem(d.strftime("%a %Y-%m-%d"))
            item.setData(Qt.ItemDataRole.UserRole, d)
            self.closed_list.addItem(item)
        self.special_list.clear()
        for d, windows in sorted(self.special.items()):
            item = QListWidgetItem(f"{d:%a %Y-%m-%d}   {format_windows(windows)}")
            item.setData(Qt.ItemDataRole.UserRole, d)
            self.special_list.addItem(item)
        self.away_list.clear()
        tz = self.timezone.currentText().strip()
        try:
            ZoneInfo(tz)
        except (ValueError, KeyError, OSError):
            tz = "UTC"
        for i, p in enumerate(self.away):
            mark = "  (now)" if p.covers(self.now) else ""
            message = f" — {p.message}" if p.message else ""
            item = QListWidgetItem(f"{_local_text(p.start, tz)} → {_local_text(p.end, tz)}{mark}{message}")
            item.setData(Qt.ItemDataRole.UserRole, i)
            self.away_list.addItem(item)

    def _add_closed(self) -> None:
        self.closed_dates.add(self.closed_edit.date().toPython())
        self._dates_changed()

    def _remove_closed(self) -> None:
        item = self.closed_list.currentItem()
        if item is not None:
            self.closed_dates.discard(item.data(Qt.ItemDataRole.UserRole))
            self._dates_changed()

    def _add_special(self) -> None:
        d = self.special_date.date().toPython()
        try:
            self.special[d] = parse_windows(self.special_windows.text(), f"special hours {d.isoformat()}")
        except ScheduleError as exc:
            self.dates_problem.setText(str(exc))
            return
        self._dates_changed()

    def _remove_special(self) -> None:
        item = self.special_list.currentItem()
        if item is not None:
            self.special.pop(item.data(Qt.ItemDataRole.UserRole), None)
            self._dates_changed()

    def _add_away(self) -> None:
        tz = self._tz()
        start = _wall(self.away_start, tz)
        end = None if self.away_open_end.isChecked() else _wall(self.away_end, tz)
        message = self.away_message.text().strip()
        problem = ""
        if end is not None and end <= start:
            problem = "The away period must end after it starts."
        elif message and automation.text_problems(message):
            problem = f"Away message: {automation.text_problems(message)[0]}"
        if problem:
            self.dates_problem.setText(problem)
            return
        self.away.append(AwayPeriod(start, end, message))
        self.away_message.clear()
        self._dates_changed()

    def _end_away(self) -> None:
        item = self.away_list.currentItem()
        if item is None:
            return
        period = self.away[item.data(Qt.ItemDataRole.UserRole)]
        if period.covers(self.now):
            period.end = self.now
            self.away = [p for p in self.away if p.end is None or p.end > p.start]
            self._dates_changed()
        else:
            self.dates_problem.setText("That away period is not running now; use Remove.")

    def _remove_away(self) -> None:
        item = self.away_list.currentItem()
        if item is not None:
            del self.away[item.data(Qt.ItemDataRole.UserRole)]
            self._dates_changed()

    def _dates_changed(self) -> None:
        self.dates_problem.setText("")
        self._refresh_lists()
        self.validate()

    # --- auto-replies and posts -------------------------------------------------------------------------

    def _add_channel_row(self, channel: str, rule: automation.ChannelRule) -> None:
        table = self.channel_table
        row = table.rowCount()
        table.insertRow(row)
        name = QTableWidgetItem("*  (every other channel)" if channel == "*" else channel)
        name.setData(Qt.ItemDataRole.UserRole, channel)
        name.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
        table.setItem(row, 0, name)
        for col, on in ((1, rule.private), (2, rule.public)):
            item = QTableWidgetItem("on" if on else "off")
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
            table.setItem(row, col, item)
        table.setItem(row, 3, QTableWidgetItem(rule.text))

    def _add_channel(self) -> None:
        channel = self.new_channel.currentText().strip().lower()
        existing = {self.channel_table.item(r, 0).data(Qt.ItemDataRole.UserRole) for r in range(self.channel_table.rowCount())}
        if not channel or channel in existing:
            return
        self.channel_table.blockSignals(True)
        self._add_channel_row(channel, automation.ChannelRule())
        self.channel_table.blockSignals(False)
        self.new_channel.removeItem(self.new_channel.currentIndex())
        self.validate()

    def _remove_channel(self) -> None:
        row = self.channel_table.currentRow()
        if row >= 0 and self.channel_table.item(row, 0).data(Qt.ItemDataRole.UserRole) != "*":
            self.channel_table.removeRow(row)
            self.validate()

    def _post_account_changed(self, _index: int) -> None:
        self._store_post_edit()
        account_id = self.post_account.currentData()
        self.current_post_account = account_id
        if account_id is None:
            return
        enabled, texts = self.post_edits.get(account_id) or self._posts_of(account_id)
        for w in [self.post_enabled, *self.post_texts.values()]:
            w.blockSignals(True)
        self.post_enabled.setChecked(enabled)
        for kind, edit in self.post_texts.items():
            edit.setText(texts.get(kind, ""))
        for w in [self.post_enabled, *self.post_texts.values()]:
            w.blockSignals(False)
        self.validate()

    def _posts_of(self, account_id: int) -> tuple[bool, dict[str, str]]:
        posts = self.config.status_posts.get(account_id) or automation.StatusPosts()
        return posts.enabled, dict(posts.texts)

    def _store_post_edit(self) -> None:
        if self.current_post_account is not None:
            self.post_edits[self.current_post_account] = (
                self.post_enabled.isChecked(),
                {kind: edit.text() for kind, edit in self.post_texts.items()},
            )

    # --- validation, preview, save -------------------------------------------------------------------

    def build(self) -> tuple[Schedule | None, automation.AutomationConfig | None, list[str]]:
        """The edited schedule and automation settings, or the owner-readable problems."""
        problems: list[str] = []
        week = {}
        for day, edit in enumerate(self.day_edits):
            try:
                windows = parse_windows(edit.text(), DAY_TITLES[day])
            except ScheduleError as exc:
                problems.append(str(exc))
                continue
            if windows:
                week[day] = windows
        country = self.holiday_country.text().strip().upper()
        region = self.holiday_region.text().strip().upper()
        schedule = None
        try:
            schedule = Schedule(
                timezone=self.timezone.currentText().strip(),
                week=week,
                holidays_country=country,
                holidays_subdiv=region,
                closed_dates=set(self.closed_dates),
                special_hours={d: list(w) for d, w in self.special.items()},
                away=[AwayPeriod(p.start, p.end, p.message) for p in self.away],
            )
        except ScheduleError as exc:
            problems.append(str(exc))
        if problems:
            schedule = None
        config = None
        self._store_post_edit()
        try:
            channels = {}
            for r in range(self.channel_table.rowCount()):
                channel = self.channel_table.item(r, 0).data(Qt.ItemDataRole.UserRole)
                channels[channel] = automation.ChannelRule(
                    private=self.channel_table.item(r, 1).checkState() == Qt.CheckState.Checked,
                    public=self.channel_table.item(r, 2).checkState() == Qt.CheckState.Checked,
                    text=(self.channel_table.item(r, 3).text() if self.channel_table.item(r, 3) else ""),
                )
            config = automation.AutomationConfig(
                auto_reply_text=self.default_reply.toPlainText(),
                channels=channels,
                status_posts=dict(self.config.status_posts),
                grace_minutes=self.config.grace_minutes,
                max_per_day=self.config.max_per_day,
                catch_up=self.catch_up.currentData() or self.config.catch_up,
            )
            for account_id, (enabled, texts) in sorted(self.post_edits.items()):
                config = config.with_status_posts(account_id, enabled, self.now, **texts)
        except automation.AutomationConfigError as exc:
            problems.append(str(exc)[0].upper() + str(exc)[1:])
            config = None
        return schedule, config, problems

    def validate(self, *_args) -> bool:
        schedule, config, problems = self.build()
        self.problems = problems
        if config is not None:
            self.edited_config = config
        if schedule is not None:
            self.schedule = schedule
            self.week_summary.setText(describe_week(schedule.week))
        shown = problems[:MAX_ERRORS_SHOWN]
        if len(problems) > MAX_ERRORS_SHOWN:
            shown.append(f"… and {len(problems) - MAX_ERRORS_SHOWN} more")
        self.errors.setText("\n".join(shown))
        self.errors.setVisible(bool(problems))
        self.save_button.setEnabled(not problems)
        if schedule is not None:
            self.preview_timer.start()
        return not problems

    def refresh_preview(self) -> None:
        schedule = self.schedule
        if schedule is None:
            return
        self.preview_generation += 1
        generation, settings, now = self.preview_generation, self.feature.core.settings, self.feature.core.clock.now()
        config = self.edited_config

        def work():
            posts = automation.preview_status_posts(settings, schedule, now, config=config)
            return generation, schedule.state_label(now), posts

        self.feature.tasks.run(work, self._preview_ready, self._preview_failed)

    def _preview_ready(self, result) -> None:
        generation, label, posts = result
        if generation != self.preview_generation:
            return
        self.state_label.setText(f"With these hours: {label}")
        self.preview.clear()
        tz = ZoneInfo(self.schedule.timezone if self.schedule else "UTC")
        for post in posts:
            when = post.when.astimezone(tz).strftime("%a %d %b %H:%M")
            where = f"  [{post.where}]" if post.where else ""  # "scheduled on <platform>" (traits' name)
            cost = f"  [{post.cost}]" if post.cost else ""  # where the platform bills posts (a link costs more)
            self.preview.addItem(
                f"{when}  {post.account_name}  ({automation.STATUS_LABELS[post.kind]}){where}{cost}: {post.text}")
        if not posts:
            self.preview.addItem("None (no account has status posts switched on).")
            self.preview_toggle.setText(f"{POSTS_PREVIEW}: none")
        else:
            first = posts[0].when.astimezone(tz).strftime("%a %d %b %H:%M")
            self.preview_toggle.setText(f"{POSTS_PREVIEW}: {len(posts)}, the next {first}")

    def _fold_preview(self, unfolded: bool) -> None:
        self.preview_toggle.setArrowType(Qt.ArrowType.DownArrow if unfolded else Qt.ArrowType.RightArrow)
        self.preview.setVisible(unfolded)

    def _preview_failed(self, exc: Exception) -> None:
        self.state_label.setText(f"Preview unavailable: {exc}")

    def save(self) -> None:
        schedule, config, problems = self.build()
        if problems or schedule is None or config is None:
            self.validate()
            return
        self.save_button.setEnabled(False)
        values = {
            "hours.schedule": schedule.to_json(),
            "automation.config": config.to_json(),
            "business.name": self.business_name.text().strip(),
            "business.my_name": self.my_name.text().strip(),
        }
        self.feature.save_settings(values, self._saved, self._save_failed)

    def _saved(self) -> None:
        self.accept()

    def _save_failed(self, exc: Exception) -> None:
        self.errors.setText(f"Could not save: {exc}")
        self.errors.show()
        self.save_button.setEnabled(True)


class AwayDialog(QDialog):
    """Away from now until a time (or until switched off), with an optional away message; or "I'm back"."""

    def __init__(self, schedule: Schedule, now: datetime, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("away_dialog")
        self.setWindowTitle("Away now")
        self.tz = schedule.timezone
        self.now = now
        self.choice: tuple[str, datetime | None, str] = ("away", None, "")
        active = schedule.away_at(now)
        local = now.astimezone(ZoneInfo(self.tz)).replace(second=0, microsecond=0)
        self.state = QLabel(f"Now: {schedule.state_label(now)}", self)
        self.until = QDateTimeEdit(_qdatetime((active.end or local + timedelta(days=1)) if active else local + timedelta(days=1)), self)
        if active is not None and active.end is not None:
            self.until.setDateTime(_qdatetime(active.end.astimezone(ZoneInfo(self.tz))))
        self.until.setObjectName("away_until")
        self.until.setCalendarPopup(True)
        self.until.setDisplayFormat(WHEN_FORMAT)
        self.open_end = QCheckBox("Until I switch it off", self)
        self.open_end.setObjectName("away_open_end")
        self.open_end.toggled.connect(self.until.setDisabled)
        self.open_end.setChecked(active is not None and active.end is None)
        self.message = QPlainTextEdit(active.message if active else "", self)
        self.message.setObjectName("away_message")
        self.message.setPlaceholderText("Away message for customers (optional). Empty = your usual auto-reply.")
        self.message.setTabChangesFocus(True)
        self.message.setMaximumHeight(90)
        self.error = _error_label(self)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Change away" if active else "Go away")
        buttons.accepted.connect(self.go)
        buttons.rejected.connect(self.reject)
        if active is not None:
            back = buttons.addButton("I'm &back", QDialogButtonBox.ButtonRole.ActionRole)
            back.setObjectName("away_back")
            back.clicked.connect(self.back)
        form = QFormLayout(self)
        form.addRow(self.state)
        form.addRow(f"Back on ({self.tz}):", self.until)
        form.addRow(self.open_end)
        form.addRow("Message:", self.message)
        form.addRow(self.error)
        form.addRow(buttons)
        self.resize(480, 260)

    def go(self) -> None:
        until = None if self.open_end.isChecked() else _wall(self.until, self.tz)
        message = self.message.toPlainText().strip()
        if until is not None and until <= self.now:
            self.error.setText("Pick a time in the future, or tick “Until I switch it off”.")
            return
        problems = automation.text_problems(message) if message else []
        if problems:
            self.error.setText(f"Message: {problems[0]}")
            return
        self.choice = ("away", until, message)
        self.accept()

    def back(self) -> None:
        self.choice = ("back", None, "")
        self.accept()
