"""Desktop notifications: the freedesktop notification server over D-Bus, the tray balloon as fallback.

What it owns: showing a pop-up for a conversation, telling the caller whether it was shown, and turning
a click on it back into `activated(conversation_id)`.

Decisions:
- One `Notifier` interface: `notify(title, body, conversation_id, *, urgent, category, replace_key,
  on_result)`. `on_result(accepted)` is called exactly once, on the GUI thread, after the pop-up was
  handed to something that shows it (True) or could not be (False); deadline alerts are recorded as
  announced only on True (core/alerts.py), so a failure leaves them to be shown next time.
- D-Bus route: jeepney (pure Python; installed with keyring on Linux, and a dependency of ours in its
  own right). It marshals exactly the signature we write: Notify is `susssasa{sv}i` (replaces_id an
  unsigned `u`, expire_timeout a signed `i`, urgency a byte `y`), as the Desktop Notifications
  Specification 1.2 defines it. QtDBus was the old route and could not do this from Python: PySide6
  6.12's QDBusInterface.call takes at most 4 arguments, a Python int becomes a signed `i` (the server
  answered InvalidArgs), and its signal connection needs a C++ slot signature that a Python slot lacks.
- Threading: jeepney.io.threading. Its DBusRouter reads the socket on its own thread; one worker thread
  ("notifications-dbus") takes our requests *and* the server's signals (ActionInvoked,
  NotificationClosed, the server's NameOwnerChanged) from one queue, so everything about shown
  notifications (ids, conversations, which pop-up replaces which) is owned by that thread alone, in
  order, without locks. Nothing blocks the GUI thread: a hung server costs the worker its 5 s
  timeout, then the balloon is shown. jeepney 0.9 has no Qt integration (it offers blocking,
  threading, asyncio and trio), and a blocking call on the GUI thread would freeze the window.
  Answers reach the GUI thread through queued Qt signals.
- What each pop-up carries: the `desktop-entry` hint (socialdesk.DESKTOP_ID, the .desktop file's
  name), `urgency` (2 = critical for an overdue conversation, else 1), a `category` ("im.received"
  for new messages, "im" for deadline reminders), the app icon by name (the desktop entry's Icon=)
  and as `image-data` (the drawn app mark, so it shows even where no icon file is installed).
  A notification with a `replace_key` replaces the previous one with the same key (`replaces_id`):
  one "new messages" pop-up, updated, instead of a stack. NotificationClosed forgets the id, and at
  most 256 ids are remembered in any case (servers that keep notifications may never close them).
- Markup: the body is escaped (&, <, > only; GNOME Shell shows any other entity literally) only when
  the server's GetCapabilities includes "body-markup". The summary is plain text by the spec.
  Customer text is hostile: NULs and lone surrogates (which D-Bus strings cannot carry) are removed.
- Only the notification server we talked to may act on its ids: a signal is accepted only from the
  unique bus name that answered that Notify, and ActionInvoked opens only ids we were given.
- The tray balloon is plain text everywhere it is drawn: Qt's own balloon (QBalloonTip, used with an
  XEmbed tray) sets Qt::PlainText on its labels, and Windows and macOS balloons are plain text. It is
  used only when no notification server answered (so Qt's D-Bus tray route, which would hand it to
  that server, is not in play), and it gets the text exactly as written.
- `desktop_notifier(tray)` picks the route: D-Bus wherever freedesktop notifications exist (any Unix
  but macOS), with or without a tray; the balloon elsewhere; nothing (every pop-up refused) without
  either, so nothing is kept for ever.
"""

from __future__ import annotations

import html
import itertools
import logging
import os
import queue
import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QIcon, QImage
from PySide6.QtWidgets import QSystemTrayIcon

from socialdesk import APP_NAME, DESKTOP_ID
from socialdesk.ui.qtcompat import emit

log = logging.getLogger(__name__)

CATEGORY_MESSAGE = "im.received"  # spec category: "a received instant message notification"
CATEGORY_REMINDER = "im"  # spec category: "a generic instant message-related notification"
URGENCY_NORMAL, URGENCY_CRITICAL = 1, 2
NOTIFY_TIMEOUT_S = 5.0
MAX_TRACKED = 256  # notification ids remembered for a click (oldest forgotten first)
SUMMARY_MAX, BODY_MAX = 200, 1000

SERVICE = "org.freedesktop.Notifications"
OBJECT_PATH = "/org/freedesktop/Notifications"
NOTIFY_SIGNATURE = "susssasa{sv}i"

OnResult = Callable[[bool], None]


@dataclass(frozen=True)
class Notification:
    title: str
    body: str
    conversation_id: int | None = None
    urgent: bool = False
    category: str = CATEGORY_MESSAGE
    replace_key: str | None = None  # a later notification with the same key replaces this one


class Notifier(QObject):
    activated = Signal(int)

    def notify(
        self,
        title: str,
        body: str,
        conversation_id: int | None = None,
        *,
        urgent: bool = False,
        category: str = CATEGORY_MESSAGE,
        replace_key: str | None = None,
        on_result: OnResult | None = None,
    ) -> None:
        self.show(Notification(title, body, conversation_id, urgent, category, replace_key), on_result)

    def show(self, note: Notification, on_result: OnResult | None) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Stop background work (the window calls it on quit)."""


def _report(on_result: OnResult | None, accepted: bool) -> None:
    if on_result is not None:
        on_result(accepted)


class RecordingNotifier(Notifier):
    """Keeps what would have been shown (tests). `accept` decides what on_result hears."""

    def __init__(self, parent=None, *, accept: bool = True):
        super().__init__(parent)
        self.accept = accept
        self.shown: list[tuple[str, str, int | None]] = []
        self.notes: list[Notification] = []

    def show(self, note: Notification, on_result: OnResult | None) -> None:
        self.notes.append(note)
        if self.accept:
            self.shown.append((note.title, note.body, note.conversation_id))
        _report(on_result, self.accept)


class NullNotifier(Notifier):
    """Neither a notification server nor a tray: every pop-up is refused (and stays due)."""

    def show(self, note: Notification, on_result: OnResult | None) -> None:
        _report(on_result, False)


class TrayNotifier(Notifier):
    """The tray balloon: plain text, exactly as written (see the module docstring)."""

    def __init__(self, tray: QSystemTrayIcon, parent=None):
        super().__init__(parent)
        self.tray = tray
        self._last: int | None = None
        tray.messageClicked.connect(self._clicked)

    def show(self, note: Notification, on_result: OnResult | None) -> None:
        if not self.tray.isVisible():
            _report(on_result, False)
            return
        self._last = note.conversation_id
        icon = QSystemTrayIcon.MessageIcon.Warning if note.urgent else QSystemTrayIcon.MessageIcon.Information
        self.tray.showMessage(note.title, note.body, icon, 8000)
        _report(on_result, True)

    @Slot()
    def _clicked(self) -> None:
        if self._last is not None:
            emit(self.activated, self._last)


# --- D-Bus ------------------------------------------------------------------------------------------


def dbus_text(text: str, limit: int) -> str:
    """What a D-Bus string can carry: valid UTF-8 without NUL (the bus drops a client that sends else)."""
    text = text[:limit].replace("\x00", "")
    return text.encode("utf-8", "replace").decode("utf-8")


def session_bus_address() -> str | None:
    """DBUS_SESSION_BUS_ADDRESS, else $XDG_RUNTIME_DIR/bus where it exists (libdbus does the same)."""
    address = os.environ.get("DBUS_SESSION_BUS_ADDRESS")
    if address:
        return address
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.exists(os.path.join(runtime, "bus")):
        return "unix:path=" + os.path.join(runtime, "bus")
    return None


def image_data(icon: QIcon, size: int = 64) -> tuple[str, tuple] | None:
    """The spec's `image-data` hint, (iiibiiay): width, height, rowstride, has alpha, 8 bits, 4 channels."""
    image = icon.pixmap(size, size).toImage().convertToFormat(QImage.Format.Format_RGBA8888)
    if image.isNull():
        return None
    data = bytes(image.constBits())[: image.sizeInBytes()]
    return ("(iiibiiay)", (image.width(), image.height(), image.bytesPerLine(), True, 8, 4, data))


@dataclass
class _Shown:
    conversation_id: int | None
    server: str  # unique bus name of the server that gave us this id
    activation_token: str = ""  # spec 1.2 ActivationToken, sent just before ActionInvoked


@dataclass(frozen=True)
class _Job:
    token: int
    note: Notification


_STOP = object()


class _Relay(QObject):
    """Lives on the GUI thread; the worker emits, Qt queues the call to this thread."""

    answered = Signal(int, bool)  # token, accepted
    activated = Signal(int, str)  # conversation id, XDG activation token ("" when none)


class _DBusWorker(threading.Thread):
    """Owns the bus connection and every shown notification's state (see the module docstring)."""

    def __init__(self, relay: _Relay, icon_hint: tuple[str, tuple] | None):
        super().__init__(name="notifications-dbus", daemon=True)
        self.inbox: queue.Queue = queue.Queue(maxsize=1024)
        self.relay = relay
        self.icon_hint = icon_hint
        self.conn: Any = None
        self.router: Any = None
        self.filters: list = []
        self.capabilities: frozenset[str] | None = None
        self.shown: OrderedDict[int, _Shown] = OrderedDict()
        self.slots: dict[str, int] = {}  # replace_key -> notification id
        self.server_missing = False  # said once in the log until a server answers again

    def run(self) -> None:
        while True:
            item = self.inbox.get()
            if item is _STOP:
                self._disconnect()
                return
            try:
                if isinstance(item, _Job):
                    emit(self.relay.answered, item.token, self._notify(item.note))
                else:
                    self._signal(item)
            except Exception:  # a bug here must not end the thread: the window would lose every pop-up
                log.exception("desktop notification handling failed")

    # -- requests --

    def _notify(self, note: Notification) -> bool:
        from jeepney import HeaderFields, new_method_call
        from jeepney.wrappers import DBusAddress, DBusErrorResponse, unwrap_msg

        try:
            router = self._connect()
            if self.capabilities is None:
                reply = router.send_and_get_reply(
                    new_method_call(DBusAddress(OBJECT_PATH, SERVICE, SERVICE), "GetCapabilities"),
                    timeout=NOTIFY_TIMEOUT_S,
                )
                caps = unwrap_msg(reply)
                if reply.header.fields.get(HeaderFields.signature) != "as":
                    raise ValueError("GetCapabilities did not answer an array of strings")
                self.capabilities = frozenset(caps[0])
            body = dbus_text(note.body, BODY_MAX)
            if "body-markup" in self.capabilities:
                body = html.escape(body, quote=False)
            replaces = self.slots.get(note.replace_key, 0) if note.replace_key else 0
            hints: dict[str, tuple[str, Any]] = {
                "desktop-entry": ("s", DESKTOP_ID),
                "urgency": ("y", URGENCY_CRITICAL if note.urgent else URGENCY_NORMAL),
                "category": ("s", note.category),
            }
            if self.icon_hint is not None:
                hints["image-data"] = self.icon_hint
            actions = ["default", "Open"] if note.conversation_id is not None else []
            message = new_method_call(
                DBusAddress(OBJECT_PATH, SERVICE, SERVICE),
                "Notify",
                NOTIFY_SIGNATURE,
                (APP_NAME, replaces, DESKTOP_ID, dbus_text(note.title, SUMMARY_MAX), body, actions, hints, -1),
            )
            reply = router.send_and_get_reply(message, timeout=NOTIFY_TIMEOUT_S)
            answer = unwrap_msg(reply)
            if reply.header.fields.get(HeaderFields.signature) != "u":
                raise ValueError("Notify did not answer a notification id")
        except Exception as exc:  # no bus, no server, a hung or odd server: the caller falls back
            log.log(logging.DEBUG if self.server_missing else logging.INFO,
                    "No desktop notification server answered (%s: %s)", type(exc).__name__, str(exc)[:200])
            self.server_missing = True
            self.capabilities = None  # the next pop-up asks again (a server may have started since)
            if not isinstance(exc, (DBusErrorResponse, ValueError, TimeoutError)):
                self._disconnect()  # the bus connection itself failed; the next pop-up reconnects
            return False
        self.server_missing = False
        notification_id = int(answer[0])
        self._remember(notification_id, note, reply.header.fields.get(HeaderFields.sender, ""))
        return True

    def _remember(self, notification_id: int, note: Notification, server: str) -> None:
        self.shown.pop(notification_id, None)
        self.shown[notification_id] = _Shown(note.conversation_id, server)
        while len(self.shown) > MAX_TRACKED:
            old, _ = self.shown.popitem(last=False)
            self._forget_slot(old)
        if note.replace_key:
            self._forget_slot(notification_id)
            self.slots[note.replace_key] = notification_id

    def _forget_slot(self, notification_id: int) -> None:
        for key in [k for k, v in self.slots.items() if v == notification_id]:
            del self.slots[key]

    # -- signals from the server --

    def _signal(self, message) -> None:
        from jeepney import HeaderFields

        fields = message.header.fields
        member, signature = fields.get(HeaderFields.member), fields.get(HeaderFields.signature)
        sender = fields.get(HeaderFields.sender)
        if member == "NameOwnerChanged":
            # The server went away or was replaced: its notifications are gone, its capabilities may differ.
            self.capabilities = None
            self.shown.clear()
            self.slots.clear()
            return
        expected = {"ActionInvoked": "us", "ActivationToken": "us", "NotificationClosed": "uu"}
        if expected.get(member) != signature:
            return
        notification_id = message.body[0]
        shown = self.shown.get(notification_id)
        if shown is None or shown.server != sender:
            return  # not ours, or not from the server that showed it
        if member == "ActivationToken":
            token = message.body[1]
            shown.activation_token = token if len(token) <= 512 and token.isprintable() else ""
        elif member == "ActionInvoked":
            if message.body[1] == "default" and shown.conversation_id is not None:
                emit(self.relay.activated, shown.conversation_id, shown.activation_token)
        else:
            del self.shown[notification_id]
            self._forget_slot(notification_id)

    # -- connection --

    def _connect(self):
        if self.router is not None:
            return self.router
        from jeepney import MatchRule, message_bus
        from jeepney.io.threading import DBusRouter, Proxy, open_dbus_connection

        address = session_bus_address()
        if address is None:
            raise ConnectionError("no D-Bus session bus")
        self.conn = open_dbus_connection(bus=address, auth_timeout=NOTIFY_TIMEOUT_S)
        self.router = DBusRouter(self.conn)
        try:
            # The bus delivers only the notification server's signals (a well-known name as sender is
            # resolved by the bus); our own filter below cannot match a well-known name, so it checks
            # the path and interface, and _signal checks the sender against the id's server.
            bus = Proxy(message_bus, self.router, timeout=NOTIFY_TIMEOUT_S)
            server_rule = MatchRule(type="signal", sender=SERVICE, interface=SERVICE, path=OBJECT_PATH)
            owner_rule = MatchRule(
                type="signal", sender="org.freedesktop.DBus", interface="org.freedesktop.DBus",
                member="NameOwnerChanged",
            )
            owner_rule.add_arg_condition(0, SERVICE)
            bus.AddMatch(server_rule)
            bus.AddMatch(owner_rule)
            local_rule = MatchRule(type="signal", interface=SERVICE, path=OBJECT_PATH)
            self.filters = [
                self.router.filter(local_rule, queue=self.inbox),
                self.router.filter(owner_rule, queue=self.inbox),
            ]
        except Exception:
            self._disconnect()
            raise
        return self.router

    def _disconnect(self) -> None:
        for handle in self.filters:
            handle.close()
        self.filters = []
        if self.router is not None:
            self.router.close()
        if self.conn is not None:
            self.conn.close()
        self.router = self.conn = None
        self.capabilities = None
        self.shown.clear()
        self.slots.clear()


class DBusNotifier(Notifier):
    """org.freedesktop.Notifications through jeepney on a worker thread; `fallback` when no server answers."""

    def __init__(self, fallback: Notifier | None = None, *, icon: QIcon | None = None, parent=None):
        super().__init__(parent)
        self.fallback = fallback
        if fallback is not None:
            fallback.activated.connect(self.activated)
        self._relay = _Relay(self)
        self._relay.answered.connect(self._answered)
        self._relay.activated.connect(self._activated)
        self._pending: dict[int, tuple[Notification, OnResult | None]] = {}
        self._tokens = itertools.count(1)
        self._worker = _DBusWorker(self._relay, image_data(icon) if icon is not None else None)
        self._worker.start()

    def show(self, note: Notification, on_result: OnResult | None) -> None:
        token = next(self._tokens)
        self._pending[token] = (note, on_result)
        try:
            self._worker.inbox.put_nowait(_Job(token, note))
        except queue.Full:  # the worker is stuck behind a hung server: do not pile up
            self._answered(token, False)

    @Slot(int, bool)
    def _answered(self, token: int, accepted: bool) -> None:
        note, on_result = self._pending.pop(token, (None, None))
        if note is None:
            return
        if accepted or self.fallback is None:
            _report(on_result, accepted)
        else:
            self.fallback.show(note, on_result)

    @Slot(int, str)
    def _activated(self, conversation_id: int, activation_token: str) -> None:
        if activation_token:
            # Wayland lets a window take the focus only with the token the server got for the click;
            # Qt's Wayland plugin reads (and clears) this variable when the window asks to be activated.
            os.environ["XDG_ACTIVATION_TOKEN"] = activation_token
        emit(self.activated, conversation_id)

    def tracked(self) -> int:
        """How many notification ids are remembered for a click (diagnostics and tests)."""
        return len(self._worker.shown)

    def close(self) -> None:
        try:
            self._worker.inbox.put(_STOP, timeout=1)
        except queue.Full:
            return  # a daemon thread: it ends with the process
        self._worker.join(1)  # quitting does not wait out a hung server; the process exit closes the socket


def desktop_notifier(tray: QSystemTrayIcon | None, icon: QIcon | None = None) -> Notifier:
    """The notifier for this desktop (see the module docstring); run_gui and the GUI tests use it."""
    balloon = TrayNotifier(tray) if tray is not None else None
    if sys.platform not in ("win32", "darwin"):
        try:
            import jeepney  # noqa: F401
        except ImportError:
            log.warning("jeepney is missing: desktop notifications use the tray only")
        else:
            return DBusNotifier(balloon, icon=icon)
    return balloon if balloon is not None else NullNotifier()


class AlertAnnouncer:
    """Deadline alerts (core/alerts.py) as pop-ups; each is recorded as announced only once its pop-up was
    accepted, so one that could not be shown (or whose notifier raised) comes back next round, and
    never stops the others.

    One round at a time: a round is skipped while the previous one is collecting, showing or recording,
    so a later round never reads the database before the previous round's records are written (and
    never shows an alert twice). The window calls `check()` every 30 s.
    """

    MAX_POPUPS = 5  # more than this in one round become one "N more deadlines" pop-up

    def __init__(self, notifier: Notifier, tasks, core, on_error: Callable[[Exception], None]):
        self.notifier = notifier
        self.tasks = tasks
        self.core = core
        self.on_error = on_error
        self.collecting = False
        self.in_flight = 0  # pop-ups shown or being recorded in this round

    @property
    def busy(self) -> bool:
        return self.collecting or self.in_flight > 0

    def check(self) -> None:
        from socialdesk.core import alerts

        if self.busy:
            return
        core, now = self.core, self.core.clock.now()

        def work():  # the store is reached here, not on the GUI thread: a staged start opens it late
            store, policy, settings = core.store, core.policy, core.settings
            found = alerts.collect(store, now)
            quiet = settings.get("notifications.quiet_when_closed") and not policy().schedule.is_open(now)
            silent = quiet or not settings.get("notifications.enabled")
            if silent:
                alerts.record(store, found)  # handled without a pop-up (core/alerts.py)
            return found, silent

        def done(result) -> None:
            self.collecting = False
            found, silent = result
            if not silent:
                self._announce(found, now)

        def failed(exc: Exception) -> None:
            self.collecting = False
            self.on_error(exc)

        self.collecting = True
        self.tasks.run(work, done, failed)

    def _announce(self, found: list, now) -> None:
        from socialdesk.core import targets

        for alert in found[: self.MAX_POPUPS]:
            left = targets.format_countdown(alert.due_at, now)
            title = ("Overdue: " if alert.kind == "overdue" else "Due soon: ") + alert.customer
            self._show([alert], title, f"{left} — {alert.preview[:160]}", alert.conversation_id,
                       urgent=alert.kind == "overdue", replace_key=f"deadline:{alert.conversation_id}")
        rest = found[self.MAX_POPUPS:]
        if rest:
            self._show(rest, f"{len(rest)} more deadlines", "Open socialdesk to see them.", None,
                       urgent=any(a.kind == "overdue" for a in rest), replace_key="deadline:more")

    def _show(self, batch: list, title: str, body: str, conversation_id: int | None, **kwargs) -> None:
        from socialdesk.core import alerts

        store = self.core.store
        self.in_flight += 1
        answered = False

        def finished(_result=None) -> None:
            self.in_flight -= 1

        def failed(exc: Exception) -> None:
            finished()
            self.on_error(exc)

        def result(accepted: bool) -> None:
            nonlocal answered
            if answered:
                return
            answered = True
            if accepted:
                self.tasks.run(lambda: alerts.record(store, batch), finished, failed)
            else:
                finished()

        try:
            self.notifier.notify(title, body, conversation_id, category=CATEGORY_REMINDER, on_result=result, **kwargs)
        except Exception:  # one failing pop-up must not cost the others theirs
            log.exception("showing a deadline alert failed")
            result(False)


def new_messages_text(count: int, first_customer: str, first_preview: str) -> tuple[str, str]:
    """Batched wording: one message names the customer; several are counted."""
    if count == 1:
        return f"New message from {first_customer}", first_preview[:200]
    return f"{count} new messages", f"Latest from {first_customer}: {first_preview[:160]}"
