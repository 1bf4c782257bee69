"""Hours editor, Away now, Pause automation, Response targets, Activity view and Today panel on the demo profile."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox, QMessageBox, QPushButton

from socialdesk.core import automation, outbox
from socialdesk.core.hours import Schedule
from socialdesk.core.store import Conversation, Outbox
from socialdesk.core.targets import TargetConfig
from socialdesk.ui.settings_feature import SettingsFeature


def _feature(win) -> SettingsFeature:
    return next(f for f in win.features if isinstance(f, SettingsFeature))


def _idle(qtbot, win) -> None:
    qtbot.waitUntil(lambda: win.tasks.pending() == 0, timeout=5000)


def _open_hours(qtbot, win):
    feature = _feature(win)
    win.actions["hours_editor"].trigger()
    qtbot.waitUntil(lambda: feature.hours_dialog is not None and feature.hours_dialog.isVisible(), timeout=5000)
    return feature.hours_dialog


def test_hours_editor_saves_week_and_updates_state_label(qtbot, window, demo_core):
    dialog = _open_hours(qtbot, window)
    assert dialog.day_edits[0].text() == "07:00-18:00"  # the demo bakery's Monday (app.DEMO_WEEK) was loaded
    for day, edit in enumerate(dialog.day_edits):
        edit.clear()
        if day < 5:
            qtbot.keyClicks(edit, "08:00-12:00, 13:00-17:30")
    qtbot.keyClicks(dialog.holiday_country, "de")
    assert dialog.save_button.isEnabled(), dialog.errors.text()
    assert dialog.week_summary.text() == "mon-fri 08:00-12:00,13:00-17:30"
    window.hours_label.setText("(stale)")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=5000)
    _idle(qtbot, window)
    stored = Schedule.from_json(demo_core.settings.get("hours.schedule"))
    assert sorted(stored.week) == [0, 1, 2, 3, 4]
    assert [(a.strftime("%H:%M"), b.strftime("%H:%M")) for a, b in stored.week[0]] == [("08:00", "12:00"), ("13:00", "17:30")]
    assert stored.holidays_country == "DE"
    assert demo_core.policy().schedule.week == stored.week  # the cached policy was dropped
    qtbot.waitUntil(lambda: window.hours_label.text() != "(stale)", timeout=5000)
    assert window.hours_label.text() == stored.state_label(demo_core.clock.now())


def test_post_preview_shows_unsaved_text_as_typed(qtbot, window, demo_core):
    """The next 7 days of automatic posts, with the text being edited: nothing is saved for it."""
    before = demo_core.settings.get("automation.config")
    dialog = _open_hours(qtbot, window)
    assert dialog.post_account.currentData() is not None, "the demo has an account that can publish posts"
    dialog.post_enabled.setChecked(True)
    dialog.post_texts["opening"].clear()
    qtbot.keyClicks(dialog.post_texts["opening"], "Ovens are hot at {business}")
    items = lambda: [dialog.preview.item(i).text() for i in range(dialog.preview.count())]  # noqa: E731
    qtbot.waitUntil(lambda: any("Ovens are hot at Juniper & Rye" in t for t in items()), timeout=5000)
    assert demo_core.settings.get("automation.config") == before
    dialog.reject()


def test_invalid_window_text_shows_error_and_saves_nothing(qtbot, window, demo_core):
    before = demo_core.settings.get("hours.schedule")
    dialog = _open_hours(qtbot, window)
    dialog.day_edits[2].clear()
    qtbot.keyClicks(dialog.day_edits[2], "9-5")
    assert dialog.errors.isVisible()
    assert "Wednesday" in dialog.errors.text() and "'9' is not a time like 09:00" in dialog.errors.text()
    assert not dialog.save_button.isEnabled()
    dialog.save()  # refused even if called directly
    _idle(qtbot, window)
    assert dialog.isVisible()
    assert demo_core.settings.get("hours.schedule") == before
    # an unknown timezone and a bad auto-reply placeholder are caught the same way
    dialog.day_edits[2].setText("09:00-17:00")
    dialog.timezone.setCurrentText("Mars/Olympus")
    assert "unknown timezone" in dialog.errors.text() and not dialog.save_button.isEnabled()
    dialog.timezone.setCurrentText("Europe/Berlin")
    dialog.default_reply.setPlainText("Hi {frist_name}")
    assert "auto-reply" in dialog.errors.text().lower() and not dialog.save_button.isEnabled()
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert not dialog.isVisible()
    _idle(qtbot, window)
    assert demo_core.settings.get("hours.schedule") == before


def test_away_now_adds_away_period_and_label_says_away(qtbot, window, demo_core):
    feature = _feature(window)
    assert window.actions["away_now"] in window.tray.menu.actions()
    window.actions["away_now"].trigger()
    qtbot.waitUntil(lambda: feature.away_dialog is not None and feature.away_dialog.isVisible(), timeout=5000)
    dialog = feature.away_dialog
    assert not dialog.open_end.isChecked()  # default: back in a day
    qtbot.keyClicks(dialog.message, "Back on Monday, {first_name|friend}!")
    dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok).click()
    qtbot.waitUntil(lambda: window.hours_label.text().startswith("Away"), timeout=5000)
    _idle(qtbot, window)
    stored = Schedule.from_json(demo_core.settings.get("hours.schedule"))
    assert len(stored.away) == 1
    assert stored.away[0].end is not None and stored.away[0].message == "Back on Monday, {first_name|friend}!"
    assert stored.away_at(demo_core.clock.now()) is not None
    # a second "Away now…" offers "I'm back", which ends it
    window.actions["away_now"].trigger()
    qtbot.waitUntil(lambda: feature.away_dialog is not dialog and feature.away_dialog.isVisible(), timeout=5000)
    feature.away_dialog.findChild(QPushButton, "away_back").click()
    qtbot.waitUntil(lambda: not window.hours_label.text().startswith("Away"), timeout=5000)
    _idle(qtbot, window)
    assert Schedule.from_json(demo_core.settings.get("hours.schedule")).away_at(demo_core.clock.now()) is None


def test_away_message_with_bad_placeholder_is_refused(qtbot, window, demo_core):
    feature = _feature(window)
    before = demo_core.settings.get("hours.schedule")
    window.actions["away_now"].trigger()
    qtbot.waitUntil(lambda: feature.away_dialog is not None and feature.away_dialog.isVisible(), timeout=5000)
    qtbot.keyClicks(feature.away_dialog.message, "Back {sooon}")
    feature.away_dialog.go()
    assert feature.away_dialog.isVisible() and "Message:" in feature.away_dialog.error.text()
    _idle(qtbot, window)
    assert demo_core.settings.get("hours.schedule") == before


def test_pause_toggle_sets_setting_everywhere(qtbot, window, demo_core):
    feature = _feature(window)
    action = window.actions["pause_automation"]
    assert action.isCheckable() and action in window.tray.menu.actions()
    assert action in window.menus["Tools"].actions()
    action.trigger()
    qtbot.waitUntil(lambda: automation.is_paused(demo_core.settings), timeout=5000)
    assert action.isChecked()
    window.actions["activity"].trigger()
    qtbot.waitUntil(lambda: feature.activity_dialog is not None and feature.activity_dialog.isVisible(), timeout=5000)
    assert feature.activity_dialog.pause_button.isChecked()
    feature.activity_dialog.pause_button.click()  # one click resumes from the Activity view
    qtbot.waitUntil(lambda: not automation.is_paused(demo_core.settings), timeout=5000)
    assert not action.isChecked()
    _idle(qtbot, window)


def test_targets_page_saves_config_and_recomputes_due_times(qtbot, window, demo_core):
    feature = _feature(window)
    dm = Conversation.select().where(
        (Conversation.kind == "dm") & (Conversation.status == "open") & Conversation.awaiting_since.is_null(False)
    ).first()
    assert dm is not None and dm.target_minutes == 60
    window.actions["targets_page"].trigger()
    qtbot.waitUntil(lambda: feature.targets_dialog is not None and feature.targets_dialog.isVisible(), timeout=5000)
    dialog = feature.targets_dialog
    table = dialog.table
    row = next(r for r in range(table.rowCount()) if dialog._key(r) == ("dm", "*"))
    table.item(row, 2).setText("banana")
    assert not dialog.save_button.isEnabled()
    assert "Direct message on any channel, first response" in dialog.errors.text()
    table.item(row, 2).setText("1 h 30")
    assert dialog.save_button.isEnabled(), dialog.errors.text()
    # a channel-specific rule starts as a copy of the kind's "*" rule
    dialog.new_kind.setCurrentIndex(dialog.new_kind.findData("review"))
    dialog.new_channel.setCurrentText("google_reviews")
    dialog.add_rule()
    new_row = next(r for r in range(table.rowCount()) if dialog._key(r) == ("review", "google_reviews"))
    assert table.item(new_row, 2).text() == "1 d"
    table.item(new_row, 2).setText("4 h")
    table.item(new_row, 4).setCheckState(Qt.CheckState.Unchecked)
    dialog.fraction.setValue(10)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=5000)
    _idle(qtbot, window)
    config = TargetConfig.from_json(demo_core.settings.get("targets.config"))
    assert config.rule_for("dm", "instagram").first_response_minutes == 90
    review = config.rule_for("review", "google_reviews")
    assert review.first_response_minutes == 240 and review.business_hours is False
    assert config.due_soon_fraction == 0.1
    assert Conversation.get_by_id(dm.id).target_minutes == 90  # due times were recomputed


def test_targets_reset_to_defaults_and_cancel_keeps_stored(qtbot, window, demo_core):
    feature = _feature(window)
    window.actions["targets_page"].trigger()
    qtbot.waitUntil(lambda: feature.targets_dialog is not None and feature.targets_dialog.isVisible(), timeout=5000)
    dialog = feature.targets_dialog
    dialog.table.item(0, 2).setText("5 min")
    dialog.reset_defaults()
    assert dialog.table.item(0, 2).text() == "1 h"
    assert dialog.build()[0].to_json() == TargetConfig.default().to_json()
    dialog.table.setCurrentCell(0, 0)
    dialog.remove_rule()  # "*" rows stay
    assert dialog.table.rowCount() == 5 and "stays" in dialog.errors.text()
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert not dialog.isVisible()
    assert demo_core.settings.get("targets.config") is None


def test_activity_view_lists_auto_reply_and_resolves_unknown(qtbot, window, demo_core, monkeypatch):
    feature = _feature(window)
    conv = Conversation.select().where(Conversation.contact.is_null(False)).first()
    now = demo_core.clock.now()
    row = outbox.enqueue_automatic(
        demo_core.store, account_id=conv.account_id, purpose="auto_reply", text="We're closed <b>now</b>",
        idempotency_key="auto:test:1", reason="closed (Closed — opens Mon 09:00)", now=now,
        conversation_id=conv.id, contact_id=conv.contact_id,
    )
    with demo_core.store.write():
        Outbox.update(state="unknown", last_error="connection lost after sending").where(Outbox.id == row.id).execute()
    window.actions["activity"].trigger()
    qtbot.waitUntil(lambda: feature.activity_dialog is not None and feature.activity_dialog.table.rowCount() >= 1,
                    timeout=5000)
    dialog = feature.activity_dialog
    table = dialog.table
    r = next(i for i, e in enumerate(dialog.entries) if e.outbox_id == row.id)
    assert table.item(r, 1).text() == "Auto-reply"
    assert table.item(r, 4).text() == "closed (Closed — opens Mon 09:00)"
    assert table.item(r, 5).text() == "unknown"
    assert "&lt;b&gt;" in table.item(r, 1).toolTip()  # customer-facing text is escaped in tooltips
    assert not dialog.mark_sent.isEnabled()
    table.selectRow(r)
    assert dialog.mark_sent.isEnabled() and dialog.send_again.isEnabled()
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.No)
    dialog.send_again.click()
    _idle(qtbot, window)
    assert Outbox.get_by_id(row.id).state == "unknown"  # declined: nothing changed
    dialog.mark_sent.click()
    qtbot.waitUntil(lambda: Outbox.get_by_id(row.id).state == "sent", timeout=5000)
    qtbot.waitUntil(lambda: any(e.outbox_id == row.id and e.result == "sent" for e in dialog.entries), timeout=5000)
    _idle(qtbot, window)


def test_today_panel_counts_a_reply(qtbot, window, demo_core):
    feature = _feature(window)
    window.actions["today"].trigger()
    qtbot.waitUntil(lambda: feature.today_dialog is not None and feature.today_dialog.summary is not None, timeout=5000)
    dialog = feature.today_dialog
    before = int(dialog.values["answered_today"].text())
    conv_id = window.current_id
    outbox.enqueue_reply(demo_core.store, conv_id, "Thanks, see you tomorrow!", demo_core.policy(), demo_core.clock.now())
    dialog.summary = None
    dialog.refresh()
    qtbot.waitUntil(lambda: dialog.summary is not None, timeout=5000)
    assert dialog.values["answered_today"].text() == str(before + 1)
    assert dialog.values["personal_today"].text() == str(dialog.summary.personal_today) != "0"
    assert dialog.table.rowCount() == len(dialog.summary.week.channels) > 0
    assert dialog.title.text().startswith("Today, ")
    _idle(qtbot, window)
