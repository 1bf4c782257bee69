"""Icons drawn in code: channel badges, target-state marks and the tray badge.

Decisions: painting with QPainter keeps the app free of image assets that must be kept in sync with
the list of platforms, scales crisply at any DPI, and lets the tray icon carry a live number. Every
state has a distinct *shape* as well as a colour (never colour alone): a clock for due soon, an
exclamation mark in a triangle for overdue, a check for done.
"""

from __future__ import annotations

from functools import lru_cache

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPainterPath, QPen, QPixmap, QPolygonF

CHANNELS = {
    # channel: (label shown to the owner, badge colour, badge letter)
    "email": ("Email", "#5b6b7f", "@"),
    "instagram": ("Instagram", "#c13584", "IG"),
    "facebook": ("Facebook", "#1877f2", "f"),
    "x": ("X", "#14171a", "X"),
    "google_reviews": ("Google reviews", "#e8a317", "G"),
    "telegram": ("Telegram", "#229ed9", "T"),
    "mastodon": ("Mastodon", "#6364ff", "M"),
    "bluesky": ("Bluesky", "#1185fe", "B"),
    "demo": ("Demo", "#6a994e", "D"),
}

STATE_COLOURS = {"ok": "#2e7d32", "due_soon": "#b26a00", "overdue": "#c62828"}


def channel_label(channel: str) -> str:
    return CHANNELS.get(channel, (channel.title(), "", ""))[0]


def _pixmap(size: int) -> QPixmap:
    pm = QPixmap(size, size)
    pm.fill(Qt.GlobalColor.transparent)
    return pm


@lru_cache(maxsize=64)
def channel_icon(channel: str, size: int = 32) -> QIcon:
    _label, colour, letter = CHANNELS.get(channel, (channel, "#777777", channel[:1].upper() or "?"))
    pm = _pixmap(size)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setBrush(QColor(colour))
    p.setPen(Qt.PenStyle.NoPen)
    p.drawRoundedRect(QRectF(1, 1, size - 2, size - 2), size * 0.25, size * 0.25)
    font = QFont()
    font.setBold(True)
    font.setPixelSize(int(size * (0.42 if len(letter) > 1 else 0.58)))
    p.setFont(font)
    p.setPen(QColor("white"))
    p.drawText(QRectF(0, 0, size, size), Qt.AlignmentFlag.AlignCenter, letter)
    p.end()
    return QIcon(pm)


@lru_cache(maxsize=16)
def state_icon(state: str, size: int = 16) -> QIcon:
    pm = _pixmap(size)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    colour = QColor(STATE_COLOURS.get(state, "#777777"))
    s = float(size)
    if state == "overdue":
        tri = QPolygonF([QPointF(s / 2, 1), QPointF(s - 1, s - 1), QPointF(1, s - 1)])
        p.setBrush(colour)
        p.setPen(Qt.PenStyle.NoPen)
        p.drawPolygon(tri)
        p.setPen(QPen(QColor("white"), max(1.5, s / 9)))
        p.drawLine(QPointF(s / 2, s * 0.38), QPointF(s / 2, s * 0.68))
        p.drawPoint(QPointF(s / 2, s * 0.82))
    elif state == "due_soon":
        p.setPen(QPen(colour, max(1.5, s / 9)))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawEllipse(QRectF(1.5, 1.5, s - 3, s - 3))
        p.drawLine(QPointF(s / 2, s / 2), QPointF(s / 2, s * 0.22))
        p.drawLine(QPointF(s / 2, s / 2), QPointF(s * 0.72, s / 2))
    elif state == "done":
        p.setPen(QPen(QColor("#2e7d32"), max(1.5, s / 8)))
        path = QPainterPath(QPointF(s * 0.2, s * 0.55))
        path.lineTo(QPointF(s * 0.42, s * 0.76))
        path.lineTo(QPointF(s * 0.82, s * 0.26))
        p.drawPath(path)
    else:  # ok: a calm hollow circle
        p.setPen(QPen(colour, max(1.5, s / 9)))
        p.drawEllipse(QRectF(2, 2, s - 4, s - 4))
    p.end()
    return QIcon(pm)


def tray_icon(count: int, warning: bool, size: int = 64) -> QIcon:
    """The app mark with the number awaiting; a red triangle variant when anything is overdue."""
    pm = _pixmap(size)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor("#c62828" if warning else "#2f5d8a"))
    if warning:
        p.drawPolygon(QPolygonF([QPointF(size / 2, 2), QPointF(size - 2, size - 4), QPointF(2, size - 4)]))
    else:
        p.drawRoundedRect(QRectF(2, 2, size - 4, size - 4), size * 0.22, size * 0.22)
    text = "" if count <= 0 else (str(count) if count < 100 else "99+")
    font = QFont()
    font.setBold(True)
    font.setPixelSize(int(size * (0.46 if len(text) < 3 else 0.34)))
    p.setFont(font)
    p.setPen(QColor("white"))
    rect = QRectF(0, size * 0.12, size, size * 0.8) if warning else QRectF(0, 0, size, size)
    p.drawText(rect, Qt.AlignmentFlag.AlignCenter, text or "✓")
    p.end()
    return QIcon(pm)
