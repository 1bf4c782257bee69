"""End to end: `socialdesk --demo` (a subprocess, offscreen, so without a tray) on a private D-Bus session.

With a notification server on that bus (tests/fakes/notification_server.py, which refuses any Notify
whose signature is not the spec's), the window's first new-message pop-up reaches it with the spec's
types and hints, and a click on it is handled; with no server, the app says so in its log and keeps
running. The click's effect in the window and the tray balloon are tested in tests/gui/test_notifications.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from socialdesk import DESKTOP_ID, paths
from tests.fakes.notification_server import NOTIFY_SIGNATURE, notification_server, private_session_bus

START_S = 90  # a generous bound for start-up on a busy machine; not a measurement


def _demo_profile_without_quiet_hours() -> Path:
    """The demo profile, seeded as the window seeds it, with pop-ups allowed at any hour (the demo
    bakery is closed at night, and a closed business gets no pop-ups by default)."""
    from socialdesk.app import build_core, seed_demo

    core = build_core(paths.profile(paths.DEMO_PROFILE))
    try:
        seed_demo(core)
        core.settings.set("notifications.quiet_when_closed", False)
        return core.profile.log_file
    finally:
        core.close()


def _read(log_file: Path) -> str:
    return log_file.read_text(encoding="utf-8") if log_file.exists() else ""  # the app creates it


def _start_window(home: Path, bus_address: str) -> subprocess.Popen:
    env = dict(os.environ, SOCIALDESK_HOME=str(home), QT_QPA_PLATFORM="offscreen",
               DBUS_SESSION_BUS_ADDRESS=bus_address)
    return subprocess.Popen([sys.executable, "-m", "socialdesk", "--demo"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _stop(proc: subprocess.Popen) -> str:
    proc.terminate()
    try:
        _out, err = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        _out, err = proc.communicate(timeout=5)
    return err


def test_the_window_notifies_through_the_desktops_notification_server(socialdesk_home):
    log_file = _demo_profile_without_quiet_hours()
    with private_session_bus() as address, notification_server(address) as server:
        proc = _start_window(socialdesk_home, address)
        try:
            call = server.wait_for_calls(1, timeout=START_S)[0]
            assert server.rejected == []
            assert call.signature == NOTIFY_SIGNATURE
            assert (call.app_name, call.app_icon, call.replaces_id, call.expire_timeout) == (
                "socialdesk", DESKTOP_ID, 0, -1)
            assert call.summary.startswith("New message from ") or call.summary.endswith(" new messages")
            assert call.actions == ["default", "Open"]
            assert call.hints["desktop-entry"] == ("s", DESKTOP_ID)
            assert call.hints["category"] == ("s", "im.received")
            assert call.hints["urgency"] == ("y", 1)
            assert call.hints["image-data"][0] == "(iiibiiay)"
            server.click(call.returned_id)  # the app opens the conversation and forgets the closed id
            time.sleep(1)  # give a crash on the click a moment to happen; nothing is measured
            assert proc.poll() is None, proc.stderr.read()
        finally:
            err = _stop(proc)
    assert "Traceback" not in err
    assert "Traceback" not in _read(log_file)


def test_without_a_notification_server_the_window_says_so_and_runs_on(socialdesk_home):
    log_file = _demo_profile_without_quiet_hours()
    with private_session_bus() as address:
        proc = _start_window(socialdesk_home, address)
        try:
            deadline = time.monotonic() + START_S
            while "No desktop notification server answered" not in _read(log_file):
                assert proc.poll() is None, proc.stderr.read()
                assert time.monotonic() < deadline, "no pop-up was attempted"
                time.sleep(0.2)
            assert proc.poll() is None
        finally:
            err = _stop(proc)
    assert "Traceback" not in err
    log = _read(log_file)
    assert "ServiceUnknown" in log and "Traceback" not in log
