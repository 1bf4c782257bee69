"""The settings feature: business hours, response targets, away mode, pausing automation, Activity, Today,
and the coverage panel (what happens while socialdesk is closed, ui/coverage_dialog.py).

It owns the actions (menus, palette, tray) and the one save path these dialogs share; the dialogs
themselves live in hours_dialog.py, targets_page.py, activity_view.py and dashboard.py.

Decisions:
- Every read and write runs through `Tasks`: a dialog opens only after its data was loaded in the
  background, so the GUI thread never touches SQLite (not even through `core.policy()`).
- One save path (`save_settings`): core/owner_actions.OwnerActions.save_settings writes the values,
  recomputes every awaiting conversation's due time when hours or targets changed, and publishes the
  change; the window refreshes its rows and hours label from that notification (no reload here).
- Tools → "Start socialdesk when I log in (in the tray)" is a checkable action that writes or removes
  the platform's login entry (socialdesk/autostart.py, the same call as the first-run assistant's box)
  on a worker; its check mark is what is on disk.
- "Pause automation" is one checkable QAction shared by the Tools menu, the tray menu and the
  Activity view's toggle button, so they can never disagree.
- "Away now…" while already away changes the current away period (end, message) instead of stacking a
  second one, and away periods that ended more than 30 days ago are dropped: the same rules as the
  `socialdesk away on` command, so window and CLI agree.
- The Activity view refreshes on open, on its Refresh key, and on every change notification that can
  touch the automatic-message log (the window's `engine_changed`: new messages, sends, automation),
  while it is visible. No timer polls it.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from PySide6.QtCore import QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDialog

from socialdesk import autostart
from socialdesk.core import automation, queue
from socialdesk.core.changes import ChangeSet
from socialdesk.core.hours import Schedule
from socialdesk.core.store import Account
from socialdesk.ui.actions import ActionSpec, menu_text
from socialdesk.ui.first_run import START_AT_LOGIN

log = logging.getLogger(__name__)

def load_hours_data(core) -> dict[str, Any]:
    """Everything the hours editor shows (runs on a worker thread)."""
    schedule_json = core.settings.get("hours.schedule")
    schedule = Schedule.from_json(schedule_json) if schedule_json else Schedule.default()
    config_error = ""
    try:
        config = automation.load_config(core.settings)
    except automation.AutomationConfigError as exc:
        config, config_error = automation.AutomationConfig.default(), str(exc)
    accounts = [
        (a.id, a.name, queue.channel_of(a), automation.can_post(a))
        for a in Account.select().where(Account.enabled == True).order_by(Account.name)  # noqa: E712
    ]
    return {
        "schedule": schedule,
        "config": config,
        "config_error": config_error,
        "business_name": core.settings.get("business.name") or "",
        "my_name": core.settings.get("business.my_name") or "",
        "accounts": accounts,
        "now": core.clock.now(),
    }


class SettingsFeature:
    ACTIONS: tuple[ActionSpec, ...] = (
        ActionSpec("hours_editor", "Business hours…", "Tools", ("Ctrl+,",), "open_hours",
                   "Opening hours, holidays, away periods, auto-replies and status posts"),
        ActionSpec("targets_page", "Response targets…", "Tools", ("Ctrl+Shift+T",), "open_targets",
                   "How fast each kind of message should be answered"),
        ActionSpec("away_now", "Away now…", "Tools", ("Ctrl+Alt+A",), "away_now",
                   "Closed from now until you are back; customers get your away message"),
        ActionSpec("pause_automation", "Pause automation", "Tools", ("Ctrl+Alt+P",), "toggle_pause",
                   "Stop (or restart) every automatic reply and status post"),
        ActionSpec("start_at_login", START_AT_LOGIN.replace("&", ""), "Tools", (), "toggle_start_at_login",
                   "Start socialdesk hidden in the tray when you log in to this computer"),
        ActionSpec("activity", "Activity", "View", ("Ctrl+Shift+L",), "open_activity",
                   "Every automatic message: when, to whom, why, and what happened"),
        ActionSpec("today", "Today", "View", ("Ctrl+T",), "open_today",
                   "Today's answers, the last 7 days per channel, and charts of response times and arrivals"),
        ActionSpec("coverage", "While socialdesk is closed…", "View", ("Ctrl+Shift+W",), "open_coverage",
                   "Per account: what still happens while socialdesk is not running, and what does not"),
    )

    def __init__(self, core, tasks):
        self.core = core
        self.tasks = tasks
        self.window = None
        self.pause_action: QAction | None = None
        self.login_action: QAction | None = None
        self.hours_dialog = None
        self.targets_dialog = None
        self.activity_dialog = None
        self.today_dialog = None
        self.away_dialog = None
        self.coverage_dialog = None

    def attach(self, window) -> None:
        self.window = window
        self.pause_action = window.actions["pause_automation"]
        self.pause_action.setCheckable(True)
        # app.wire_window sets window.tray only after the window (and so attach) was built: add the
        # tray items once the event loop runs, when the tray, if any, is in place.
        QTimer.singleShot(0, window, self._add_tray_items)
        settings = self.core.settings
        self.tasks.run(lambda: automation.is_paused(settings), self._paused_loaded, self._failed)
        self.login_action = window.actions["start_at_login"]
        self.login_action.setCheckable(True)
        self.tasks.run(autostart.is_enabled, self.login_action.setChecked, self._failed)
        window.engine_changed.connect(self._changed)

    def _changed(self, change: ChangeSet) -> None:
        """A batched change notification: the Activity view follows it while it is shown."""
        dialog = self.activity_dialog
        if dialog is not None and dialog.isVisible() and change.touches_activity:
            dialog.refresh()
        if self.coverage_dialog is not None:
            self.coverage_dialog.follow(change)

    def _add_tray_items(self) -> None:
        tray = getattr(self.window, "tray", None)
        if tray is not None and self.pause_action not in tray.menu.actions():
            tray.add_menu_action(self.window.actions["away_now"])
            tray.add_menu_action(self.pause_action)

    # --- shared plumbing -----------------------------------------------------------------------------

    def _failed(self, exc: Exception) -> None:
        log.error("settings task failed: %s", exc, exc_info=exc)
        if self.window is not None:  # the status bar, not a modal box: a late failure must not block
            self.window.statusBar().showMessage(f"That did not work: {exc}", 10000)

    def save_settings(self, values: dict[str, Any], on_done: Callable[[], None] | None = None,
                      on_error: Callable[[Exception], None] | None = None) -> None:
        """Write settings through core (due times recomputed there); the window follows the notification."""
        owner = self.core.owner

        def done(warning: str) -> None:
            if warning and self.window is not None:
                self.window.statusBar().showMessage(warning, 15000)
            if on_done is not None:
                on_done()

        self.tasks.run(lambda: owner.save_settings(values), done, on_error or self._failed)

    # --- pause ---------------------------------------------------------------------------------------

    def _paused_loaded(self, paused: bool) -> None:
        self.show_paused(bool(paused))

    def show_paused(self, paused: bool) -> None:
        if self.pause_action is not None:
            self.pause_action.setChecked(paused)
            spec = next(s for s in self.ACTIONS if s.id == "pause_automation")
            self.pause_action.setText(menu_text(spec, "Automation paused (resume)" if paused else spec.title))
        if self.activity_dialog is not None:
            self.activity_dialog.show_paused(paused)

    def toggle_pause(self) -> None:
        # The action's check state already flipped when it was triggered from a menu or key.
        self.set_paused(self.pause_action.isChecked() if self.pause_action is not None else True)

    def set_paused(self, paused: bool) -> None:
        owner = self.core.owner
        self.show_paused(paused)

        def work():
            owner.set_paused(paused)
            return paused

        self.tasks.run(work, self._pause_saved, self._failed)

    def _pause_saved(self, paused: bool) -> None:
        if self.window is not None:
            self.window.statusBar().showMessage(
                "Automation paused: no automatic replies or posts." if paused else "Automation is on again.", 5000
            )

    # --- start at login -------------------------------------------------------------------------------

    def toggle_start_at_login(self) -> None:
        """Write or remove the login entry (socialdesk/autostart.py) off the GUI thread; the check mark
        follows what is on disk afterwards, also when the switch failed."""
        if self.login_action is None:
            return
        wanted = self.login_action.isChecked()  # already flipped by the menu or palette
        profile = self.core.profile.name

        def work() -> tuple[bool, str]:
            try:
                where = autostart.set_enabled(wanted, profile)
            except autostart.AutostartError as exc:
                return autostart.is_enabled(), f"Start at login was not changed: {exc}"
            return autostart.is_enabled(), (f"socialdesk starts in the tray when you log in ({where})." if wanted
                                            else "socialdesk no longer starts when you log in.")

        def done(result: tuple[bool, str]) -> None:
            if self.login_action is not None:
                self.login_action.setChecked(result[0])
            if self.window is not None:
                self.window.statusBar().showMessage(result[1], 8000)

        self.tasks.run(work, done, self._failed)

    # --- hours -----------------------------------------------------------------------------------------

    def open_hours(self) -> None:
        core = self.core
        self.tasks.run(lambda: load_hours_data(core), self._hours_loaded, self._failed)

    def _hours_loaded(self, data: dict[str, Any]) -> None:
        from socialdesk.ui.hours_dialog import HoursDialog

        if self.hours_dialog is not None:
            self.hours_dialog.close()
        self.hours_dialog = HoursDialog(self, data, self.window)
        self.hours_dialog.open()

    # --- away ------------------------------------------------------------------------------------------

    def away_now(self) -> None:
        core = self.core
        self.tasks.run(lambda: (core.policy().schedule.to_json(), core.clock.now()), self._away_loaded, self._failed)

    def _away_loaded(self, result) -> None:
        from socialdesk.ui.hours_dialog import AwayDialog

        schedule_json, now = result
        self.away_dialog = AwayDialog(Schedule.from_json(schedule_json), now, self.window)
        self.away_dialog.finished.connect(self._away_finished)
        self.away_dialog.open()

    def _away_finished(self, code: int) -> None:
        dialog = self.away_dialog
        if dialog is None or code != QDialog.DialogCode.Accepted:
            return
        owner, choice = self.core.owner, dialog.choice

        def work():
            now = owner.clock.now()
            if choice[0] == "back":
                schedule, _was_away, _warning = owner.come_back(now)
            else:
                schedule, _warning = owner.go_away(choice[1], choice[2], now)
            return schedule.state_label(now)

        self.tasks.run(work, self._away_saved, self._failed)

    def _away_saved(self, label: str) -> None:
        # The queue and the hours label follow the change notification.
        if self.window is not None:
            self.window.statusBar().showMessage(label, 5000)

    # --- targets, activity, today ------------------------------------------------------------------

    def open_targets(self) -> None:
        core = self.core

        def work():
            raw = core.settings.get("targets.config")
            channels = sorted({queue.channel_of(a) for a in Account.select()})
            return raw, channels

        self.tasks.run(work, self._targets_loaded, self._failed)

    def _targets_loaded(self, result) -> None:
        from socialdesk.ui.targets_page import TargetsDialog

        raw, channels = result
        if self.targets_dialog is not None:
            self.targets_dialog.close()
        self.targets_dialog = TargetsDialog(self, raw, channels, self.window)
        self.targets_dialog.open()

    def open_activity(self) -> None:
        from socialdesk.ui.activity_view import ActivityDialog

        if self.activity_dialog is None:
            self.activity_dialog = ActivityDialog(self, self.window)
        self.activity_dialog.show_paused(self.pause_action.isChecked() if self.pause_action else False)
        self.activity_dialog.show()
        self.activity_dialog.raise_()
        self.activity_dialog.activateWindow()
        self.activity_dialog.refresh()

    def open_coverage(self) -> None:
        from socialdesk.ui.coverage_dialog import CoverageDialog

        if self.coverage_dialog is None:
            self.coverage_dialog = CoverageDialog(self.core, self.tasks, self.window)
        self.coverage_dialog.show()
        self.coverage_dialog.raise_()
        self.coverage_dialog.activateWindow()
        self.coverage_dialog.refresh()

    def open_today(self) -> None:
        from socialdesk.ui.dashboard import TodayDialog

        if self.today_dialog is None:
            self.today_dialog = TodayDialog(self, self.window)
        self.today_dialog.show()
        self.today_dialog.raise_()
        self.today_dialog.activateWindow()
        self.today_dialog.refresh()
