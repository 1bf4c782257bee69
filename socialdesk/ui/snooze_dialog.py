"""The custom snooze picker: a date and time read in the schedule's timezone, like the snooze choices
(core/owner_actions.snooze_choices), never in the computer's zone.

Decisions:
- The wall-clock value is read in the schedule's zone; Qt's own zone handling is bypassed.
- It proposes two hours from now and returns the chosen instant, or None when cancelled; whether the
  instant is still in the future is the window's check, at the moment the owner confirms.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from PySide6.QtCore import QDate, QDateTime, QTime
from PySide6.QtWidgets import QDateTimeEdit, QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

# How a moment to pick is shown (here and in the Away dialog): the weekday and an unambiguous date.
WHEN_FORMAT = "ddd yyyy-MM-dd HH:mm"


def snooze_dialog(parent: QWidget, zone_name: str, now: datetime) -> tuple[QDialog, QDateTimeEdit]:
    """The picker, not yet shown: a label naming the zone, the date and time, OK and Cancel."""
    zone = ZoneInfo(zone_name)
    dialog = QDialog(parent)
    dialog.setObjectName("snooze_dialog")
    dialog.setWindowTitle("Snooze")
    edit = QDateTimeEdit(dialog)
    edit.setObjectName("snooze_until")
    edit.setCalendarPopup(True)
    edit.setDisplayFormat(WHEN_FORMAT)  # the locale's short form read "1 12 2026 12:14"
    start = (now + timedelta(hours=2)).astimezone(zone)
    edit.setDateTime(QDateTime(QDate(start.year, start.month, start.day), QTime(start.hour, start.minute)))
    label = QLabel(f"Snooze until ({zone_name}):", dialog)
    label.setBuddy(edit)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, dialog)
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    layout = QVBoxLayout(dialog)
    layout.addWidget(label)
    layout.addWidget(edit)
    layout.addWidget(buttons)
    dialog.setMinimumWidth(320)
    return dialog, edit


def ask_snooze_until(parent: QWidget, zone_name: str, now: datetime) -> datetime | None:
    dialog, edit = snooze_dialog(parent, zone_name, now)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    # The wall-clock value read in the schedule's zone (Qt's own zone handling is bypassed).
    day, wall = edit.date().toPython(), edit.time().toPython()
    return datetime.combine(day, wall.replace(second=0, microsecond=0), tzinfo=ZoneInfo(zone_name))
