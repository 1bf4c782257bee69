"""Start at login from the window (issue 18 item 5): the first-run assistant's box and Tools → "Start
socialdesk when I log in (in the tray)" write and remove the XDG autostart entry, on a worker. HOME and
XDG_CONFIG_HOME point into tmp_path: nothing is written to the real session."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWizard

from socialdesk import DESKTOP_ID, autostart
from socialdesk.ui.first_run import FirstRunFeature, offer_first_run


@pytest.fixture
def entry(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path / "config" / "autostart" / f"{DESKTOP_ID}.desktop"


def _idle(qtbot, win) -> None:
    qtbot.waitUntil(lambda: win.tasks.pending() == 0, timeout=5000)


def test_first_run_box_writes_the_login_entry(qtbot, entry):
    from socialdesk import paths
    from socialdesk.app import build_core, wire_window

    core = build_core(paths.profile("default"))
    win, tasks, _relay = wire_window(core)
    qtbot.addWidget(win)
    try:
        win.show()
        win.start()
        feature = next(f for f in win.features if isinstance(f, FirstRunFeature))
        offer_first_run(win)
        qtbot.waitUntil(lambda: feature.wizard is not None and feature.wizard.isVisible(), timeout=5000)
        wizard = feature.wizard
        wizard.next()
        wizard.next()
        box = wizard.ready_page.start_at_login
        assert box.text().replace("&", "") == "Start socialdesk when I log in (in the tray)"
        assert not box.isChecked()  # off until the owner ticks it
        box.setChecked(True)
        wizard.ready_page.add_account.setChecked(False)
        qtbot.mouseClick(wizard.button(QWizard.WizardButton.FinishButton), Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not wizard.isVisible(), timeout=5000)
        _idle(qtbot, win)
        assert entry.is_file()
        assert autostart.target().read()[-1] == "--tray"
    finally:
        tasks.wait(5000)
        core.engine.stop()
        core.store.close()


def test_tools_action_switches_the_entry_and_shows_what_is_on_disk(qtbot, entry, window):
    _idle(qtbot, window)
    action = window.actions["start_at_login"]
    assert action.isCheckable() and not action.isChecked()
    action.trigger()  # checks it, then the worker writes the entry
    _idle(qtbot, window)
    assert entry.is_file() and action.isChecked()
    assert "starts in the tray when you log in" in window.statusBar().currentMessage()
    action.trigger()
    _idle(qtbot, window)
    assert not entry.exists() and not action.isChecked()


def test_tools_action_leaves_a_foreign_entry_alone_and_says_so(qtbot, entry, window):
    entry.parent.mkdir(parents=True)
    entry.write_text("[Desktop Entry]\nType=Application\nName=mine\nExec=/usr/bin/true\n")
    _idle(qtbot, window)
    action = window.actions["start_at_login"]
    action.trigger()
    _idle(qtbot, window)
    assert not action.isChecked()  # what is on disk: not ours, so not on
    assert "was not changed" in window.statusBar().currentMessage()
    assert "Name=mine" in entry.read_text()
