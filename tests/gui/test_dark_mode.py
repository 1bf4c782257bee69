"""Dark mode is readable (issue 17 item 6): the thread, the queue and the Activity view's rows that need the
owner are grabbed in a light and a dark palette, and the contrast of the text actually rendered is measured,
WCAG AA (4.5:1) or better.

How the rendered text is measured: the picture is cut into small tiles; in each, the most common colour
is the background and the pixel that differs most from it is the text's ink (antialiasing only lightens
glyph edges, so a glyph's stem reaches the text colour). Tiles whose ink differs little (below 2:1) hold
no text, only a bubble's or a selection's edge. Every other tile must reach 4.5:1. Colour emoji are
pictures, not text: the window is rendered without font merging (glyphs a font lacks come out as boxes
in the text's colour), so a colour emoji font, as most desktops have, is not measured as ink. The palette is
switched while the window is open, as when the system switches, so a colour fixed at start fails too.
"""

from __future__ import annotations

from collections import Counter

import pytest
from PySide6.QtCore import QModelIndex, QPoint, QRect
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPalette
from PySide6.QtWidgets import QApplication

from socialdesk.core import outbox
from socialdesk.core.store import Conversation, Outbox
from socialdesk.ui import theme
from socialdesk.ui.queue_model import COLUMNS, StateRole
from socialdesk.ui.settings_feature import SettingsFeature

TILE_W, TILE_H = 24, 14


def dark_palette() -> QPalette:
    """The dark palette of a typical desktop (Fusion's dark variant: KDE Breeze Dark is alike)."""
    p = QPalette()
    roles = {
        QPalette.ColorRole.Window: "#353535", QPalette.ColorRole.WindowText: "#f0f0f0",
        QPalette.ColorRole.Base: "#2a2a2a", QPalette.ColorRole.AlternateBase: "#323232",
        QPalette.ColorRole.Text: "#e8e8e8", QPalette.ColorRole.Button: "#353535",
        QPalette.ColorRole.ButtonText: "#f0f0f0", QPalette.ColorRole.Highlight: "#2a82da",
        QPalette.ColorRole.HighlightedText: "#ffffff", QPalette.ColorRole.ToolTipBase: "#2a2a2a",
        QPalette.ColorRole.ToolTipText: "#f0f0f0", QPalette.ColorRole.PlaceholderText: "#a0a0a0",
        QPalette.ColorRole.Link: "#8ab4f8",
    }
    for role, value in roles.items():
        p.setColor(role, QColor(value))
    return p


def _hex(image: QImage, x: int, y: int) -> str:
    return QColor(image.pixel(x, y)).name()


def text_contrasts(image: QImage, area: QRect) -> list[tuple[float, int, int]]:
    """(contrast, x, y) of each tile of `area` that holds text.

    A tile under 4.5:1 has its ink looked for half a tile to its left and right too, on the same rows: a tile
    that catches only the antialiased edge of the last glyph of a line (its stems lie in the tile before) is
    not low contrast. Where a line ends depends on its text, and the thread's and the rows' texts hold the
    time of day: the thread's check failed when the demo started at 23:55 UTC ("… · Thu 03 Dec 20:55" ended
    one pixel past a tile's edge, 3.7:1) and passed at other hours."""
    found = []
    for top in range(area.top(), area.bottom() - TILE_H, TILE_H):
        for left in range(area.left(), area.right() - TILE_W, TILE_W):
            colours = Counter(_hex(image, x, y) for y in range(top, top + TILE_H) for x in range(left, left + TILE_W))
            background = colours.most_common(1)[0][0]
            ink = max(theme.contrast(colour, background) for colour in colours)
            if 2.0 <= ink < 4.5:
                xs = range(max(area.left(), left - TILE_W // 2), min(area.right(), left + TILE_W + TILE_W // 2))
                ink = max(theme.contrast(_hex(image, x, y), background) for y in range(top, top + TILE_H) for x in xs)
            if ink >= 2.0:
                found.append((round(ink, 2), left, top))
    return found


def test_a_tile_holding_only_the_edge_of_a_line_is_measured_with_the_line():
    """The edge of a 6.2:1 line one pixel into the next tile is not low-contrast text; a 2.9:1 line is."""
    def line(ink: str, edge: str) -> QImage:
        image = QImage(3 * TILE_W, 2 * TILE_H, QImage.Format.Format_RGB32)
        image.fill(QColor("#f1f1f1"))
        for y in range(3, 10):
            for x in range(4, TILE_W):
                image.setPixelColor(x, y, QColor(ink))
            image.setPixelColor(TILE_W, y, QColor(edge))  # the antialiased edge, in the next tile
        return image

    sharp = text_contrasts(line("#595959", "#9a9a9a"), QRect(0, 0, 3 * TILE_W, 2 * TILE_H))
    assert [tile[1] for tile in sharp] == [0, TILE_W] and min(sharp)[0] >= 4.5
    faint = text_contrasts(line("#8f8f8f", "#a8a8a8"), QRect(0, 0, 3 * TILE_W, 2 * TILE_H))
    assert [tile[1] for tile in faint] == [0, TILE_W] and max(faint)[0] < 4.5


def assert_readable(widget, area: QRect | None = None, *, name: str) -> None:
    image = widget.grab().toImage()
    tiles = text_contrasts(image, area or image.rect())
    assert len(tiles) >= 5, f"{name}: no text found to measure"
    worst = min(tiles)
    assert worst[0] >= 4.5, f"{name}: text at {worst[1]},{worst[2]} has contrast {worst[0]}:1 (needs 4.5:1)"


@pytest.fixture
def palettes():
    app = QApplication.instance()
    light = app.style().standardPalette()
    font = app.font()
    plain = QFont(font)
    plain.setStyleStrategy(QFont.StyleStrategy.NoFontMerging)  # no colour emoji (module docstring)
    app.setFont(plain)
    yield light, dark_palette()
    app.setPalette(light)
    app.setFont(font)
    # What the switch back queued (the window redraws its header's links at the next turn of the event loop)
    # runs now, while the test's window lives: at the next test's first wait it found the window deleted.
    app.processEvents()


@pytest.mark.parametrize("mode", ["light", "dark"])
def test_thread_and_queue_text_is_readable(window, qtbot, palettes, mode):
    light, dark = palettes
    QApplication.instance().setPalette(dark if mode == "dark" else light)  # switched live
    window.resize(1280, 800)
    qtbot.wait(50)
    assert theme.is_dark(window.thread_view.palette()) == (mode == "dark")
    # A conversation with both sides, so both bubble colours are measured.
    for row in range(window.model.rowCount()):
        window.table.selectRow(row)
        qtbot.waitUntil(lambda: bool(window.thread_view.plain_text()), timeout=5000)
        if "You" in window.thread_view.plain_text() or row > 20:
            break
    assert_readable(window.thread_view.viewport(), name=f"thread ({mode})")
    # A label paints no background of its own: grab it from the window, over what it is drawn on.
    header = QRect(window.details.mapTo(window, QPoint(0, 0)), window.details.size()).adjusted(0, -4, 0, 4)
    image = window.grab(header).toImage()
    tiles = text_contrasts(image, image.rect())
    assert len(tiles) >= 5 and min(tiles)[0] >= 4.5, f"thread header with its link ({mode}): {min(tiles)}"
    # The queue's two-line rows (ui/queue_delegate.py): each text line of the rows on screen but the
    # selected one (the selection colour is the palette's, not ours); the icons and state marks beside them are
    # graphics: the state marks and the "new" dot reach 3:1 (tests/gui/test_queue_rows.py).
    table = window.table
    view = table.viewport()
    image = view.grab().toImage()
    selected = table.currentIndex().row()
    tiles = []
    for row in range(window.model.rowCount()):
        rect = table.visualRect(window.model.index(row, 1))
        if row == selected or rect.top() < 0 or rect.bottom() > view.height():
            continue  # the selected row, or not (wholly) on screen
        parts = window.row_delegate.layout(rect, table.font())
        # The state mark is a graphic (3:1, test_queue_rows): covered with the row's background, so only
        # the text on the line is measured (the amber "due soon" mark is 3.96:1).
        due = window.model.data(window.model.index(row, COLUMNS.index("due"))) or ""
        state = window.model.data(window.model.index(row, COLUMNS.index("customer")), StateRole)
        _font, _due, mark = window.row_delegate.countdown(parts["first"], due, state, table.font())
        if mark is not None:
            painter = QPainter(image)
            painter.fillRect(mark.adjusted(-1, -1, 1, 1), QColor(image.pixel(mark.left() - 3, mark.top())))
            painter.end()
        for line in ("first", "second"):
            tiles += text_contrasts(image, parts[line].adjusted(0, -1, 0, 1))
    assert len(tiles) >= 20, f"queue rows ({mode}): no text found to measure"
    worst = min(tiles)
    assert worst[0] >= 4.5, f"queue rows ({mode}): text at {worst[1]},{worst[2]} has contrast {worst[0]}:1"


def cell_ink(image: QImage, rect: QRect) -> tuple[float, str, str]:
    """(contrast, ink, background) of the text in one table cell: the background is the cell's most common
    colour, the ink its pixel that differs most from it (as in `text_contrasts`, over the whole cell)."""
    colours = Counter(_hex(image, x, y) for y in range(rect.top(), rect.bottom() + 1)
                      for x in range(rect.left(), rect.right() + 1))
    background = colours.most_common(1)[0][0]
    ink = max(colours, key=lambda colour: theme.contrast(colour, background))
    return round(theme.contrast(ink, background), 2), ink, background


def test_activity_results_that_need_the_owner_are_readable(qtbot, window, demo_core, palettes, tmp_path):
    """The Activity view marks an automatic message that failed or may not have arrived in the error colour
    (theme.ERROR), and every text of those rows reaches 4.5:1 in both palettes, the view open while the
    palette switches (light, dark, light again). Before, the result was Qt's plain red: 3.59:1 on the dark
    base, 4.0:1 on the light one, whatever the palette."""
    light, dark = palettes
    app = QApplication.instance()
    app.setPalette(light)
    conv = Conversation.select().where(Conversation.contact.is_null(False)).first()
    for n, state in enumerate(("failed", "unknown")):
        row = outbox.enqueue_automatic(
            demo_core.store, account_id=conv.account_id, purpose="auto_reply", text="We're closed",
            idempotency_key=f"auto:contrast:{n}", reason="closed", now=demo_core.clock.now(),
            conversation_id=conv.id, contact_id=conv.contact_id)
        with demo_core.store.write():
            Outbox.update(state=state, last_error="connection lost").where(Outbox.id == row.id).execute()
    feature = next(f for f in window.features if isinstance(f, SettingsFeature))
    window.actions["activity"].trigger()
    qtbot.waitUntil(lambda: feature.activity_dialog is not None and feature.activity_dialog.table.rowCount() >= 2,
                    timeout=5000)
    dialog = feature.activity_dialog
    table = dialog.table
    table.clearSelection()  # the selection's colours are the palette's
    table.setCurrentIndex(QModelIndex())
    rows = [r for r, e in enumerate(dialog.entries) if e.result in ("failed", "unknown")]
    assert len(rows) >= 2
    problems, measured = [], 0
    for mode, palette in (("light", light), ("dark", dark), ("light again", light)):
        app.setPalette(palette)  # switched live, the view open
        qtbot.wait(50)
        assert theme.is_dark(table.palette()) == (mode == "dark")
        dialog.grab().save(str(tmp_path / f"activity_{mode}.png"))
        image = table.viewport().grab().toImage()
        for r in rows:
            for col in range(table.columnCount()):
                rect = table.visualRect(table.model().index(r, col))
                if rect.top() < 0 or rect.bottom() >= image.height() or rect.right() >= image.width():
                    continue  # not (wholly) on screen
                # Off the grid lines (drawn on a cell's right and bottom edge) and the cell's padding edge.
                contrast, ink, background = cell_ink(image, rect.adjusted(1, 1, -2, -2))
                assert contrast >= 2.0, f"activity row {r}, column {col} ({mode}): no text found"
                measured += 1
                if contrast < 4.5:
                    problems.append(f"row {r} column {col} ({mode}): {ink} on {background}, {contrast}:1")
                if col == 5:  # the result says something went wrong: in the error colour, not the text's
                    red, green, blue = QColor(ink).red(), QColor(ink).green(), QColor(ink).blue()
                    assert red - max(green, blue) >= 50, f"result of row {r} ({mode}) is not red: {ink}"
    assert measured >= 3 * 2 * 6
    assert not problems, "; ".join(problems) + f" (needs 4.5:1; pictures in {tmp_path})"


def test_a_cleared_thread_stays_cleared_when_the_palette_switches(qtbot, window, palettes):
    """The window clears the thread when nothing is selected (here: a search that finds nothing). The view
    re-renders what it shows when the palette switches; a cleared view shows nothing, and must not draw
    the conversation it showed before the clear back into the empty pane."""
    light, dark = palettes
    view = window.thread_view
    qtbot.waitUntil(lambda: bool(view.plain_text()), timeout=5000)
    before = view.plain_text()
    window.search.setText("no message says this: qqqxz")
    qtbot.waitUntil(lambda: window.current_id is None and window.model.rowCount() == 0, timeout=5000)
    assert view.plain_text() == ""
    for mode, palette in (("dark", dark), ("light", light)):
        QApplication.instance().setPalette(palette)  # the system switched, nothing selected
        qtbot.wait(50)
        assert theme.is_dark(view.palette()) == (mode == "dark")
        assert view.plain_text() == "", f"{mode}: the cleared pane shows {before[:60]!r}…"


def test_every_colour_pair_meets_aa_on_its_surfaces():
    """The pairs themselves, against the surfaces they are drawn on (window, list base, both bubbles)."""
    light_surfaces = ["#efefef", "#ffffff", theme.BUBBLE_IN.light, theme.BUBBLE_OUT.light]
    dark_surfaces = ["#353535", "#2a2a2a", theme.BUBBLE_IN.dark, theme.BUBBLE_OUT.dark]
    pairs = [theme.MUTED, theme.ERROR, theme.SUCCESS, theme.WARNING, theme.NOTE, theme.LINK, theme.BUBBLE_TEXT,
             *theme.STATE.values()]
    for pair in pairs:
        assert min(theme.contrast(pair.light, s) for s in light_surfaces) >= 4.5, pair
        assert min(theme.contrast(pair.dark, s) for s in dark_surfaces) >= 4.5, pair
