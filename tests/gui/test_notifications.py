"""Desktop notifications against a notification server on a private D-Bus session bus.

The bus is a real dbus-daemon and the server (tests/fakes/notification_server.py) speaks the real
org.freedesktop.Notifications interface and refuses a Notify whose signature is not `susssasa{sv}i`.
The window is wired as run_gui wires it (app.wire_window + notifications.desktop_notifier). Checked:
Notify's arguments and hints, markup escaping only where the server renders it, one batch pop-up
replaced in place, a click selecting the conversation in the tab that is highlighted, NotificationClosed
forgetting ids, signals from strangers ignored, the balloon when no server answers (text exactly as
written; tests/gui/test_untrusted_text.py has the balloon's own test), and deadline alerts recorded
only once a pop-up was accepted.
"""

from __future__ import annotations

import pytest

from socialdesk import DESKTOP_ID
from socialdesk.core import queue
from socialdesk.core.changes import ChangeSet
from socialdesk.core.store import Conversation
from socialdesk.ui import icons
from socialdesk.ui import notifications as notifications_mod
from socialdesk.ui.main_window import TAB_VIEWS
from socialdesk.ui.notifications import DBusNotifier, RecordingNotifier, desktop_notifier
from tests.fakes.notification_server import NOTIFY_SIGNATURE, notification_server, private_session_bus

WAIT_MS = 10_000


@pytest.fixture
def bus(monkeypatch):
    with private_session_bus() as address:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
        yield address


@pytest.fixture
def server(bus):
    with notification_server(bus) as srv:
        yield srv


@pytest.fixture
def notifiers():
    made = []
    yield made
    for notifier in made:
        notifier.close()


def _dbus(notifiers, tray=None) -> DBusNotifier:
    notifier = desktop_notifier(tray, icons.tray_icon(0, False))
    assert isinstance(notifier, DBusNotifier)
    notifiers.append(notifier)
    return notifier


@pytest.fixture
def live_window(qtbot, demo_core, server, notifiers):
    """The window with the notifier run_gui builds (no tray: offscreen has none)."""
    win = _window_with(qtbot, demo_core, _dbus(notifiers))
    qtbot.waitUntil(lambda: win.current_id is not None, timeout=5000)
    yield win
    win.tasks.wait(5000)


def _window_with(qtbot, demo_core, notifier):
    """The window as app.wire_window builds it, around `notifier`, with pop-ups allowed at any hour."""
    from socialdesk.app import wire_window

    demo_core.settings.set("notifications.quiet_when_closed", False)
    win, _tasks, _relay = wire_window(demo_core, notifier=notifier, tray=None, demo=True)
    qtbot.addWidget(win)
    win.show()
    win.start()
    qtbot.waitUntil(lambda: win.model.rowCount() > 0, timeout=5000)
    return win


def _calls(qtbot, server, count):
    """Wait for Notify calls while the event loop runs (the window's path needs it)."""
    qtbot.waitUntil(lambda: len(server.calls) >= count, timeout=WAIT_MS)
    return server.wait_for_calls(count, timeout=0)


def _result_recorder():
    results: list[bool] = []
    return results, results.append


def test_notify_sends_the_spec_types_and_hints(qtbot, server, notifiers):
    notifier = _dbus(notifiers)
    results, on_result = _result_recorder()
    notifier.notify("Overdue: Léa", "2 h over — where's my order?", 7, urgent=True,
                    category=notifications_mod.CATEGORY_REMINDER, on_result=on_result)
    (call,) = server.wait_for_calls(1)
    assert server.rejected == []
    assert call.signature == NOTIFY_SIGNATURE == "susssasa{sv}i"
    assert (call.app_name, call.replaces_id, call.app_icon) == ("socialdesk", 0, DESKTOP_ID)
    assert (call.summary, call.body) == ("Overdue: Léa", "2 h over — where's my order?")  # no body-markup
    assert call.actions == ["default", "Open"]
    assert call.expire_timeout == -1  # the server's (the owner's) default
    assert call.hints["desktop-entry"] == ("s", DESKTOP_ID)
    assert call.hints["urgency"] == ("y", 2)  # critical: overdue
    assert call.hints["category"] == ("s", "im")
    signature, (width, height, rowstride, alpha, bits, channels, data) = call.hints["image-data"]
    assert signature == "(iiibiiay)" and (alpha, bits, channels) == (True, 8, 4)
    assert width == height == 64 and rowstride == width * 4 and len(data) == rowstride * height
    qtbot.waitUntil(lambda: results == [True], timeout=WAIT_MS)

    notifier.notify("New message from Sam", "hi", 8, on_result=on_result)
    call = server.wait_for_calls(2)[1]
    assert call.hints["urgency"] == ("y", 1) and call.hints["category"] == ("s", "im.received")


@pytest.mark.parametrize("capabilities, body", [
    (("body", "actions"), "what's <b>new</b> & ok"),
    (("body", "actions", "body-markup"), "what's &lt;b&gt;new&lt;/b&gt; &amp; ok"),
])
def test_body_is_escaped_only_where_the_server_renders_markup(qtbot, bus, notifiers, capabilities, body):
    with notification_server(bus, capabilities=capabilities) as server:
        notifier = _dbus(notifiers)
        notifier.notify("What's <b>new</b>", "what's <b>new</b> & ok", 1)
        (call,) = server.wait_for_calls(1)
    assert call.body == body  # never &#x27;: GNOME Shell would show it literally
    assert call.summary == "What's <b>new</b>"  # the summary is plain text by the spec


def test_text_a_dbus_string_cannot_carry_is_cleaned_not_fatal(qtbot, server, notifiers):
    notifier = _dbus(notifiers)
    results, on_result = _result_recorder()
    notifier.notify("Sam\x00", "a\x00b \ud800c", 1, on_result=on_result)
    (call,) = server.wait_for_calls(1)
    assert (call.summary, call.body) == ("Sam", "ab ?c")
    qtbot.waitUntil(lambda: results == [True], timeout=WAIT_MS)


def test_new_message_popups_replace_each_other(qtbot, live_window, server):
    ids = live_window.model.ids[:3]
    live_window.on_engine_change(ChangeSet({ids[0]}, [(ids[0], 0)]))
    first = _calls(qtbot, server, 1)[0]
    live_window.on_engine_change(ChangeSet(set(ids[1:]), [(ids[1], 0), (ids[2], 0)]))
    second = _calls(qtbot, server, 2)[1]
    assert first.replaces_id == 0
    assert second.replaces_id == first.returned_id == second.returned_id
    assert second.summary == "2 new messages"
    assert second.hints["category"] == ("s", "im.received")
    assert list(server.open) == [first.returned_id]  # one pop-up on the desktop, not two


def _assert_selected_in_highlighted_tab(window, conv_id):
    assert window.current_id == conv_id
    assert window.view in TAB_VIEWS
    assert window.tabs.currentIndex() == TAB_VIEWS.index(window.view)
    assert window.tabs.tabText(window.tabs.currentIndex()).startswith(queue.VIEW_TITLES[window.view])
    assert window.model.row_of(conv_id) == window.table.currentIndex().row()


def test_clicking_a_popup_opens_its_conversation_in_a_consistent_tab(qtbot, live_window, server, demo_core):
    window = live_window
    conv_id = window.model.ids[-1]
    now = demo_core.clock.now()
    queue.set_status(demo_core.store, conv_id, "waiting", demo_core.policy(), now)  # not in Awaiting
    window.load_view()
    qtbot.waitUntil(lambda: window.model.row_of(conv_id) is None, timeout=WAIT_MS)
    assert window.view == "awaiting"
    window.notifier.notify("New message from someone", "hello", conv_id)
    (call,) = server.wait_for_calls(1)
    server.click(call.returned_id, token="token-from-the-compositor")
    qtbot.waitUntil(lambda: window.current_id == conv_id, timeout=WAIT_MS)
    _assert_selected_in_highlighted_tab(window, conv_id)
    assert "waiting" in queue.views_of(conv_id, now) and window.view != "awaiting"
    # The server sent NotificationClosed after the click: the id is forgotten.
    qtbot.waitUntil(lambda: window.notifier.tracked() == 0, timeout=WAIT_MS)


def test_click_clears_a_search_that_hides_the_conversation(qtbot, live_window, server):
    window = live_window
    conv_id = window.model.ids[1]
    window.search.setText("zzzz-no-such-words")
    qtbot.waitUntil(lambda: window.model.rowCount() == 0, timeout=WAIT_MS)
    window.notifier.notify("New message", "hello", conv_id)
    (call,) = server.wait_for_calls(1)
    server.click(call.returned_id)
    qtbot.waitUntil(lambda: window.current_id == conv_id, timeout=WAIT_MS)
    _assert_selected_in_highlighted_tab(window, conv_id)
    assert window.view == "awaiting" and window.search.text() == ""


def test_closed_popups_are_forgotten_and_the_map_is_bounded(qtbot, server, notifiers, monkeypatch):
    notifier = _dbus(notifiers)
    opened: list[int] = []
    notifier.activated.connect(opened.append)
    for conv in (1, 2, 3):
        notifier.notify("t", "b", conv)
    calls = server.wait_for_calls(3)
    qtbot.waitUntil(lambda: notifier.tracked() == 3, timeout=WAIT_MS)
    for call in calls:
        server.close(call.returned_id)
    qtbot.waitUntil(lambda: notifier.tracked() == 0, timeout=WAIT_MS)
    # A click on a closed notification's id opens nothing.
    server.open[calls[0].returned_id] = calls[0].sender
    server.click(calls[0].returned_id)
    notifier.notify("after", "b", 9)  # the worker handles signals and requests in order
    server.wait_for_calls(4)
    qtbot.waitUntil(lambda: notifier.tracked() == 1, timeout=WAIT_MS)
    assert opened == []
    # Servers that keep notifications may never close them: only the newest ids are remembered.
    monkeypatch.setattr(notifications_mod, "MAX_TRACKED", 3)
    for conv in range(10, 16):
        notifier.notify("t", "b", conv)
    server.wait_for_calls(10)
    qtbot.waitUntil(lambda: notifier.tracked() == 3, timeout=WAIT_MS)


def test_a_click_signal_from_another_client_is_ignored(qtbot, bus, server, notifiers):
    from jeepney import DBusAddress, new_signal
    from jeepney.io.threading import open_dbus_connection

    notifier = _dbus(notifiers)
    opened: list[int] = []
    notifier.activated.connect(opened.append)
    notifier.notify("t", "b", 5)
    (call,) = server.wait_for_calls(1)
    qtbot.waitUntil(lambda: notifier.tracked() == 1, timeout=WAIT_MS)
    stranger = open_dbus_connection(bus=bus)
    try:
        stranger.send(new_signal(DBusAddress(notifications_mod.OBJECT_PATH, interface=notifications_mod.SERVICE),
                                 "ActionInvoked", "us", (call.returned_id, "default")))
    finally:
        stranger.close()
    server.click(call.returned_id)  # the real server's click comes after the stranger's
    qtbot.waitUntil(lambda: opened == [5], timeout=WAIT_MS)
    qtbot.wait(100)
    assert opened == [5]


# --- no notification server ---------------------------------------------------------------------------


def _shown_tray(monkeypatch):
    from socialdesk.ui.tray import Tray

    tray = Tray()
    tray.show()
    balloons: list[tuple[str, str]] = []
    monkeypatch.setattr(tray, "showMessage", lambda title, body, *rest: balloons.append((title, body)))
    return tray, balloons


def test_without_a_server_the_balloon_shows_the_text_as_written(qtbot, bus, notifiers, monkeypatch):
    tray, balloons = _shown_tray(monkeypatch)
    notifier = _dbus(notifiers, tray)
    opened: list[int] = []
    notifier.activated.connect(opened.append)
    results, on_result = _result_recorder()
    notifier.notify("New message from <b>Al</b>", "what's <b>up</b> & more", 4, on_result=on_result)
    qtbot.waitUntil(lambda: results == [True], timeout=WAIT_MS)
    assert balloons == [("New message from <b>Al</b>", "what's <b>up</b> & more")]
    emit_clicked = tray.messageClicked.emit
    emit_clicked()
    assert opened == [4]


def test_a_server_that_starts_later_is_used_from_then_on(qtbot, bus, notifiers, monkeypatch):
    tray, balloons = _shown_tray(monkeypatch)
    notifier = _dbus(notifiers, tray)
    results, on_result = _result_recorder()
    notifier.notify("first", "b", 1, on_result=on_result)
    qtbot.waitUntil(lambda: results == [True], timeout=WAIT_MS)
    assert [title for title, _ in balloons] == ["first"]
    with notification_server(bus) as server:
        notifier.notify("second", "b", 2, on_result=on_result)
        (call,) = server.wait_for_calls(1)
        qtbot.waitUntil(lambda: results == [True, True], timeout=WAIT_MS)
    assert call.summary == "second"
    assert [title for title, _ in balloons] == ["first"]


def test_no_server_and_no_tray_refuses_the_popup(qtbot, bus, notifiers):
    notifier = _dbus(notifiers)
    results, on_result = _result_recorder()
    notifier.notify("t", "b", 1, on_result=on_result)
    qtbot.waitUntil(lambda: results == [False], timeout=WAIT_MS)


def test_no_session_bus_at_all_uses_the_balloon(qtbot, notifiers, monkeypatch, tmp_path):
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))  # no "bus" socket there
    tray, balloons = _shown_tray(monkeypatch)
    notifier = _dbus(notifiers, tray)
    results, on_result = _result_recorder()
    notifier.notify("t", "b", 1, on_result=on_result)
    qtbot.waitUntil(lambda: results == [True], timeout=WAIT_MS)
    assert balloons == [("t", "b")]


# --- deadline alerts: recorded only once shown ------------------------------------------------------------


def _make_due_soon(demo_core, window, count):
    from datetime import timedelta

    now = demo_core.clock.now()
    with demo_core.store.write():
        Conversation.update(due_at=now + timedelta(days=3), due_soon_at=now + timedelta(days=2)).execute()
        targets = window.model.ids[:count]
        Conversation.update(due_at=now + timedelta(minutes=10), due_soon_at=now - timedelta(minutes=1)).where(
            Conversation.id.in_(targets)).execute()
    return targets


class _FlakyNotifier(RecordingNotifier):
    """Raises for the first pop-up of each conversation in `fail_once`."""

    def __init__(self, fail_once):
        super().__init__()
        self.fail_once = set(fail_once)

    def show(self, note, on_result):
        if note.conversation_id in self.fail_once:
            self.fail_once.discard(note.conversation_id)
            raise RuntimeError("the notification service went away")
        super().show(note, on_result)


def test_an_alert_whose_popup_failed_is_shown_next_time(qtbot, demo_core):
    notifier = RecordingNotifier(accept=False)
    window = _window_with(qtbot, demo_core, notifier)
    (target,) = _make_due_soon(demo_core, window, 1)
    idle = lambda: not window.alert_announcer.busy and window.tasks.pending() == 0  # noqa: E731
    window.check_alerts()
    qtbot.waitUntil(lambda: len(notifier.notes) == 1 and idle(), timeout=WAIT_MS)
    assert Conversation.get_by_id(target).notified_due_soon_at is None  # not recorded: it was not shown
    notifier.accept = True
    window.check_alerts()
    qtbot.waitUntil(lambda: len(notifier.shown) == 1 and idle(), timeout=WAIT_MS)
    assert Conversation.get_by_id(target).notified_due_soon_at is not None
    window.check_alerts()
    qtbot.waitUntil(idle, timeout=WAIT_MS)
    assert len(notifier.notes) == 2  # recorded now: never again for this deadline


def test_one_failing_alert_does_not_stop_the_others(qtbot, demo_core):
    window = _window_with(qtbot, demo_core, RecordingNotifier())
    targets = _make_due_soon(demo_core, window, 3)
    notifier = _FlakyNotifier(fail_once=[targets[0]])
    window.alert_announcer.notifier = notifier
    idle = lambda: not window.alert_announcer.busy and window.tasks.pending() == 0  # noqa: E731
    window.check_alerts()
    qtbot.waitUntil(lambda: len(notifier.shown) == 2 and idle(), timeout=WAIT_MS)
    window.check_alerts()  # the failed one is due again; the shown two are not repeated
    qtbot.waitUntil(lambda: len(notifier.shown) == 3 and idle(), timeout=WAIT_MS)
    assert sorted(conv for _t, _b, conv in notifier.shown) == sorted(targets)
    assert all(note.replace_key == f"deadline:{note.conversation_id}" for note in notifier.notes)
