"""The app mark (resources/icons/socialdesk.svg) and the tray icons derived from it (issue 19)."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QImage

from socialdesk.ui import icons


def image(icon, size: int) -> QImage:
    return icon.pixmap(size, size).toImage()


def alpha(img: QImage, x: int, y: int) -> int:
    return img.pixelColor(x, y).alpha()


def test_the_mark_has_the_parts_the_tray_renders(qapp):
    renderer = icons._mark()
    assert all(renderer.elementExists(part) for part in ("tile", "bubble", "lines"))


@pytest.mark.parametrize("size", icons.APP_ICON_SIZES)
def test_app_icon_exists_at_every_standard_size(qapp, size):
    assert size in {s.width() for s in icons.app_icon().availableSizes()}
    img = icons.app_image(size)
    assert (img.width(), img.height()) == (size, size)
    centre = img.pixelColor(int(size * 0.75), int(size * 0.45))  # right of the lines
    assert centre.alpha() == 255 and centre.lightness() > 200  # the white bubble, not transparency


def test_16_px_mark_sits_on_whole_pixels(qapp):
    # The SVG's grid is 16 units: at 16 px the tile covers pixels 1-14 fully, the margin nothing.
    img = icons.app_image(16)
    assert alpha(img, 8, 0) == 0 and alpha(img, 0, 8) == 0
    assert alpha(img, 8, 1) == 255 and alpha(img, 1, 8) == 255 and alpha(img, 14, 8) == 255


def test_nothing_awaiting_shows_the_app_mark(qapp):
    assert image(icons.tray_icon(0, False), 32) == image(icons.app_icon(), 32)


def test_count_replaces_the_lines_and_each_count_differs(qapp):
    mark, three, four = (image(icons.tray_icon(n, False), 32) for n in (0, 3, 4))
    assert three != mark and three != four
    # Same tile: the corners' shape is the mark's.
    assert [alpha(three, x, y) for x, y in ((2, 16), (16, 2))] == [alpha(mark, x, y) for x, y in ((2, 16), (16, 2))]


def test_overdue_changes_the_shape_not_only_the_colour(qapp):
    calm, overdue = image(icons.tray_icon(3, False), 64), image(icons.tray_icon(3, True), 64)
    # The triangle leaves the upper left transparent where the tile is opaque.
    assert alpha(calm, 10, 16) == 255 and alpha(overdue, 10, 16) == 0
    red = overdue.pixelColor(32, 56)
    assert red.red() > 150 and red.green() < 90


def test_tray_icon_has_the_small_sizes_trays_use(qapp):
    sizes = {s.width() for s in icons.tray_icon(5, True).availableSizes()}
    assert {16, 22, 24, 32} <= sizes


def test_channel_badges_are_the_platforms_traits(qapp):
    from socialdesk.connectors import registry, traits

    for kind in registry.kinds():
        badge = traits.of(kind).badge
        img = image(icons.channel_icon(kind), 32)
        corner = img.pixelColor(6, 3)  # inside the rounded tile, clear of the label
        assert corner.name() == badge.colour and corner.alpha() == 255
        assert icons.channel_label(kind) == traits.of(kind).name
    unknown = image(icons.channel_icon("myspace"), 32).pixelColor(6, 3)
    assert unknown.name() == "#777777" and icons.channel_label("google_reviews") == "Google Reviews"
