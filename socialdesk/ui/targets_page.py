"""The Response targets page: one table row per rule (kind × channel), due-soon settings, reset to defaults.

Decisions:
- Durations are typed as text and shown as h/min ("1 h", "45 min", "2 h 30", "1 d"); plain numbers are
  minutes. Parsing is here; the limits are
  TargetConfig's own (its errors are shown as they are).
- Every kind always has its "*" row (any channel), which cannot be removed; channel-specific rows can
  be added and removed. The table is validated live and Save stays disabled while anything is wrong.
- Reset to defaults only refills the table: nothing is stored before Save, and Cancel/Esc keeps the
  stored targets as they were.
- Saving goes through the feature's save path, which recomputes every awaiting conversation's due time.
"""

from __future__ import annotations

import re
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from socialdesk.connectors import traits
from socialdesk.core.targets import (
    CONVERSATION_KINDS,
    MAX_MINUTES,
    TargetConfig,
    TargetConfigError,
    TargetRule,
)
from socialdesk.ui import icons, theme

KIND_TITLES = {"dm": "Direct message", "comment": "Comment", "mention": "Mention", "review": "Review", "email": "Email"}
COLUMNS = ("Kind", "Channel", "First response", "Next response", "Business hours only")
BUSINESS_HOURS_COLUMN = COLUMNS.index("Business hours only")
_PART = re.compile(r"(\d+)\s*(days?|d|hours?|hrs?|h|minutes?|mins?|m)?", re.IGNORECASE)


class DurationError(ValueError):
    pass


def format_minutes(minutes: int) -> str:
    """"45 min", "1 h", "2 h 30", "1 d", "1 d 2 h"."""
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days and not mins:
        return f"{days} d" + (f" {hours} h" if hours else "")
    if minutes < 60:
        return f"{minutes} min"
    total_hours = minutes // 60
    return f"{total_hours} h" + (f" {mins:02d}" if mins else "")


def parse_minutes(text: str, what: str) -> int:
    """Minutes from "90", "45 min", "1 h 30", "1h30m", "2 h", "1 d"; a bare number after hours is minutes."""
    text = text.strip().lower()
    if not text:
        raise DurationError(f"{what}: enter a time such as 45 min, 2 h or 1 d")
    total, pos, last_unit = 0, 0, ""
    for m in _PART.finditer(text):
        if text[pos:m.start()].strip():
            break
        unit = (m.group(2) or "").lower()
        value = int(m.group(1))
        if unit.startswith("d"):
            total += value * 24 * 60
        elif unit.startswith("h"):
            total += value * 60
        else:
            total += value  # minutes, also the "30" in "1 h 30"
        last_unit, pos = unit or "m", m.end()
    if pos == 0 or text[pos:].strip() or not last_unit:
        raise DurationError(f"{what}: {text!r} is not a time such as 45 min, 2 h 30 or 1 d")
    if not 1 <= total <= MAX_MINUTES:
        raise DurationError(f"{what}: must be from 1 min to {MAX_MINUTES // (24 * 60)} days")
    return total


class TargetsDialog(QDialog):
    def __init__(self, feature, raw: Any, channels: list[str], parent: QWidget | None = None):
        super().__init__(parent)
        self.feature = feature
        self.setObjectName("targets_dialog")
        self.setWindowTitle("Response targets")
        self.note = QLabel(self)
        self.note.setWordWrap(True)
        try:
            config = TargetConfig.from_json(raw) if raw else TargetConfig.default()
        except TargetConfigError as exc:
            config = TargetConfig.default()
            self.note.setText(f"The stored targets were invalid ({exc}); showing the defaults.")
        intro = QLabel(
            "How soon each kind of message should be answered. “*” applies to every channel without its own "
            "row. Times like 45 min, 2 h, 1 d; business-hours targets count only opening hours.", self
        )
        intro.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setObjectName("targets_table")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(
            QAbstractItemView.EditTrigger.AnyKeyPressed | QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
        )
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.itemChanged.connect(self.validate)

        self.fraction = QSpinBox(self)
        self.fraction.setObjectName("due_soon_percent")
        self.fraction.setRange(0, 99)
        self.fraction.setSuffix(" % of the target")
        self.minimum = QSpinBox(self)
        self.minimum.setObjectName("due_soon_minutes")
        self.minimum.setRange(0, MAX_MINUTES)
        self.minimum.setSuffix(" min")
        due_row = QHBoxLayout()
        due_row.addWidget(QLabel("“Due soon” when less than", self))
        due_row.addWidget(self.fraction)
        due_row.addWidget(QLabel("or", self))
        due_row.addWidget(self.minimum)
        due_row.addWidget(QLabel("is left, whichever is more.", self))
        due_row.addStretch(1)
        # One- and two-star reviews get their alert earlier (core/targets.py due_soon_margin_s).
        self.low_fraction = QSpinBox(self)
        self.low_fraction.setObjectName("low_rating_due_soon_percent")
        self.low_fraction.setRange(0, 99)
        self.low_fraction.setSuffix(" % of the target")
        low_row = QHBoxLayout()
        low_row.addWidget(QLabel("One- and two-star reviews: “due soon” when less than", self))
        low_row.addWidget(self.low_fraction)
        low_row.addWidget(QLabel("is left.", self))
        low_row.addStretch(1)

        self.new_kind = QComboBox(self)
        self.new_kind.setObjectName("new_kind")
        for kind in CONVERSATION_KINDS:
            self.new_kind.addItem(KIND_TITLES[kind], kind)
        self.new_channel = QComboBox(self)
        self.new_channel.setObjectName("new_channel")
        self.new_channel.setEditable(True)
        self.new_channel.addItems(sorted(set(channels) | set(traits.platforms())))
        add = QPushButton("&Add channel rule", self)
        add.clicked.connect(self.add_rule)
        remove = QPushButton("&Remove rule", self)
        remove.clicked.connect(self.remove_rule)
        reset = QPushButton("Reset to &defaults", self)
        reset.setObjectName("reset_defaults")
        reset.clicked.connect(self.reset_defaults)
        add_row = QHBoxLayout()
        add_row.addWidget(self.new_kind)
        add_row.addWidget(self.new_channel)
        add_row.addWidget(add)
        add_row.addWidget(remove)
        add_row.addStretch(1)
        add_row.addWidget(reset)

        self.errors = QLabel(self)
        self.errors.setObjectName("errors")
        self.errors.setTextFormat(Qt.TextFormat.PlainText)
        self.errors.setWordWrap(True)
        theme.tint(self.errors, theme.ERROR)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.note)
        layout.addWidget(self.table, 1)
        layout.addLayout(add_row)
        layout.addLayout(due_row)
        layout.addLayout(low_row)
        layout.addWidget(self.errors)
        layout.addWidget(self.buttons)
        self.fraction.valueChanged.connect(self.validate)
        self.minimum.valueChanged.connect(self.validate)
        self.low_fraction.valueChanged.connect(self.validate)
        self.load(config)
        self.resize(820, 480)
        self.table.setFocus()

    # --- table ----------------------------------------------------------------------------------------

    def load(self, config: TargetConfig) -> None:
        self.table.blockSignals(True)
        self.table.setRowCount(0)
        order = {k: i for i, k in enumerate(CONVERSATION_KINDS)}
        for (kind, channel), rule in sorted(config.rules.items(), key=lambda kv: (order[kv[0][0]], kv[0][1] != "*", kv[0][1])):
            self._append(kind, channel, rule)
        self.table.blockSignals(False)
        self.fraction.blockSignals(True)
        self.minimum.blockSignals(True)
        self.fraction.setValue(round(config.due_soon_fraction * 100))
        self.minimum.setValue(config.due_soon_min_minutes)
        self.low_fraction.blockSignals(True)
        self.low_fraction.setValue(round(config.low_rating_due_soon_fraction * 100))
        self.low_fraction.blockSignals(False)
        self.fraction.blockSignals(False)
        self.minimum.blockSignals(False)
        self.validate()

    def _append(self, kind: str, channel: str, rule: TargetRule, at: int | None = None) -> int:
        row = self.table.rowCount() if at is None else at
        self.table.insertRow(row)
        fixed = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        kind_item = QTableWidgetItem(KIND_TITLES[kind])
        kind_item.setData(Qt.ItemDataRole.UserRole, kind)
        kind_item.setFlags(fixed)
        channel_item = QTableWidgetItem("* (any channel)" if channel == "*" else icons.channel_label(channel))
        channel_item.setData(Qt.ItemDataRole.UserRole, channel)
        channel_item.setFlags(fixed)
        self.table.setItem(row, 0, kind_item)
        self.table.setItem(row, 1, channel_item)
        for col, minutes in ((2, rule.first_response_minutes), (3, rule.next_response_minutes)):
            self.table.setItem(row, col, QTableWidgetItem(format_minutes(minutes)))
        check = QTableWidgetItem("count opening hours only")
        check.setFlags(fixed | Qt.ItemFlag.ItemIsUserCheckable)
        check.setCheckState(Qt.CheckState.Checked if rule.business_hours else Qt.CheckState.Unchecked)
        self.table.setItem(row, BUSINESS_HOURS_COLUMN, check)
        return row

    def _key(self, row: int) -> tuple[str, str]:
        return (self.table.item(row, 0).data(Qt.ItemDataRole.UserRole), self.table.item(row, 1).data(Qt.ItemDataRole.UserRole))

    def add_rule(self) -> None:
        kind = self.new_kind.currentData()
        channel = self.new_channel.currentText().strip().lower()
        keys = [self._key(r) for r in range(self.table.rowCount())]
        if (kind, channel) in keys:
            self.table.selectRow(keys.index((kind, channel)))
            return
        base_row = keys.index((kind, "*"))
        base = self._rule_at(base_row)[0] or TargetConfig.default().rules[(kind, "*")]
        last = max(r for r, k in enumerate(keys) if k[0] == kind)
        self.table.blockSignals(True)
        row = self._append(kind, channel, base, at=last + 1)
        self.table.blockSignals(False)
        self.table.setCurrentCell(row, 2)
        self.validate()

    def remove_rule(self) -> None:
        row = self.table.currentRow()
        if row < 0:
            return
        if self._key(row)[1] == "*":
            self.errors.setText("The “*” rule of each kind stays: it covers every channel without its own rule.")
            self.errors.show()
            return
        self.table.removeRow(row)
        self.validate()

    def reset_defaults(self) -> None:
        self.load(TargetConfig.default())

    # --- validation and save ------------------------------------------------------------------------

    def _rule_at(self, row: int) -> tuple[TargetRule | None, list[str]]:
        kind, channel = self._key(row)
        where = f"{KIND_TITLES[kind]} on {'any channel' if channel == '*' else icons.channel_label(channel)}"
        problems = []
        values = []
        for col in (2, 3):
            try:
                values.append(parse_minutes(self.table.item(row, col).text(), f"{where}, {COLUMNS[col].lower()}"))
            except DurationError as exc:
                problems.append(str(exc))
        if problems:
            return None, problems
        business = self.table.item(row, BUSINESS_HOURS_COLUMN).checkState() == Qt.CheckState.Checked
        return TargetRule(values[0], values[1], business), []

    def build(self) -> tuple[TargetConfig | None, list[str]]:
        rules, problems = {}, []
        for row in range(self.table.rowCount()):
            rule, row_problems = self._rule_at(row)
            problems.extend(row_problems)
            if rule is not None:
                rules[self._key(row)] = rule
        if problems:
            return None, problems
        try:
            return TargetConfig(rules, self.fraction.value() / 100, self.minimum.value(),
                                self.low_fraction.value() / 100), []
        except TargetConfigError as exc:
            return None, [str(exc)]

    def validate(self, *_args) -> bool:
        config, problems = self.build()
        self.errors.setText("\n".join(problems[:4]) + (f"\n… and {len(problems) - 4} more" if len(problems) > 4 else ""))
        self.errors.setVisible(bool(problems))
        self.save_button.setEnabled(config is not None)
        return config is not None

    def save(self) -> None:
        config, _problems = self.build()
        if config is None:
            self.validate()
            return
        self.save_button.setEnabled(False)
        self.feature.save_settings({"targets.config": config.to_json()}, self._saved, self._save_failed)

    def _saved(self) -> None:
        self.accept()

    def _save_failed(self, exc: Exception) -> None:
        self.errors.setText(f"Could not save: {exc}")
        self.errors.show()
        self.save_button.setEnabled(True)

