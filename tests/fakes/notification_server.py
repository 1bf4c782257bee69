"""A private D-Bus session bus and a small org.freedesktop.Notifications server, for tests.

- `private_session_bus()` starts `dbus-daemon --nofork --print-address` with a configuration of its own
  (a session bus listening in a fresh temporary folder, and *no* service folders, so a notification
  daemon installed on the machine can never be started by activation and answer in our place). The
  daemon is killed when the block ends, and by the kernel if the test process dies first
  (PR_SET_PDEATHSIG), so it always stops by itself.
- `NotificationServer` owns the well-known name on that bus and speaks the interface of the Desktop
  Notifications Specification 1.2: Notify must arrive with exactly the signature `susssasa{sv}i`, as a
  real server demands (anything else gets org.freedesktop.DBus.Error.InvalidArgs); ids are unsigned,
  replaces_id of a shown notification keeps its id; it can click a notification (ActivationToken +
  ActionInvoked) and close it (NotificationClosed), as a user would. It runs on its own thread and
  stops with the block.
"""

from __future__ import annotations

import ctypes
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

from jeepney import DBusAddress, HeaderFields, MessageType, new_error, new_method_return, new_signal
from jeepney.bus_messages import DBusNameFlags, message_bus
from jeepney.io.threading import DBusConnection, DBusRouter, Proxy, ReceiveStopped, open_dbus_connection

SERVICE = "org.freedesktop.Notifications"
PATH = "/org/freedesktop/Notifications"
NOTIFY_SIGNATURE = "susssasa{sv}i"

_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={dir}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


def dbus_daemon() -> str:
    path = shutil.which("dbus-daemon")
    if path is None:
        raise RuntimeError("dbus-daemon is not installed (Debian: apt-get install dbus-daemon)")
    return path


def _die_with_parent() -> None:
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@contextmanager
def private_session_bus() -> Iterator[str]:
    """A session bus of our own; yields its address (for DBUS_SESSION_BUS_ADDRESS)."""
    folder = tempfile.mkdtemp(prefix="sdbus-")  # short: a unix socket path has ~100 bytes
    config = os.path.join(folder, "bus.conf")
    with open(config, "w", encoding="utf-8") as f:
        f.write(_CONFIG.format(dir=folder))
    proc = subprocess.Popen(
        [dbus_daemon(), f"--config-file={config}", "--nofork", "--print-address"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
    )
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 20)
        address = proc.stdout.readline().strip() if ready else ""
        if not address:
            raise RuntimeError(f"dbus-daemon did not start: {proc.stderr.read() if proc.poll() is not None else ''}")
        yield address
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        shutil.rmtree(folder, ignore_errors=True)


@dataclass(frozen=True)
class NotifyCall:
    signature: str
    app_name: str
    replaces_id: int
    app_icon: str
    summary: str
    body: str
    actions: list[str]
    hints: dict[str, tuple[str, Any]]  # name -> (D-Bus type, value), as sent
    expire_timeout: int
    returned_id: int
    sender: str


class NotificationServer:
    """org.freedesktop.Notifications on `address`, recording every Notify."""

    def __init__(self, address: str, capabilities: tuple[str, ...] = ("body", "actions")):
        self.capabilities = list(capabilities)
        self.calls: list[NotifyCall] = []
        self.rejected: list[str] = []  # signatures refused with InvalidArgs
        self.open: dict[int, str] = {}  # notification id -> the client's unique name
        self._next_id = 0
        self._changed = threading.Condition()
        self.conn: DBusConnection = open_dbus_connection(bus=address)
        with DBusRouter(self.conn) as router:  # only to wait for the answer; the thread below reads after
            (result,) = Proxy(message_bus, router, timeout=10).RequestName(SERVICE, DBusNameFlags.do_not_queue)
        if result != 1:  # DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER
            raise RuntimeError(f"could not own {SERVICE} on the test bus ({result})")
        self._thread = threading.Thread(target=self._serve, name="fake-notification-server", daemon=True)
        self._thread.start()

    # -- what a user does --

    def click(self, notification_id: int, token: str = "") -> None:
        """The user clicks the notification body: ActivationToken (if any), ActionInvoked("default"), closed."""
        client = self.open.get(notification_id, None)
        if token:
            self._emit("ActivationToken", "us", (notification_id, token), client)
        self._emit("ActionInvoked", "us", (notification_id, "default"), client)
        self.close(notification_id, reason=2)

    def close(self, notification_id: int, reason: int = 2) -> None:
        client = self.open.pop(notification_id, None)
        self._emit("NotificationClosed", "uu", (notification_id, reason), client)

    def _emit(self, member: str, signature: str, body: tuple, destination: str | None) -> None:
        message = new_signal(DBusAddress(PATH, interface=SERVICE), member, signature, body)
        if destination:  # servers send these to the client that asked (GNOME, KDE do)
            message.header.fields[HeaderFields.destination] = destination
        self.conn.send(message)

    def wait_for_calls(self, count: int, timeout: float = 20) -> list[NotifyCall]:
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.calls) >= count, timeout):
                raise AssertionError(f"expected {count} Notify calls, got {len(self.calls)}: {self.calls}")
            return list(self.calls)

    # -- the server side --

    def _serve(self) -> None:
        try:
            while True:
                msg = self.conn.receive()
                if msg.header.message_type is MessageType.method_call:
                    self._call(msg)
        except (ReceiveStopped, OSError, ValueError):
            return

    def _call(self, msg) -> None:
        fields = msg.header.fields
        if fields.get(HeaderFields.path) != PATH:
            return
        member = fields.get(HeaderFields.member)
        signature = fields.get(HeaderFields.signature, "")
        sender = fields.get(HeaderFields.sender, "")
        if member == "GetCapabilities":
            self.conn.send(new_method_return(msg, "as", (self.capabilities,)))
        elif member == "GetServerInformation":
            self.conn.send(new_method_return(msg, "ssss", ("fake", "socialdesk tests", "1.0", "1.2")))
        elif member == "Notify":
            if signature != NOTIFY_SIGNATURE:
                self.rejected.append(signature)
                self.conn.send(new_error(msg, "org.freedesktop.DBus.Error.InvalidArgs", "s",
                                         (f"Type of message, '({signature})', does not match expected type "
                                          f"'({NOTIFY_SIGNATURE})'",)))
                return
            app_name, replaces_id, app_icon, summary, body, actions, hints, expire = msg.body
            with self._changed:
                if replaces_id and replaces_id in self.open:
                    notification_id = replaces_id
                else:
                    self._next_id += 1
                    notification_id = self._next_id
                self.open[notification_id] = sender
                # Answer first, then record: a test that saw the call may stop the server at once.
                self.conn.send(new_method_return(msg, "u", (notification_id,)))
                self.calls.append(NotifyCall(signature, app_name, replaces_id, app_icon, summary, body, actions,
                                             dict(hints), expire, notification_id, sender))
                self._changed.notify_all()
        elif member == "CloseNotification" and signature == "u":
            self.conn.send(new_method_return(msg))
            self.close(msg.body[0], reason=3)
        else:
            self.conn.send(new_error(msg, "org.freedesktop.DBus.Error.UnknownMethod", "s", (str(member),)))

    def stop(self) -> None:
        self.conn.close()  # interrupts the receive: the thread ends
        self._thread.join(5)


@contextmanager
def notification_server(address: str, **kwargs) -> Iterator[NotificationServer]:
    server = NotificationServer(address, **kwargs)
    try:
        yield server
    finally:
        server.stop()
