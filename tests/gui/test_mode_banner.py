"""Away and Paused at a glance (issue 17 item 8): a banner in the window with a keyboard-reachable
button that ends it, and a tray icon variant; the banner is readable in a light and a dark palette."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from socialdesk.core import automation
from socialdesk.ui import icons
from tests.gui.test_dark_mode import dark_palette, text_contrasts


def _idle(qtbot, win) -> None:
    qtbot.waitUntil(lambda: win.tasks.pending() == 0, timeout=5000)


def _press(qtbot, button) -> None:
    """Reach the button with the keyboard (it takes focus from Tab) and press it with Space."""
    assert button.focusPolicy() & Qt.FocusPolicy.TabFocus
    button.setFocus()
    qtbot.waitUntil(button.hasFocus, timeout=2000)
    qtbot.keyClick(button, Qt.Key.Key_Space)


def test_away_shows_a_banner_and_the_tray_badge_and_end_away_ends_it(qtbot, window, demo_core):
    banner = window.mode_banner
    assert not banner.isVisible() and window.tray.mode == ""
    demo_core.owner.go_away(None, "On holiday")  # as the "Away now…" dialog does
    qtbot.waitUntil(lambda: banner.isVisible() and window.tray.mode == "away", timeout=5000)
    assert banner.label.text().startswith("Away") and banner.end_away.isVisible()
    assert not banner.resume.isVisible()
    assert "Away" in window.tray.toolTip()

    _press(qtbot, banner.end_away)
    qtbot.waitUntil(lambda: not banner.isVisible() and window.tray.mode == "", timeout=5000)
    assert demo_core.policy().schedule.away_at(demo_core.clock.now()) is None


def test_paused_shows_a_banner_and_resume_resumes_through_the_pause_action(qtbot, window, demo_core):
    banner = window.mode_banner
    window.actions["pause_automation"].trigger()  # the window's own switch (Tools menu, tray)
    qtbot.waitUntil(lambda: banner.isVisible() and window.tray.mode == "paused", timeout=5000)
    assert automation.is_paused(demo_core.settings)
    assert banner.resume.isVisible() and not banner.end_away.isVisible()
    assert "paused" in banner.label.text()

    _press(qtbot, banner.resume)
    qtbot.waitUntil(lambda: not banner.isVisible() and window.tray.mode == "", timeout=5000)
    assert not automation.is_paused(demo_core.settings)
    assert not window.actions["pause_automation"].isChecked()


@pytest.mark.parametrize("mode", ["light", "dark"])
def test_the_banner_is_readable_in_both_palettes(qtbot, window, demo_core, mode):
    app = QApplication.instance()
    light = app.style().standardPalette()
    try:
        demo_core.owner.go_away(None, None)
        demo_core.owner.set_paused(True)
        qtbot.waitUntil(lambda: window.mode_banner.isVisible(), timeout=5000)
        app.setPalette(dark_palette() if mode == "dark" else light)  # switched live
        window.resize(1024, 640)
        qtbot.wait(50)
        label = window.mode_banner.label
        area = QRect(label.mapTo(window, QPoint(0, 0)), label.size())
        image = window.grab(area).toImage()
        tiles = text_contrasts(image, image.rect())
        assert len(tiles) >= 5 and min(tiles)[0] >= 4.5, (mode, min(tiles))
    finally:
        app.setPalette(light)


def _pixels(icon, size: int) -> QImage:
    return icon.pixmap(size, size).toImage()


def test_the_tray_icon_has_an_away_and_a_paused_variant(qapp):
    for size in (16, 32):
        plain, away, paused = (_pixels(icons.tray_icon(3, False, mode), size) for mode in ("", "away", "paused"))
        assert plain != away and plain != paused and away != paused
        # The badge sits in the bottom-right corner; the count's bubble keeps the rest.
        corner = (size * 3 // 4, size * 3 // 4)
        assert away.pixelColor(*corner) != plain.pixelColor(*corner) or paused.pixelColor(*corner) != plain.pixelColor(
            *corner)
    assert _pixels(icons.tray_icon(0, False, "away"), 32) != _pixels(icons.tray_icon(0, False), 32)
