"""Colours by meaning, each a light/dark pair, so every text stays readable in both palettes.

Owns the colours the window adds to the palette's own: secondary text, errors, success, warnings, the
queue's state colours, the thread's message bubbles and the Today charts' bars and open-hours band. Nothing else in ui/ writes a colour literal for
text (tests/gui/test_dark_mode.py reads the rendered pixels in both palettes).

Decisions:
- Light or dark is read from the palette the widget paints with (window colour lightness below 128:
  dark), not from a setting, so the window follows the system's switch live: Qt sends every widget a
  PaletteChange, and `tint` re-applies its colour then.
- Each pair is chosen for WCAG AA, at least 4.5:1 against every surface it is drawn on (the window,
  the base of lists and text views, and both bubble backgrounds) in Fusion's and the common desktop
  palettes of that brightness; `contrast()` is the WCAG formula the tests use.
- Badges and state dots are graphics, not text: they keep their platform colours and get an outline
  where the background would swallow them (ui/icons.py).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QGuiApplication, QPalette
from PySide6.QtWidgets import QWidget


@dataclass(frozen=True)
class Pair:
    """One meaning's colour on a light and on a dark palette ("#rrggbb")."""

    light: str
    dark: str


# Secondary text: hints, timestamps, "You need: ...". Darker than 4.5:1 alone needs: it is often set
# small, and small antialiased glyphs never reach their full colour (the rendered text is what counts).
MUTED = Pair("#474747", "#b3b3b3")
ERROR = Pair("#b3261e", "#ffb4ab")
SUCCESS = Pair("#1b5e20", "#a5d6a7")
WARNING = Pair("#8a4b00", "#ffcc80")
NOTE = Pair("#5d4037", "#d7ccc8")  # a gentle nudge (the composer's "you edited a snippet" line)
LINK = Pair("#0b57d0", "#8ab4f8")
# The queue's countdown by state (core/queue states: on time, due soon, overdue).
STATE = {"ok": Pair("#1b5e20", "#81c784"), "due_soon": Pair("#8a5300", "#ffb74d"),
         "overdue": Pair("#b3261e", "#ef9a9a")}
# Message bubbles in the thread: background of a customer's and of our own message, and their text.
BUBBLE_IN = Pair("#f1f1f1", "#2f2f2f")
BUBBLE_OUT = Pair("#e3eefa", "#1f3550")
BUBBLE_TEXT = Pair("#1a1a1a", "#ececec")
# The Away / Paused banner above the window (ui/mode_banner.py): an amber band and its text, 4.5:1 on it.
BANNER = Pair("#ffe9b3", "#4d3a00")
BANNER_TEXT = Pair("#1a1a1a", "#fff3d6")
# Charts (ui/charts.py), drawn on the palette's base colour: bars and marks are graphics, so 3:1 against the
# base and against the open-hours band (WCAG 1.4.11) is their bar; their text uses the palette's or MUTED.
# Bars within and over target use STATE["ok"] and STATE["overdue"].
CHART_BAR = Pair("#2a62b0", "#82b1ff")
CHART_OPEN = Pair("#dcefdc", "#24402a")  # background of the hours the business is open
CHART_GRID = Pair("#c8c8c8", "#505050")  # axes, grid lines, empty bar tracks, the card's border


def is_dark(palette: QPalette | None = None) -> bool:
    """Whether `palette` (default: the application's) is a dark one."""
    palette = palette if palette is not None else QGuiApplication.palette()
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def colour(pair: Pair, palette: QPalette | None = None) -> str:
    return pair.dark if is_dark(palette) else pair.light


def css(pair: Pair, extra: str = "", palette: QPalette | None = None) -> str:
    """A style sheet giving text `pair`'s colour (plus `extra` declarations)."""
    return f"color:{colour(pair, palette)}" + (f"; {extra}" if extra else "")


class _Retint(QObject):
    """Re-applies each tinted widget's colour when its palette changes (the system switched modes)."""

    def __init__(self) -> None:
        super().__init__()
        self.tints: weakref.WeakKeyDictionary[QWidget, tuple[Pair, str]] = weakref.WeakKeyDictionary()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if event.type() == QEvent.Type.PaletteChange and isinstance(obj, QWidget) and obj in self.tints:
            pair, extra = self.tints[obj]
            sheet = css(pair, extra, obj.palette())
            if obj.styleSheet() != sheet:  # setting a sheet re-polishes: only when the colour changed
                obj.setStyleSheet(sheet)
        return False


_retint: _Retint | None = None


def tint(widget: QWidget, pair: Pair, extra: str = "") -> None:
    """Give `widget`'s text `pair`'s colour now and after every palette change."""
    global _retint
    if _retint is None:
        _retint = _Retint()
    if widget not in _retint.tints:
        widget.installEventFilter(_retint)
    _retint.tints[widget] = (pair, extra)
    widget.setStyleSheet(css(pair, extra, widget.palette()))


def _luminance(hex_colour: str) -> float:
    value = hex_colour.lstrip("#")
    channels = [int(value[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    """The WCAG 2 contrast ratio of two "#rrggbb" colours (1 to 21)."""
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)
