"""socialdesk: one keyboard-driven queue for a small business's customer messages."""

__version__ = "0.1.0"
APP_NAME = "socialdesk"
# The desktop entry's id: packaging/<DESKTOP_ID>.desktop, whose Icon= is the same name. Qt's
# desktopFileName and the notifications' desktop-entry hint and app icon use it (tests/unit/test_desktop_id.py).
DESKTOP_ID = "socialdesk"
