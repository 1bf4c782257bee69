"""socialdesk: one keyboard-driven queue for a small business's customer messages."""

__version__ = "0.1.0"
APP_NAME = "socialdesk"
# The app's id (reverse DNS, as AppStream asks): packaging/<DESKTOP_ID>.desktop and .metainfo.xml, the
# desktop entry's Icon= and the installed icon files. Qt's desktopFileName (the Wayland app id) and the
# notifications' desktop-entry hint and app icon use it (tests/unit/test_desktop_id.py).
DESKTOP_ID = "io.github.socialdesk.SocialDesk"
