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
