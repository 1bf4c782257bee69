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
        corner = img.pixelColor(6, 3)  # inside the rounded tile, clear of the label or mark
        colour = _svg_tile_colour(badge.icon) if badge.icon else badge.colour
        assert corner.name() == colour and corner.alpha() == 255, kind
        assert icons.channel_label(kind) == traits.of(kind).name
    unknown = image(icons.channel_icon("myspace"), 32).pixelColor(6, 3)
    assert unknown.name() == "#777777" and icons.channel_label("google_reviews") == "Google Reviews"


def _svg_tile_colour(name: str) -> str:
    import re
    from importlib import resources

    text = resources.files("socialdesk").joinpath("resources", "platforms", f"{name}.svg").read_text()
    return re.search(r'id="tile"[^>]*fill="(#[0-9A-Fa-f]{6})"', text).group(1).lower()


def test_platform_icons_are_the_svgs_and_every_named_icon_ships(qapp):
    """Issue 17 item 7: a platform whose traits name an icon shows that SVG (its white mark on its tile),
    not the letter; the file is package data (pyproject's resources/**/*, the PyInstaller spec collects
    the package's data files); an unknown platform keeps the letter badge."""
    from importlib import resources

    from socialdesk.connectors import registry, traits

    named = {traits.of(kind).badge.icon for kind in registry.kinds()} - {""}
    assert {"email", "telegram", "mastodon", "bluesky"} <= named
    folder = resources.files("socialdesk").joinpath("resources", "platforms")
    for name in named:
        assert folder.joinpath(f"{name}.svg").is_file(), name
    for kind in registry.kinds():
        badge = traits.of(kind).badge
        if not badge.icon:
            continue
        svg = image(icons.channel_icon(kind), 32)
        letter = QImage(32, 32, QImage.Format.Format_ARGB32_Premultiplied)
        letter.fill(0)
        from PySide6.QtGui import QPainter

        p = QPainter(letter)
        icons._paint_letter_badge(p, 32, _svg_tile_colour(badge.icon), badge.label)
        p.end()
        differing = sum(svg.pixelColor(x, y) != letter.pixelColor(x, y) for x in range(32) for y in range(32))
        assert differing > 40, f"{kind}: the icon looks like the letter badge"
    assert icons._platform_svg("../icons/socialdesk") is None  # a name is a file name, never a path


def test_a_black_tile_gets_an_outline_on_a_dark_list(qapp):
    light = image(icons.channel_icon("x", 32, False), 32).pixelColor(16, 0)
    dark = image(icons.channel_icon("x", 32, True), 32).pixelColor(16, 0)
    assert dark.lightness() > 150 and light.lightness() < 60
