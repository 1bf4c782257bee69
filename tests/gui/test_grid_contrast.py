"""A table's grid lines are visible in both palettes: what tells its rows and cells apart reaches 3:1 against
the cells around it (WCAG 1.4.11, non-text contrast), as rendered (ui/indicators.py, theme.GRID_LINE).

Every table of the app that shows a grid is opened with rows in it, in the light palette; the palette is
switched live, to dark and back, as when the desktop switches. In each, the line under a row and the line
right of a column are read where they cross no other line: the line's colour is the most common colour of
its pixels, the surface's the most common colour of the pixels 2 px either side of it. Before the fix,
Fusion drew the grid in the window colour darker by 120 %: #2c2c2c on the dark palette's #2a2a2a base
(1.0:1, no grid to be seen) and #c7c7c7 on the light one's white (1.7:1).
"""

from __future__ import annotations

from collections import Counter

from PySide6.QtCore import QModelIndex
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication, QTableView

from socialdesk.core import outbox
from socialdesk.core.store import Conversation
from socialdesk.ui import theme
from socialdesk.ui.settings_feature import SettingsFeature
from tests.gui.test_dark_mode import dark_palette


def _hex(image: QImage, x: int, y: int) -> str:
    return QColor(image.pixel(x, y)).name()


def grid_contrasts(table: QTableView) -> list[tuple[float, str, str, str]]:
    """(contrast, which line, line colour, surface colour) of the line under the first row (across the first
    column) and right of the first column (across the first row), in the viewport."""
    image = table.viewport().grab().toImage()
    left, width = table.columnViewportPosition(0), table.columnWidth(0)
    top, height = table.rowViewportPosition(0), table.rowHeight(0)
    right, bottom = left + width - 1, top + height - 1  # QTableView draws a cell's grid on its right and bottom
    lines = {
        "under the first row": ([(x, bottom) for x in range(left + 2, right - 2)],
                                [(x, y) for x in range(left + 2, right - 2) for y in (bottom - 2, bottom + 2)]),
        "right of the first column": ([(right, y) for y in range(top + 2, bottom - 2)],
                                      [(x, y) for y in range(top + 2, bottom - 2) for x in (right - 2, right + 2)]),
    }
    found = []
    for which, (line, around) in lines.items():
        ink = Counter(_hex(image, x, y) for x, y in line).most_common(1)[0][0]
        surface = Counter(_hex(image, x, y) for x, y in around).most_common(1)[0][0]
        found.append((round(theme.contrast(ink, surface), 2), which, ink, surface))
    return found


def _open_grid_tables(qtbot, window, demo_core) -> dict[str, QTableView]:
    """Every table of the app that shows a grid, open, with rows, on screen, by name."""
    feature = next(f for f in window.features if isinstance(f, SettingsFeature))
    # An automatic message, so the Activity view has a row to show.
    conv = Conversation.select().where(Conversation.contact.is_null(False)).first()
    outbox.enqueue_automatic(
        demo_core.store, account_id=conv.account_id, purpose="auto_reply", text="We're closed", now=demo_core.clock.now(),
        idempotency_key="auto:grid:1", reason="closed", conversation_id=conv.id, contact_id=conv.contact_id)
    window.actions["coverage"].trigger()
    window.actions["activity"].trigger()
    window.actions["today"].trigger()
    qtbot.waitUntil(lambda: all(d is not None and d.table.rowCount() > 0 for d in (
        feature.coverage_dialog, feature.activity_dialog, feature.today_dialog)), timeout=8000)
    feature.today_dialog.tabs.setCurrentWidget(feature.today_dialog.table)
    window.actions["targets_page"].trigger()
    qtbot.waitUntil(lambda: feature.targets_dialog is not None and feature.targets_dialog.table.rowCount() > 0,
                    timeout=5000)
    window.actions["hours_editor"].trigger()
    qtbot.waitUntil(lambda: feature.hours_dialog is not None and feature.hours_dialog.isVisible(), timeout=5000)
    hours = feature.hours_dialog
    if hours.channel_table.rowCount() == 0:
        hours._add_channel()
    hours.tabs.setCurrentIndex(2)  # Auto-replies
    tables = {"coverage": feature.coverage_dialog.table, "activity": feature.activity_dialog.table,
              "Today, per channel": feature.today_dialog.table, "targets": feature.targets_dialog.table,
              "hours, auto-replies": hours.channel_table}
    for table in tables.values():
        table.clearSelection()  # the selection's colour is the palette's: the grid is measured on plain cells
        table.setCurrentIndex(QModelIndex())
    # Every table with a grid in these dialogs is measured (a new one would be too).
    dialogs = [feature.coverage_dialog, feature.activity_dialog, feature.today_dialog, feature.targets_dialog, hours]
    gridded = {t for d in dialogs for t in d.findChildren(QTableView) if t.showGrid()}
    assert gridded == set(tables.values())
    return tables


def test_table_grid_lines_are_visible_in_both_palettes(qtbot, window, demo_core, tmp_path):
    app = QApplication.instance()
    light = app.style().standardPalette()
    app.setPalette(light)
    try:
        tables = _open_grid_tables(qtbot, window, demo_core)
        problems, measured = [], 0
        for mode, palette in (("dark", dark_palette()), ("light", light)):
            app.setPalette(palette)  # switched live, the dialogs open
            qtbot.wait(50)
            for name, table in tables.items():
                assert table.isVisible() and table.rowCount() > 0, name
                assert theme.is_dark(table.palette()) == (mode == "dark")
                table.viewport().grab().save(str(tmp_path / f"{name}_{mode}.png"))
                for contrast, which, ink, surface in grid_contrasts(table):
                    measured += 1
                    if contrast < 3.0:
                        problems.append(f"{name} ({mode}), line {which}: {ink} on {surface}, {contrast}:1")
        assert measured == 2 * 2 * len(tables)
        assert not problems, "; ".join(problems) + f" (needs 3:1; pictures in {tmp_path})"
    finally:
        app.setPalette(light)


def test_the_grid_line_pair_reaches_3_to_1_on_the_surfaces_it_meets():
    """Base, alternate base and window of Fusion's and the common desktop palettes of each brightness: Fusion,
    Adwaita, Breeze (as for theme.INDICATOR_EDGE)."""
    light_surfaces = ["#efefef", "#ffffff", "#f7f7f7", "#f6f5f4", "#fafafa", "#eff0f1", "#fcfcfc"]
    dark_surfaces = ["#353535", "#2a2a2a", "#323232", "#242424", "#303030", "#31363b", "#232629", "#1b1e20"]
    assert min(theme.contrast(theme.GRID_LINE.light, s) for s in light_surfaces) >= 3.0
    assert min(theme.contrast(theme.GRID_LINE.dark, s) for s in dark_surfaces) >= 3.0
