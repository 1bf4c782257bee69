"""Waking up in the window (issue 18 item 4): a ChangeSet(woke=True) and showing the window again from
the tray make countdowns and deadline alerts right at once, and ask the engine to look at its clocks."""

from __future__ import annotations

from socialdesk.core.changes import ChangeSet


def test_woke_change_refreshes_countdowns_and_alerts_at_once(qtbot, window, monkeypatch):
    ticks: list[int] = []
    monkeypatch.setattr(window, "on_minute_tick", lambda: ticks.append(1))
    window.on_engine_change(ChangeSet(accounts={1}))
    assert ticks == []
    window.on_engine_change(ChangeSet(woke=True))
    assert ticks == [1]


def test_showing_the_window_again_refreshes_and_pokes_the_engine(qtbot, window, monkeypatch):
    ticks: list[int] = []
    pokes: list[int] = []
    monkeypatch.setattr(window, "on_minute_tick", lambda: ticks.append(1))
    monkeypatch.setattr(window.core.engine, "poke", lambda: pokes.append(1))
    window.hide()
    window.show_window()
    qtbot.waitUntil(lambda: ticks == [1], timeout=5000)
    assert pokes == [1]


def _hours_dialog(qtbot, window):
    from socialdesk.ui.settings_feature import SettingsFeature

    feature = next(f for f in window.features if isinstance(f, SettingsFeature))
    window.actions["hours_editor"].trigger()
    qtbot.waitUntil(lambda: feature.hours_dialog is not None and feature.hours_dialog.isVisible(), timeout=5000)
    return feature.hours_dialog


def test_the_late_messages_setting_is_edited_and_kept_in_the_hours_editor(qtbot, window, demo_core):
    from PySide6.QtCore import Qt

    from socialdesk.core import automation

    dialog = _hours_dialog(qtbot, window)
    assert dialog.catch_up.currentData() == "still_closed"
    dialog.catch_up.setCurrentIndex(dialog.catch_up.findData("closed_now"))
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=5000)
    qtbot.waitUntil(lambda: window.tasks.pending() == 0, timeout=5000)
    assert automation.load_config(demo_core.settings).catch_up == "closed_now"
    assert _hours_dialog(qtbot, window).catch_up.currentData() == "closed_now"


def test_the_preview_marks_posts_the_platform_holds(qtbot, window, demo_core):
    from socialdesk.core import automation
    from socialdesk.core.states import OutboxPurpose, OutboxState, Via
    from socialdesk.core.store import Account, Outbox

    now = demo_core.clock.now()
    poster = next(a for a in Account.select() if automation.can_post(a))
    config = automation.load_config(demo_core.settings).with_status_posts(poster.id, True, now)
    automation.save_config(demo_core.settings, config)
    posts = automation.preview_status_posts(demo_core.settings, demo_core.policy().schedule, now)
    first = posts[0]
    with demo_core.store.write():
        Outbox.create(account=poster.id, purpose=OutboxPurpose.STATUS_POST, text=first.text, via=Via.STATUS,
                      idempotency_key=automation.status_key(poster.id, first.kind, first.when),
                      state=OutboxState.SCHEDULED, created_at=now, next_attempt_at=first.when, external_id="9")
    platform = automation.platform_schedule.platform_name(poster)
    dialog = _hours_dialog(qtbot, window)
    items = lambda: [dialog.preview.item(i).text() for i in range(dialog.preview.count())]  # noqa: E731
    qtbot.waitUntil(lambda: any(f"[scheduled on {platform}]" in t for t in items()), timeout=5000)
    assert sum(f"[scheduled on {platform}]" in t for t in items()) == 1  # only the one it holds
