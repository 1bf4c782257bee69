"""An unticked check box is visible in both palettes: its edge, all there is of it, has at least 3:1 against
the surface around it (WCAG 1.4.11, non-text contrast), as rendered (ui/indicators.py).

The hours dialog is opened in the light palette and the palette is switched live, to dark and back, as when
the desktop switches. Measured in each: the "Public items" cell of an auto-reply rule (a checkable table cell,
drawn on the list's base) and the "Post automatically" check box (a widget, on the dialog's page). The box is
where the style says it is (subElementRect); its edge is the most common colour of the box's outermost pixels,
the surface the most common colour of the 2-pixel ring just outside it. Before the fix, Fusion drew the dark
palette's box edge in #2a2a2a, on #2a2a2a: 1.0:1 in the table, 1.2:1 on the page.
"""

from __future__ import annotations

from collections import Counter

import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication, QStyle, QStyleOptionButton, QStyleOptionViewItem

from socialdesk.ui import indicators, theme
from tests.gui.test_dark_mode import dark_palette
from tests.gui.test_hours_targets_ui import _open_hours


@pytest.fixture
def app_style():
    """The application's style as socialdesk sets it at start; Qt's own style again afterwards."""
    app = QApplication.instance()
    light = app.style().standardPalette()
    indicators.install_style(app)
    yield light
    app.setPalette(light)
    app.setStyle("fusion")


def _hex(image: QImage, x: int, y: int) -> str:
    return QColor(image.pixel(x, y)).name()


def edge_contrast(image: QImage, box: QRect) -> tuple[float, str, str]:
    """(contrast, edge colour, surface colour) of the indicator drawn in `box` of `image`."""
    edge = Counter(_hex(image, x, y) for x in range(box.left(), box.right() + 1) for y in (box.top(), box.bottom()))
    edge.update(_hex(image, x, y) for y in range(box.top(), box.bottom() + 1) for x in (box.left(), box.right()))
    ring = box.adjusted(-2, -2, 2, 2)
    surface = Counter(_hex(image, x, y) for x in range(ring.left(), ring.right() + 1)
                      for y in range(ring.top(), ring.bottom() + 1) if not box.contains(x, y))
    edge_colour, surface_colour = edge.most_common(1)[0][0], surface.most_common(1)[0][0]
    return round(theme.contrast(edge_colour, surface_colour), 2), edge_colour, surface_colour


def _cell_indicator(table, row: int, column: int) -> QRect:
    """Where the style draws the check box of a table cell, in the viewport's coordinates."""
    item = table.item(row, column)
    option = QStyleOptionViewItem()
    option.initFrom(table.viewport())
    option.rect = table.visualItemRect(item)
    option.features = (QStyleOptionViewItem.ViewItemFeature.HasCheckIndicator
                       | QStyleOptionViewItem.ViewItemFeature.HasDisplay)
    option.text = item.text()
    option.font = table.font()
    option.checkState = item.checkState()
    option.displayAlignment = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
    option.widget = table
    return table.style().subElementRect(QStyle.SubElement.SE_ItemViewItemCheckIndicator, option, table)


def _box_indicator(box) -> QRect:
    option = QStyleOptionButton()
    option.initFrom(box)
    option.text = box.text()
    return box.style().subElementRect(QStyle.SubElement.SE_CheckBoxIndicator, option, box)


def test_unticked_boxes_of_the_hours_dialog_have_a_visible_edge_in_both_palettes(
        qtbot, window, app_style, tmp_path):
    light = app_style
    app = QApplication.instance()
    app.setPalette(light)
    dialog = _open_hours(qtbot, window)
    dialog.resize(900, 640)
    # An auto-reply rule with its "Public items" unticked, as the owner leaves it.
    table = dialog.channel_table
    if table.rowCount() == 0:
        dialog._add_channel()
    table.item(0, 2).setCheckState(Qt.CheckState.Unchecked)
    dialog.post_enabled.setChecked(False)
    problems = []
    for mode, palette in (("dark", dark_palette()), ("light", light)):
        app.setPalette(palette)  # switched live, the dialog open
        # The table cell, drawn on the list's base.
        dialog.tabs.setCurrentIndex(2)
        qtbot.wait(50)
        assert theme.is_dark(table.palette()) == (mode == "dark")
        image = table.viewport().grab().toImage()
        image.save(str(tmp_path / f"public_items_{mode}.png"))
        found = edge_contrast(image, _cell_indicator(table, 0, 2))
        if found[0] < 3.0:
            problems.append(f"'Public items' cell ({mode}): edge {found[1]} on {found[2]}, {found[0]}:1")
        # The check box widget, on the dialog's page (grabbed from the dialog: it paints no background).
        dialog.tabs.setCurrentIndex(3)
        qtbot.wait(50)
        box = dialog.post_enabled
        assert box.isVisible() and not box.isChecked()
        origin = box.mapTo(dialog, QPoint(0, 0))
        image = dialog.grab(QRect(origin, box.size()).adjusted(-4, -4, 4, 4)).toImage()
        image.save(str(tmp_path / f"post_automatically_{mode}.png"))
        found = edge_contrast(image, _box_indicator(box).translated(4, 4))
        if found[0] < 3.0:
            problems.append(f"'Post automatically' box ({mode}): edge {found[1]} on {found[2]}, {found[0]}:1")
    assert not problems, "; ".join(problems) + f" (needs 3:1; pictures in {tmp_path})"


def test_the_indicator_edge_pair_reaches_3_to_1_on_the_surfaces_it_meets():
    """Window and base (the box's own fill too) of Fusion's and the common desktop palettes of each brightness:
    Fusion, Adwaita, Breeze."""
    light_surfaces = ["#efefef", "#ffffff", "#f6f5f4", "#fafafa", "#eff0f1"]
    dark_surfaces = ["#353535", "#2a2a2a", "#242424", "#303030", "#31363b", "#232629"]
    assert min(theme.contrast(theme.INDICATOR_EDGE.light, s) for s in light_surfaces) >= 3.0
    assert min(theme.contrast(theme.INDICATOR_EDGE.dark, s) for s in dark_surfaces) >= 3.0
