"""Icons: the app mark (window, tray, notifications), channel badges and target-state marks.

Decisions:
- The app mark is the one image asset: resources/icons/socialdesk.svg. The window icon and the tray
  icons are rendered from it at each standard size (crisp at 16 and 32 px, whose grid the SVG follows);
  packaging/build.py exports the same renderings as the hicolor PNGs, so every place shows one mark.
- The tray derives from the mark: nothing awaiting shows the mark itself; a count replaces the bubble's
  lines; anything overdue turns the icon into a red warning triangle holding the count (rounded and
  shaded like the tile). A live number is why the tray is painted, not a fixed file. Away and Paused
  add a corner disc with a crescent moon or a pause sign (shapes, legible at 16 px).
- A channel's badge is its platform's icon, named by its traits (`traits.badge_of(channel).icon`, an
  SVG in resources/platforms: the platform's mark in white on a tile of its colour, credited in
  resources/ICONS.md), rendered at the exact size asked, so crisp at any DPI. A platform without an
  icon, an unknown channel or a file that cannot be read gets the painted letter badge of its traits
  (grey with its initial when unknown). A tile too dark for a dark list (X's black) gets a light outline.
- State marks are painted with QPainter. Every state has a distinct *shape* as well as a colour (never colour
  alone): a clock for due soon, an exclamation mark in a triangle for overdue, a check for done.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from PySide6.QtCore import QByteArray, QPointF, QRectF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QIcon,
    QImage,
    QLinearGradient,
    QPainter,
    QPainterPath,
    QPen,
    QPixmap,
    QPolygonF,
)
from PySide6.QtSvg import QSvgRenderer

from socialdesk.connectors import traits
from socialdesk.ui import theme

# The state marks are graphics (WCAG asks 3:1 of them, 4.5:1 of text): their own saturated colours on a
# light palette, the lighter ones of ui/theme.STATE on a dark one.
STATE_COLOURS = {"ok": "#2e7d32", "due_soon": "#b26a00", "overdue": "#c62828"}
_DARK_SURFACE = "#2a2a2a"  # what a dark palette's list base looks like, to judge a badge's contrast on it


def channel_label(channel: str) -> str:
    return traits.name_of(channel)


def _pixmap(size: int) -> QPixmap:
    pm = QPixmap(size, size)
    pm.fill(Qt.GlobalColor.transparent)
    return pm


def _state_colour(state: str, dark: bool) -> str:
    if dark and state in theme.STATE:
        return theme.STATE[state].dark
    return STATE_COLOURS.get(state, "#9e9e9e" if dark else "#777777")


CHANNEL_ICON_SIZES = (16, 20, 24, 32, 48)


@lru_cache(maxsize=64)
def channel_icon(channel: str, size: int = 32, dark: bool = False) -> QIcon:
    """The channel's badge as an icon (menus, combo boxes); `size` is the largest rendering."""
    icon = QIcon()
    for edge in sorted({s for s in CHANNEL_ICON_SIZES if s < size} | {size}):
        icon.addPixmap(channel_pixmap(channel, edge, dark))
    return icon


@lru_cache(maxsize=128)
def channel_pixmap(channel: str, size: int, dark: bool = False, ratio: float = 1.0) -> QPixmap:
    """The channel's badge at `size` logical px, for a screen of device pixel ratio `ratio`."""
    badge = traits.badge_of(channel)
    edge = max(1, round(size * ratio))
    pm = _pixmap(edge)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer = _platform_svg(badge.icon) if badge.icon else None
    if renderer is not None:
        renderer.render(p, QRectF(0, 0, edge, edge))
        radius = edge * 5.5 / 24  # the tile's corner in the SVGs
    else:
        radius = edge * 0.25
        _paint_letter_badge(p, edge, badge.colour, badge.label)
    if dark and theme.contrast(badge.colour, _DARK_SURFACE) < 3:  # a black badge (X) would vanish on dark
        width = max(1.0, edge / 20)
        p.setPen(QPen(QColor("#bdbdbd"), width))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRoundedRect(QRectF(width / 2, width / 2, edge - width, edge - width), radius, radius)
    p.end()
    pm.setDevicePixelRatio(ratio)
    return pm


def _paint_letter_badge(p: QPainter, size: int, colour: str, letter: str) -> None:
    p.setBrush(QColor(colour))
    p.setPen(Qt.PenStyle.NoPen)
    p.drawRoundedRect(QRectF(1, 1, size - 2, size - 2), size * 0.25, size * 0.25)
    font = QFont()
    font.setBold(True)
    font.setPixelSize(max(1, int(size * (0.42 if len(letter) > 1 else 0.58))))
    p.setFont(font)
    p.setPen(QColor("white"))
    p.drawText(QRectF(0, 0, size, size), Qt.AlignmentFlag.AlignCenter, letter)


@lru_cache(maxsize=32)
def _platform_svg(name: str) -> QSvgRenderer | None:
    """resources/platforms/`name`.svg, or None when it is missing or unreadable (the letter badge then)."""
    if not name.replace("_", "").replace("-", "").isalnum():
        return None  # an icon name is a plain file name, never a path
    try:
        data = resources.files("socialdesk").joinpath("resources", "platforms", f"{name}.svg").read_bytes()
    except OSError:
        return None
    renderer = QSvgRenderer(QByteArray(data))
    return renderer if renderer.isValid() else None


@lru_cache(maxsize=32)
def state_icon(state: str, size: int = 16, dark: bool = False) -> QIcon:
    pm = _pixmap(size)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    colour = QColor(_state_colour(state, dark))
    s = float(size)
    if state == "overdue":
        tri = QPolygonF([QPointF(s / 2, 1), QPointF(s - 1, s - 1), QPointF(1, s - 1)])
        p.setBrush(colour)
        p.setPen(Qt.PenStyle.NoPen)
        p.drawPolygon(tri)
        p.setPen(QPen(QColor("#1a1a1a" if dark else "white"), max(1.5, s / 9)))
        p.drawLine(QPointF(s / 2, s * 0.38), QPointF(s / 2, s * 0.68))
        p.drawPoint(QPointF(s / 2, s * 0.82))
    elif state == "due_soon":
        p.setPen(QPen(colour, max(1.5, s / 9)))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawEllipse(QRectF(1.5, 1.5, s - 3, s - 3))
        p.drawLine(QPointF(s / 2, s / 2), QPointF(s / 2, s * 0.22))
        p.drawLine(QPointF(s / 2, s / 2), QPointF(s * 0.72, s / 2))
    elif state == "done":
        p.setPen(QPen(QColor(_state_colour("ok", dark)), max(1.5, s / 8)))
        path = QPainterPath(QPointF(s * 0.2, s * 0.55))
        path.lineTo(QPointF(s * 0.42, s * 0.76))
        path.lineTo(QPointF(s * 0.82, s * 0.26))
        p.drawPath(path)
    else:  # ok: a calm hollow circle
        p.setPen(QPen(colour, max(1.5, s / 9)))
        p.drawEllipse(QRectF(2, 2, s - 4, s - 4))
    p.end()
    return QIcon(pm)


# The sizes desktops ask for (freedesktop hicolor: 16-512); the tray uses the small ones.
APP_ICON_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
TRAY_ICON_SIZES = (16, 22, 24, 32, 48, 64)
_MARK_UNITS = 256.0  # the SVG's viewBox edge
_BUBBLE_INK = "#2f5d8a"
_ALERT = ("#d84040", "#a31f1f")  # the warning triangle's gradient, top to bottom


@lru_cache(maxsize=1)
def _mark() -> QSvgRenderer:
    data = resources.files("socialdesk").joinpath("resources", "icons", "socialdesk.svg").read_bytes()
    renderer = QSvgRenderer(QByteArray(data))
    if not renderer.isValid():
        raise RuntimeError("socialdesk.svg could not be read")
    return renderer


def _image(size: int) -> QImage:
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    return image


def _render_parts(p: QPainter, size: int, parts: tuple[str, ...]) -> None:
    """Paint the mark's elements `parts` (SVG ids) where they sit in the whole mark at `size` px."""
    renderer, scale = _mark(), size / _MARK_UNITS
    for part in parts:
        box = renderer.boundsOnElement(part)
        renderer.render(p, part, QRectF(box.x() * scale, box.y() * scale, box.width() * scale, box.height() * scale))


def app_image(size: int) -> QImage:
    """The app mark at `size` px (also what packaging/build.py writes as the hicolor PNGs)."""
    image = _image(size)
    p = QPainter(image)
    _mark().render(p, QRectF(0, 0, size, size))
    p.end()
    return image


@lru_cache(maxsize=1)
def app_icon() -> QIcon:
    icon = QIcon()
    for size in APP_ICON_SIZES:
        icon.addPixmap(QPixmap.fromImage(app_image(size)))
    return icon


def _draw_count(p: QPainter, text: str, box: QRectF, colour: str) -> None:
    """`text` in bold, as large as fits `box`, centred in it."""
    font = QFont()
    font.setBold(True)
    pixel = max(4, int(box.height()))
    while pixel > 4:
        font.setPixelSize(pixel)
        metrics = QFontMetricsF(font)
        if metrics.horizontalAdvance(text) <= box.width() and metrics.capHeight() <= box.height() * 0.8:
            break
        pixel -= 1
    font.setPixelSize(pixel)
    p.setFont(font)
    p.setPen(QColor(colour))
    # Centre the digits' cap height, not the line box (which leaves room for descenders digits lack).
    cap = QFontMetricsF(font).capHeight()
    width = QFontMetricsF(font).horizontalAdvance(text)
    p.drawText(QPointF(box.center().x() - width / 2, box.center().y() + cap / 2), text)


def _tray_image(text: str, warning: bool, size: int, badge: bool = False) -> QImage:
    image = _image(size)
    p = QPainter(image)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setRenderHint(QPainter.RenderHint.TextAntialiasing)
    u = size / _MARK_UNITS  # one SVG unit in pixels
    if warning:
        # The whole icon becomes a red warning triangle (rounded like the tile, same gradient style):
        # the shape changes, not only the colour, and the count gets the room a badge would not have.
        gradient = QLinearGradient(0, 0, 0, size)
        gradient.setColorAt(0, QColor(_ALERT[0]))
        gradient.setColorAt(1, QColor(_ALERT[1]))
        triangle = QPolygonF([QPointF(128 * u, 24 * u), QPointF(240 * u, 232 * u), QPointF(16 * u, 232 * u)])
        p.setPen(QPen(gradient, 24 * u, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin))
        p.setBrush(gradient)
        p.drawPolygon(triangle)
        _draw_count(p, text or "!", QRectF(64 * u, 112 * u, 128 * u, 104 * u), "white")
    else:
        _render_parts(p, size, ("tile", "bubble"))
        # With a mode badge in the bottom-right corner the count moves left, clear of it.
        box = QRectF(36 * u, 60 * u, 104 * u, 96 * u) if badge else QRectF(56 * u, 56 * u, 144 * u, 112 * u)
        _draw_count(p, text, box, _BUBBLE_INK)
    p.end()
    return image


def tray_icon(count: int, warning: bool, mode: str = "") -> QIcon:
    """Nothing awaiting: the app mark. Otherwise the number awaiting in the mark's bubble, or, when
    anything is overdue, in a red warning triangle (shape and colour both change). `mode` "away" or
    "paused" adds a round corner badge: a crescent moon, or the two bars of a pause sign."""
    if count <= 0 and not warning and not mode:
        return app_icon()
    text = "" if count <= 0 else (str(count) if count < 100 else "99+")
    icon = QIcon()
    for size in TRAY_ICON_SIZES:
        image = _tray_image(text, warning, size, bool(mode)) if count > 0 or warning else app_image(size)
        if mode:
            _mode_badge(image, mode, top=warning)
        icon.addPixmap(QPixmap.fromImage(image))
    return icon


_MODE_BADGE = ("#37474f", "white")  # slate disc, white sign: readable on any tray, light or dark


def _mode_badge(image: QImage, mode: str, top: bool = False) -> None:
    """A white-rimmed disc (half the icon) holding Away's crescent moon or Paused's two bars, so the state
    shows by shape at 16 px too: bottom right, or top right (`top`) beside the warning triangle's apex,
    where it hides none of the count."""
    size = image.width()
    p = QPainter(image)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    d = size * 0.5
    disc = QRectF(size - d, 0 if top else size - d, d, d)
    p.setPen(QPen(QColor(_MODE_BADGE[1]), max(1.0, size / 24)))
    p.setBrush(QColor(_MODE_BADGE[0]))
    p.drawEllipse(disc.adjusted(0.5, 0.5, -0.5, -0.5))
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor(_MODE_BADGE[1]))
    inner = disc.adjusted(d * 0.22, d * 0.22, -d * 0.22, -d * 0.22)
    if mode == "paused":
        bar = inner.width() * 0.3
        p.drawRect(QRectF(inner.left() + inner.width() * 0.1, inner.top(), bar, inner.height()))
        p.drawRect(QRectF(inner.right() - inner.width() * 0.1 - bar, inner.top(), bar, inner.height()))
    else:  # away: a crescent (the disc minus an offset disc)
        moon = QPainterPath()
        moon.addEllipse(inner)
        bite = QPainterPath()
        bite.addEllipse(inner.translated(inner.width() * 0.38, -inner.height() * 0.2))
        p.drawPath(moon.subtracted(bite))
    p.end()
