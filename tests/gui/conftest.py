"""GUI fixtures: a demo profile opened through the real composition root, with the engine not running
(tests drive sync and sends explicitly, so nothing happens behind their back)."""

from __future__ import annotations

import gc

import pytest

from socialdesk import paths


@pytest.fixture
def demo_core():
    from socialdesk.app import build_core, seed_demo

    core = build_core(paths.profile("demo"))
    seed_demo(core)
    core.engine.run_once()
    yield core
    core.engine.stop()
    core.store.close()


@pytest.fixture
def window(qtbot, demo_core):
    from socialdesk.app import wire_window
    from socialdesk.ui.notifications import RecordingNotifier
    from socialdesk.ui.tray import Tray

    tray = Tray()
    notifier = RecordingNotifier()
    win, tasks, _relay = wire_window(demo_core, notifier=notifier, tray=tray, demo=True)
    win.recording = notifier
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    win.activateWindow()
    win.start()
    qtbot.waitUntil(lambda: win.model.rowCount() > 0 and win.current_id is not None, timeout=5000)
    yield win
    release_window(win, tasks)


@pytest.fixture
def fresh_window(qtbot, memory_keyring):
    """A new profile's window (no account, no demo), started and showing its first-start screen."""
    from socialdesk.app import build_core, wire_window
    from socialdesk.ui.notifications import RecordingNotifier

    core = build_core(paths.profile("fresh"))
    win, tasks, _relay = wire_window(core, notifier=RecordingNotifier(), tray=None, demo=False)
    try:
        qtbot.addWidget(win)
        win.show()
        win.start()
        qtbot.waitUntil(lambda: win.add_account_button.isVisible(), timeout=5000)
        yield core, win
    finally:
        tasks.wait(5000)
        core.close()


def release_window(win, tasks) -> None:
    """Close the window and let go of its SQLite connections (peewee keeps one per thread): its timers
    stop, its worker threads end, and what it froze for the garbage collector (MainWindow._view_loaded:
    gc.freeze) is collected. Without this every window test left ~29 file descriptors open, and a full
    run passed select()'s limit of 1024 (tests/fakes/notification_server.py failed)."""
    from PySide6.QtCore import QTimer

    win.quitting = True
    win.close()
    for timer in win.findChildren(QTimer):
        timer.stop()
    tasks.wait(5000)
    tasks.shutdown()
    gc.unfreeze()
    gc.collect()
