"""The Today panel's charts (issue 17 item 13): loaded in the background from core/trends, reachable from the
keyboard, described with their numbers, and readable in a light and a dark palette switched live."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtWidgets import QApplication

from socialdesk.core import trends
from socialdesk.ui import theme
from tests.gui.test_dark_mode import TILE_H, TILE_W, _hex, dark_palette, text_contrasts


def worst_ink(image, area: QRect | None = None) -> tuple[int, tuple[float, int, int]]:
    """(tiles with ink, the worst tile) like test_dark_mode.text_contrasts, but a tile's ink is looked for
    half a tile around it too: a tile that catches only the antialiased edge of a glyph or a bar (their
    stems lie in the next tile) is not low contrast."""
    area = area or image.rect()
    tiles = text_contrasts(image, area)
    worst = (99.0, 0, 0)
    for ink, left, top in tiles:
        if ink >= 4.5:
            worst = min(worst, (ink, left, top))
            continue
        background = Counter(_hex(image, x, y) for y in range(top, top + TILE_H)
                             for x in range(left, left + TILE_W)).most_common(1)[0][0]
        xs = range(max(area.left(), left - TILE_W // 2), min(area.right(), left + TILE_W + TILE_W // 2))
        ys = range(max(area.top(), top - TILE_H // 2), min(area.bottom(), top + TILE_H + TILE_H // 2))
        ink = max(theme.contrast(_hex(image, x, y), background) for y in ys for x in xs)
        worst = min(worst, (round(ink, 2), left, top))
    return len(tiles), worst


def _open_today(qtbot, window):
    window.table.setFocus()
    qtbot.keyClick(window, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)  # as before: Ctrl+T
    feature = next(f for f in window.features if type(f).__name__ == "SettingsFeature")
    qtbot.waitUntil(lambda: feature.today_dialog is not None and feature.today_dialog.charts is not None, timeout=8000)
    return feature.today_dialog


def sample_charts() -> trends.Charts:
    """Every kind of mark: bars within and over target, a gap, a capped bar, open hours, share bars."""
    today = date(2026, 11, 20)
    days = [trends.DayResponse(today - timedelta(days=29 - i), None if i % 7 == 5 else 600 + 400 * (i % 9), 3)
            for i in range(30)]
    days[10].median_s = 50_000
    counts = [[(h * 7 + d) % 4 if 8 <= h <= 18 else (6 if 19 <= h <= 20 else 0) for h in range(24)] for d in range(7)]
    open_minutes = [[60 if d < 5 and 9 <= h < 17 else 0 for h in range(24)] for d in range(7)]
    week = trends.WeekArrivals(counts, open_minutes, 300, 120, (19, 21), 84,
                               trends.arrival_sentence(300, 120, (19, 21), 84, 28))
    shares = [trends.ChannelShare("email", 30, 27, 90.0), trends.ChannelShare("telegram", 10, 4, 40.0)]
    return trends.Charts(trends.ResponseTrend(days, 3600, True, 80, 95), week, shares)


def test_charts_show_what_core_computed_with_accessible_numbers(qtbot, window, demo_core):
    dialog = _open_today(qtbot, window)
    policy = demo_core.policy()
    expected = trends.week_arrivals(demo_core.clock.now(), policy.schedule)
    assert dialog.charts.week.counts == expected.counts and dialog.charts.week.total == expected.total > 0
    assert dialog.arrival_sentence.text().startswith(expected.sentence)
    described = dialog.week_chart.accessibleDescription()
    assert expected.sentence in described and f"{expected.total} messages" in described
    assert dialog.trend_chart.accessibleName() == "First response per day (median)"
    assert "Target 1 h" in dialog.trend_chart.accessibleDescription()
    # Channel names come through the traits: the description names the channel as the owner knows it.
    dialog.share_chart.set_data(sample_charts().shares)
    assert dialog.share_chart.accessibleDescription() == "Last 30 days: Email 90 % (27 of 30); Telegram 40 % (4 of 10)."
    # Keyboard: Tab from the tabs reaches each chart (its description is what a screen reader reads there).
    dialog.tabs.tabBar().setFocus()
    reached = set()
    for _ in range(12):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        reached.add(QApplication.focusWidget())
    assert {dialog.trend_chart, dialog.share_chart, dialog.week_chart} <= reached
    dialog.close()


@pytest.mark.parametrize("size", [(1024, 640), (1600, 1000)])
@pytest.mark.parametrize("mode", ["light", "dark"])
def test_charts_are_readable_in_both_palettes(qtbot, window, mode, size):
    app = QApplication.instance()
    light = app.style().standardPalette()
    try:
        dialog = _open_today(qtbot, window)
        dialog._charts_loaded((dialog.generation, sample_charts()))
        dialog.resize(*size)
        app.setPalette(dark_palette() if mode == "dark" else light)  # switched live, the panel open
        qtbot.wait(50)
        assert theme.is_dark(dialog.week_chart.palette()) == (mode == "dark")
        for chart in (dialog.trend_chart, dialog.share_chart, dialog.week_chart):
            assert chart.height() >= chart.minimumHeight() and chart.isVisible(), chart.objectName()
            count, worst = worst_ink(chart.grab().toImage())
            assert count >= 10, f"{chart.objectName()} ({mode}): nothing drawn"
            assert worst[0] >= 4.5, f"{chart.objectName()} ({mode}) at {worst[1]},{worst[2]}: {worst[0]}:1"
        # The title, the numbers and the sentence (labels painted over the dialog's own background).
        for label in (dialog.title, dialog.arrival_sentence):
            area = QRect(label.mapTo(dialog, QPoint(0, 0)), label.size()).adjusted(0, -4, 0, 4)
            count, worst = worst_ink(dialog.grab(area).toImage())
            assert count and worst[0] >= 4.5, f"{label.objectName() or 'title'} ({mode}): {worst}"
        dialog.close()
    finally:
        app.setPalette(light)


def test_chart_colours_stand_out_from_what_they_are_drawn_on():
    """Bars and marks are graphics: 3:1 against the base and the open-hours band (WCAG 1.4.11), both palettes."""
    marks = [theme.CHART_BAR, theme.STATE["ok"], theme.STATE["overdue"]]
    for pair in marks:
        for surface in ("#ffffff", theme.CHART_OPEN.light):
            assert theme.contrast(pair.light, surface) >= 3, (pair, surface)
        for surface in ("#2a2a2a", theme.CHART_OPEN.dark):
            assert theme.contrast(pair.dark, surface) >= 3, (pair, surface)
