"""Windows that fit a small screen (1024×640, issue 17): what does not fit scrolls inside its window
instead of growing the window past the screen.

Decisions:
- A page that may be taller than a small screen leaves room for (a tab of the hours dialog, the Today
  charts, a generated account form) sits in a frameless scroll area that scrolls vertically only. It is
  as wide as the page's widest row needs, so nothing is ever cut off sideways.
- The scroll area takes no keyboard focus itself: Tab goes from the tabs straight into the page.
- tests/gui/test_screens_fit.py holds the dialogs to SMALL_SCREEN; tools/screenshots.py shows them there.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt
from PySide6.QtWidgets import QFrame, QScrollArea, QWidget

# What a 1024x640 screen leaves a window: its panel and the title bar take about 40 px of the height.
SMALL_SCREEN = (1024, 600)
# The same for an 800x500 screen (a netbook, a window snapped to half of a small screen): the dialogs
# the owner opens daily (the hours editor) fit it too; tests/gui/test_screens_fit.py holds them to it.
TINY_SCREEN = (800, 460)


def scrolling(page: QWidget, parent: QWidget, name: str = "") -> QScrollArea:
    """`page` in a frameless, vertically scrolling area as wide as the page needs."""
    area = QScrollArea(parent)
    if name:
        area.setObjectName(name)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidgetResizable(True)
    area.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    area.setWidget(page)
    area.setMinimumWidth(page.minimumSizeHint().width() + area.verticalScrollBar().sizeHint().width())
    return area


TITLE_BAR = 40  # what a window manager adds above a window, and a little room


def resize_within_screen(widget: QWidget, width: int, height: int, available: QRect | None = None) -> None:
    """Open at (width, height), or at what the screen has room for when that is less (a 1024x640 screen)."""
    if available is None:
        screen = widget.screen()
        if screen is None:
            widget.resize(width, height)
            return
        available = screen.availableGeometry()
    widget.resize(min(width, available.width()), min(height, available.height() - TITLE_BAR))
