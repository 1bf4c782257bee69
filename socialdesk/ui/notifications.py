"""Desktop notifications: freedesktop D-Bus with an "Open" action on Linux, the tray balloon elsewhere.

Decisions:
- One `Notifier` interface (`notify(title, body, conversation_id)`), so tests inject a recorder and the
  window never cares which backend is used.
- The freedesktop service (org.freedesktop.Notifications) takes plain text bodies *or* a small markup
  subset depending on the server; we always escape the body so customer text can never become markup.
- Clicking a notification (the "default"/"open" action on D-Bus, or the tray balloon) emits
  `activated(conversation_id)`; the window opens that conversation.
"""

from __future__ import annotations

import html
import logging
import sys

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QSystemTrayIcon

from socialdesk.ui.qtcompat import emit

log = logging.getLogger(__name__)


class Notifier(QObject):
    activated = Signal(int)

    def notify(self, title: str, body: str, conversation_id: int | None = None) -> None:
        raise NotImplementedError


class RecordingNotifier(Notifier):
    """Keeps what would have been shown (tests, and the quiet-hours log)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.shown: list[tuple[str, str, int | None]] = []

    def notify(self, title: str, body: str, conversation_id: int | None = None) -> None:
        self.shown.append((title, body, conversation_id))


class TrayNotifier(Notifier):
    def __init__(self, tray: QSystemTrayIcon, parent=None):
        super().__init__(parent)
        self.tray = tray
        self._last: int | None = None
        tray.messageClicked.connect(self._clicked)

    def notify(self, title: str, body: str, conversation_id: int | None = None) -> None:
        self._last = conversation_id
        if sys.platform.startswith("linux"):
            # Qt hands the balloon to the freedesktop notification server, which may render a markup
            # subset (<b>, <a>, <img>) in the body: customer text must arrive escaped there. Windows and
            # macOS balloons are plain text and would show the entities, so they get the text as is.
            body = html.escape(body)
        self.tray.showMessage(title, body, QSystemTrayIcon.MessageIcon.Information, 8000)

    @Slot()
    def _clicked(self) -> None:
        if self._last is not None:
            emit(self.activated, self._last)


class DBusNotifier(Notifier):
    """org.freedesktop.Notifications with an Open action; falls back to `fallback` on any failure."""

    def __init__(self, fallback: Notifier, parent=None):
        super().__init__(parent)
        from PySide6.QtDBus import QDBusConnection, QDBusInterface

        self.fallback = fallback
        fallback.activated.connect(self.activated)
        self.bus = QDBusConnection.sessionBus()
        self.iface = QDBusInterface(
            "org.freedesktop.Notifications", "/org/freedesktop/Notifications", "org.freedesktop.Notifications", self.bus
        )
        self._ids: dict[int, int] = {}
        if self.available():
            self.bus.connect(
                "org.freedesktop.Notifications",
                "/org/freedesktop/Notifications",
                "org.freedesktop.Notifications",
                "ActionInvoked",
                self,
                "_action_invoked(uint,QString)",
            )

    def available(self) -> bool:
        return self.bus.isConnected() and self.iface.isValid()

    def notify(self, title: str, body: str, conversation_id: int | None = None) -> None:
        if not self.available():
            self.fallback.notify(title, body, conversation_id)
            return

        actions = ["default", "Open", "open", "Open"] if conversation_id is not None else []
        reply = self.iface.call(
            "Notify", "socialdesk", 0, "mail-message-new", title, html.escape(body), actions, {}, 8000
        )
        args = reply.arguments()
        if not args:
            log.info("notification service did not answer; using the tray")
            self.fallback.notify(title, body, conversation_id)
            return
        if conversation_id is not None:
            self._ids[int(args[0])] = conversation_id

    @Slot(int, str)
    def _action_invoked(self, notification_id: int, action: str) -> None:
        conversation_id = self._ids.pop(int(notification_id), None)
        if conversation_id is not None and action in ("default", "open"):
            emit(self.activated, conversation_id)


def new_messages_text(count: int, first_customer: str, first_preview: str) -> tuple[str, str]:
    """Batched wording: one message names the customer; several are counted."""
    if count == 1:
        return f"New message from {first_customer}", first_preview[:200]
    return f"{count} new messages", f"Latest from {first_customer}: {first_preview[:160]}"
