"""Colours by meaning, each a light/dark pair, so every text stays readable in both palettes.

Owns the colours the window adds to the palette's own: secondary text, errors, success, warnings, the
queue's state colours, the thread's message bubbles and the Today charts' bars and open-hours band, the
edge of check boxes and radio buttons and the grid lines of tables (both drawn with it by ui/indicators.py).
Nothing else in ui/ writes a colour literal for text (tests/gui/test_dark_mode.py reads the rendered pixels in
both palettes; tests/gui/test_grid_contrast.py the grid lines).

Decisions:
- Light or dark is read from the palette (window colour lightness below 128: dark), not from a setting,
  so the window follows the system's switch live: `tint` re-applies its colour at every palette change.
  A tinted widget's own palette is pinned by its style sheet, so the application's is read instead.
- Each pair is chosen for WCAG AA, at least 4.5:1 against every surface it is drawn on (the window,
  the base of lists and text views, and both bubble backgrounds) in Fusion's and the common desktop
  palettes of that brightness; `contrast()` is the WCAG formula the tests use.
- Badges and state dots are graphics, not text: they keep their platform colours and get an outline
  where the background would swallow them (ui/icons.py).
- Check boxes and radio buttons (widgets, checkable list and table cells, checkable menu entries) are
  graphics too: an unticked one is nothing but its edge, which must reach 3:1 against the surface around
  it (WCAG 1.4.11). Fusion, Qt's style where the desktop gives none, derives that edge from the palette's
  window colour (darker by 140%, then lighter by 10%), a light-palette rule: on a dark window it comes out
  as dark as the box's fill and the list's base, 1.2:1, so an unticked box vanished (the hours dialog's
  "Public items"). ui/indicators.py wraps the application's style so that, on Fusion, they are drawn with
  INDICATOR_EDGE, picked by the palette at paint time, so it follows a live switch too.
- A table's grid lines are graphics too, by the same rule: Fusion draws them in the window colour darker by
  120 %, #2c2c2c on the dark palette's #2a2a2a base (1.0:1: the coverage, targets and Today tables showed
  no grid at all) and #c7c7c7 on white in the light one (1.7:1). The same wrapped style hands Fusion's
  tables GRID_LINE instead, picked at paint time.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import shiboken6
from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QWidget


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
# The edge of a check box or radio button (ui/indicators.py): a graphic, 3:1 against the window, the base
# of lists and the box's own fill (the base) in the palettes of that brightness.
INDICATOR_EDGE = Pair("#767676", "#8f8f8f")
# The grid lines of a table (ui/indicators.py: coverage, Today's per-channel table, targets, auto-replies,
# activity): what tells its rows and cells apart, so a graphic, 3:1 against the base and alternate base
# of lists (and the window) in the palettes of that brightness. Lighter than INDICATOR_EDGE: a grid is many lines.
GRID_LINE = Pair("#888888", "#808080")


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
    """Re-applies each tinted widget's colour when the palette changes (the system switched modes).

    A tinted widget's style sheet pins its palette, so it gets no PaletteChange when the application's
    palette changes: a widget without a style sheet (`sentinel`, never shown) does, and re-tints them all.
    """

    def __init__(self) -> None:
        super().__init__()
        self.tints: weakref.WeakKeyDictionary[QWidget, tuple[Pair, str]] = weakref.WeakKeyDictionary()
        self.sentinel = QWidget()
        self.sentinel.installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if event.type() == QEvent.Type.PaletteChange:
            if obj is self.sentinel:
                for widget in list(self.tints):
                    if shiboken6.isValid(widget):
                        self.apply(widget)
                    else:  # closed and deleted by Qt while its Python wrapper lives on
                        del self.tints[widget]
            elif isinstance(obj, QWidget) and obj in self.tints:
                self.apply(obj)
        return False

    def apply(self, widget: QWidget) -> None:
        pair, extra = self.tints[widget]
        sheet = css(pair, extra, _unstyled_palette(widget))
        if widget.styleSheet() != sheet:  # setting a sheet re-polishes: only when the colour changed
            widget.setStyleSheet(sheet)


_retint: _Retint | None = None


def tint(widget: QWidget, pair: Pair, extra: str = "") -> None:
    """Give `widget`'s text `pair`'s colour now and after every palette change."""
    global _retint
    if _retint is None:
        _retint = _Retint()
    if widget not in _retint.tints:
        widget.installEventFilter(_retint)
    _retint.tints[widget] = (pair, extra)
    _retint.apply(widget)


def untint(widget: QWidget) -> None:
    """Back to the palette's own text colour (a warning that no longer applies)."""
    if _retint is not None:
        _retint.tints.pop(widget, None)
    if widget.styleSheet():
        widget.setStyleSheet("")


def _unstyled_palette(widget: QWidget) -> QPalette:
    """The palette `widget` follows, read past its own style sheet: a style sheet pins the widget's
    palette, so after the system switched to dark a tinted label's palette still read light and it kept
    its light colour (#474747 on #353535). The application's palette for its class is the live one."""
    return QApplication.palette(widget)


def _luminance(hex_colour: str) -> float:
    value = hex_colour.lstrip("#")
    channels = [int(value[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    """The WCAG 2 contrast ratio of two "#rrggbb" colours (1 to 21)."""
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)
