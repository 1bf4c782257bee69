"""The coverage panel (ui/coverage_dialog.py): reachable from the keyboard, lists every account with what
happens while socialdesk is closed, and reads in a light and a dark palette."""

from __future__ import annotations

from datetime import timedelta

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from socialdesk.core import server_replies
from socialdesk.core.settings import Settings
from socialdesk.core.store import Account
from socialdesk.ui.settings_feature import SettingsFeature


def _feature(win) -> SettingsFeature:
    return next(f for f in win.features if isinstance(f, SettingsFeature))


def _dark() -> QPalette:
    p = QPalette()
    for role, value in {
        QPalette.ColorRole.Window: "#353535", QPalette.ColorRole.WindowText: "#f0f0f0",
        QPalette.ColorRole.Base: "#2a2a2a", QPalette.ColorRole.AlternateBase: "#323232",
        QPalette.ColorRole.Text: "#e8e8e8", QPalette.ColorRole.Button: "#353535",
        QPalette.ColorRole.ButtonText: "#f0f0f0", QPalette.ColorRole.Highlight: "#2a82da",
        QPalette.ColorRole.HighlightedText: "#ffffff",
    }.items():
        p.setColor(role, QColor(value))
    return p


def _luminance(colour: QColor) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(colour.redF()) + 0.7152 * channel(colour.greenF()) + 0.0722 * channel(colour.blueF())


def _ink_contrast(widget) -> float:
    """The contrast between a widget's most common colour (its background) and its strongest ink."""
    image = widget.grab().toImage()
    counts: dict[int, int] = {}
    for y in range(0, image.height(), 2):
        for x in range(0, image.width(), 2):
            counts[image.pixel(x, y)] = counts.get(image.pixel(x, y), 0) + 1
    background = QColor(max(counts, key=counts.get))
    best = 1.0
    for rgb in counts:
        a, b = sorted((_luminance(QColor(rgb)), _luminance(background)))
        best = max(best, (b + 0.05) / (a + 0.05))
    return best


@pytest.mark.parametrize("mode", ["light", "dark"])
def test_coverage_panel_from_the_keyboard_in_either_palette(qtbot, window, demo_core, mode, tmp_path):
    app = QApplication.instance()
    before = app.palette()
    now = demo_core.clock.now()
    with demo_core.store.write():
        mail = Account.create(kind="email", name="shop@example.com", created_at=now,
                              settings={"address": "shop@example.com", "imap_host": "mail.example.com"})
    # What a successful push to the mail server leaves (tests/unit/test_server_replies.py does the push).
    server_replies._save(demo_core.store, Settings(demo_core.store), mail.id, server_replies.ServerState(
        pushed_at=now, since=now, covered_until=now + timedelta(days=42), fingerprint="x"))
    if mode == "dark":
        app.setPalette(_dark())
    try:
        feature = _feature(window)
        qtbot.keyClick(window, Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
        qtbot.waitUntil(lambda: feature.coverage_dialog is not None
                        and feature.coverage_dialog.table.rowCount() >= 5, timeout=5000)
        dialog = feature.coverage_dialog
        qtbot.waitExposed(dialog)
        lines = dialog.summary.text().splitlines()
        assert lines[0].startswith("Email (shop@example.com): off-hours replies by your mail server until ")
        # The demo's simulated channels (more as platforms are added), grouped by platform, in one line.
        names, says = lines[1].split(": ", 1)
        assert {"Email", "Mastodon", "Bluesky", "Telegram"} <= set(names.split(", "))
        assert says == ("no automatic reply while socialdesk is closed — keep it running, or run `socialdesk sync` "
                        "on an always-on machine")
        table = dialog.table
        cells = [[table.item(r, c).text() for c in range(table.columnCount())] for r in range(table.rowCount())]
        assert ["shop@example.com", "Auto-replies", "Kept by the server"] == cells[-1][:3]
        assert cells[-1][4].startswith("off-hours replies by your mail server until ") and cells[-1][3]
        # The demo accounts that can post have status posts on (the demo's closing post).
        # What nothing keeps is said once per row, in the third column; the details are the row's own
        # (they repeated "no automatic reply while socialdesk is closed" on every row).
        assert all(row[2:4] == ["Not kept: only while it runs", ""] for row in cells[:-1])
        own = {"Auto-replies": "Last 7 days: ", "Status posts": "Next: "}
        assert all(row[4].startswith(own[row[1]]) for row in cells[:-1]), cells
        assert not any("while socialdesk is closed" in row[4] for row in cells)
        assert all(table.columnViewportPosition(4) + table.horizontalHeader().sectionSize(4) <= 1024
                   and table.fontMetrics().horizontalAdvance(row[4]) < table.horizontalHeader().sectionSize(4)
                   for row in cells), "details cut off at 1024 px"
        dialog.grab().save(str(tmp_path / f"coverage_{mode}.png"))
        assert _ink_contrast(dialog.summary) >= 4.5 and _ink_contrast(table.viewport()) >= 4.5
    finally:
        app.setPalette(before)
        if feature.coverage_dialog is not None:
            feature.coverage_dialog.close()
