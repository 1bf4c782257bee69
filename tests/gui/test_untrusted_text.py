"""Customer HTML in the notification and the tray: shown literally, never interpreted.

The demo profile has a Facebook comment from "<b>Definitely Not Bold</b>" whose text carries a script
and an img tag. tests/gui/test_main_window.py covers the list, thread and row tooltip; here:
- the new-message notification names that customer and quotes the text exactly as written (the
  notifier gets plain text, and the plain-text tray balloon shows it as written);
- the tray tooltip (Qt renders tooltips as rich text) escapes the name of the most urgent customer.
"""

from __future__ import annotations

from datetime import timedelta

from socialdesk.core.changes import ChangeSet
from socialdesk.core.store import Conversation

HTML_NAME = "<b>Definitely Not Bold</b>"


def _html_conversation_id(window) -> int:
    conv = Conversation.get(Conversation.contact_name == HTML_NAME)
    assert conv.id in window.model.ids
    return conv.id


def test_notification_quotes_customer_html_literally(qtbot, window, demo_core):
    conv_id = _html_conversation_id(window)
    demo_core.settings.set("notifications.quiet_when_closed", False)
    window.on_engine_change(ChangeSet({conv_id}, [(conv_id, 0)]))
    qtbot.waitUntil(lambda: bool(window.recording.shown), timeout=5000)
    title, body, shown_id = window.recording.shown[-1]
    assert shown_id == conv_id
    assert title == f"New message from {HTML_NAME}"
    assert "<script>alert('hi')</script>" in body and "<img src=x onerror=alert(1)>" in body
    assert "&lt;" not in title + body  # not escaped for a plain-text surface either


def test_tray_balloon_shows_customer_text_as_written(qtbot, monkeypatch):
    """The balloon is plain text wherever it is drawn (Qt's own balloon sets Qt::PlainText; Windows and
    macOS balloons are plain), so escaping would show `what&#x27;s`. Markup escaping belongs to the
    D-Bus route, and only for servers with body-markup (tests/gui/test_notifications.py)."""
    from socialdesk.ui.notifications import TrayNotifier
    from socialdesk.ui.tray import Tray

    tray = Tray()
    tray.show()
    shown = []
    monkeypatch.setattr(tray, "showMessage", lambda title, body, *rest: shown.append((title, body)))
    TrayNotifier(tray).notify(f"New message from {HTML_NAME}", "what's <script>x</script> & 5 > 3", 7)
    assert shown == [(f"New message from {HTML_NAME}", "what's <script>x</script> & 5 > 3")]


def test_tray_tooltip_escapes_the_most_urgent_customer_name(qtbot, window, demo_core):
    conv_id = _html_conversation_id(window)
    now = demo_core.clock.now()
    with demo_core.store.write():
        # Make the HTML customer the most urgent item: overdue the longest.
        Conversation.update(due_at=now + timedelta(days=3), due_soon_at=now + timedelta(days=2)).where(
            Conversation.id != conv_id).execute()
        Conversation.update(due_at=now - timedelta(hours=5), due_soon_at=now - timedelta(hours=6)).where(
            Conversation.id == conv_id).execute()
    window.load_view()
    qtbot.waitUntil(lambda: "Definitely Not Bold" in window.tray.toolTip(), timeout=5000)
    tip = window.tray.toolTip()
    assert "Next: &lt;b&gt;Definitely Not Bold&lt;/b&gt;" in tip
    assert HTML_NAME not in tip
