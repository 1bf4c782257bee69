"""Check boxes, radio buttons and table grid lines visible in both palettes: the application's style, wrapped.

Decisions:
- An unticked check box is nothing but its edge, which must reach 3:1 against the surface around it
  (WCAG 1.4.11). Fusion, Qt's style where the desktop gives none, derives that edge from the palette's
  window colour (darker by 140 %, then lighter by 10 %), a light-palette rule: on a dark window it came
  out as dark as the box's fill and the list's base (1.2:1), and the hours dialog's "Public items" cell
  vanished. `ReadableIndicators` has Fusion draw check boxes and radio buttons (widgets, checkable cells,
  checkable menu entries) with theme.INDICATOR_EDGE, picked by the palette at paint time so it follows a
  live switch; Fusion still draws them (shape, tick, focus ring), handed a window colour from which it
  derives that edge. Other styles (Breeze, Windows, macOS) draw their own dark-aware indicators.
- A table's grid lines, what tells its rows and cells apart, are graphics by the same rule. Fusion colours
  them window.darker(120) (its SH_Table_GridLineColor), again a light-palette rule: #2c2c2c on the dark
  #2a2a2a base, 1.0:1, so the coverage, targets, auto-reply and Today tables lost their grid; 1.7:1 on white.
  On Fusion the hint answers theme.GRID_LINE for the table's palette; QTableView asks it at every paint, so
  a live switch repaints the grid in the new colour. (The queue and the lists of accounts and snippets
  show no grid: their rows are told apart by alternating colours and their own layout.)
- Its own module, installed after the window's first paint in a staged start (app.wire_window): the first
  rows have no check box, and creating the style's Python class costs ~20 ms the queue need not wait for.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QPainter, QPalette
from PySide6.QtWidgets import QApplication, QProxyStyle, QStyle, QStyleHintReturn, QStyleOption, QWidget

# The style's drawPrimitive runs for every primitive painted, and each call of a void Qt method from Python
# costs this binding a reference to None: qtcompat makes None immortal before the first one.
from socialdesk.ui import qtcompat  # noqa: F401
from socialdesk.ui.theme import GRID_LINE, INDICATOR_EDGE, colour

# Fusion's indicator edge from the window colour (qfusionstyle.cpp): a check box's is window.darker(140)
# .lighter(110), a radio button's window.darker(150). Each factor undoes that: the window colour handed to
# Fusion for the edge to come out as INDICATOR_EDGE.
_FUSION_EDGE_UNDO = {QStyle.PrimitiveElement.PE_IndicatorCheckBox: 127,
                     QStyle.PrimitiveElement.PE_IndicatorRadioButton: 150}


class ReadableIndicators(QProxyStyle):
    """The application's style, with check box and radio button edges and table grid lines visible in both
    palettes (module docstring). A checkable cell or menu entry comes here too: Fusion draws theirs as a check
    box."""

    def __init__(self, key: str) -> None:
        super().__init__(key)  # by name: the proxy creates and owns its base style
        self.fusion = self.baseStyle().name().lower() == "fusion"

    def drawPrimitive(self, element: QStyle.PrimitiveElement, option: QStyleOption, painter: QPainter,  # noqa: N802
                      widget: QWidget | None = None) -> None:
        undo = _FUSION_EDGE_UNDO.get(element) if self.fusion else None
        if undo is None:
            super().drawPrimitive(element, option, painter, widget)
            return
        own = option.palette
        edge = QColor(colour(INDICATOR_EDGE, own))
        if not option.state & QStyle.StateFlag.State_Enabled:  # greyed like the rest of a disabled control
            window = own.color(QPalette.ColorRole.Window)
            edge = QColor((edge.red() + window.red()) // 2, (edge.green() + window.green()) // 2,
                          (edge.blue() + window.blue()) // 2)
        palette = QPalette(own)
        palette.setColor(QPalette.ColorRole.Window, edge.lighter(undo))  # Fusion reads the window for the edge only
        option.palette = palette
        try:
            super().drawPrimitive(element, option, painter, widget)
        finally:
            option.palette = own  # the caller's option, as it was


    def styleHint(self, hint: QStyle.StyleHint, option: QStyleOption | None = None,  # noqa: N802 (Qt override)
                  widget: QWidget | None = None, data: QStyleHintReturn | None = None) -> int:
        if hint == QStyle.StyleHint.SH_Table_GridLineColor and self.fusion and option is not None:
            rgba = QColor(colour(GRID_LINE, option.palette)).rgba()
            return rgba - (1 << 32) if rgba >= 1 << 31 else rgba  # a QRgb, handed back through a C int
        return super().styleHint(hint, option, widget, data)


def install_style(app: QApplication | None = None) -> None:
    """Wrap the application's style in ReadableIndicators; once, at start, before the first window."""
    app = app if app is not None else QApplication.instance()
    current = app.style()
    if isinstance(current, ReadableIndicators):
        return
    app.setStyle(ReadableIndicators(current.name()))
