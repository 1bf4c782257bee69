"""The main window on the demo profile: queue, thread, sending, triage keys, tray, untrusted text."""

from __future__ import annotations

from PySide6.QtCore import Qt

from socialdesk.core import queue
from socialdesk.core.store import Conversation, Outbox
from socialdesk.ui import actions as actions_mod
from socialdesk.ui.queue_model import COLUMNS, RowRole


def _wait_idle(qtbot, win):
    qtbot.waitUntil(lambda: win.tasks.pending() == 0, timeout=5000)


def _row_for(win, predicate):
    for r in range(win.model.rowCount()):
        row = win.model.data(win.model.index(r, 0), RowRole)
        if row is not None and predicate(row):
            return r, row
    raise AssertionError("no such row in the queue")


def test_queue_shows_demo_items_most_urgent_first(window, demo_core):
    now = demo_core.clock.now()
    expected = queue.list_ids("awaiting", now)
    assert window.model.ids == expected
    assert len(expected) >= 15
    # the model renders customer names and previews from the store
    names = {window.model.data(window.model.index(r, COLUMNS.index("customer"))) for r in range(5)}
    assert all(isinstance(n, str) and n for n in names)
    assert window.tabs.tabText(0) == f"Awaiting ({len(expected)})"


def test_selecting_shows_thread_as_plain_text(qtbot, window):
    r, row = _row_for(window, lambda row: "script" in row.preview)
    window._select_row(r)
    qtbot.waitUntil(lambda: "<script>alert('hi')</script>" in window.thread_view.plain_text(), timeout=5000)
    # the HTML in the message and in the author's name was not interpreted
    assert "<img src=x onerror=alert(1)>" in window.thread_view.plain_text()
    assert "<b>Definitely Not Bold</b>" in window.header.text()
    tooltip = window.model.data(window.model.index(r, 1), Qt.ItemDataRole.ToolTipRole)
    assert "&lt;script&gt;" in tooltip and "<script>" not in tooltip


def test_ctrl_enter_sends_and_item_leaves_awaiting(qtbot, window, demo_core):
    first_id = window.current_id
    window.focus_composer()
    qtbot.keyClicks(window.composer.edit, "Thanks so much, we'll have it ready!")
    qtbot.keyClick(window.composer.edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: Outbox.select().where(Outbox.conversation == first_id).exists(), timeout=5000)
    conv = Conversation.get_by_id(first_id)
    assert conv.awaiting_since is None
    qtbot.waitUntil(lambda: first_id not in window.model.ids, timeout=5000)
    # the next most urgent conversation is selected and the composer is empty again
    assert window.current_id is not None and window.current_id != first_id
    assert window.composer.text() == ""
    demo_core.engine.flush_outbox()
    assert Outbox.get(Outbox.conversation == first_id).state == "sent"


def test_failed_send_keeps_the_text(qtbot, window, monkeypatch):
    from socialdesk.core import outbox

    def refuse(*args, **kwargs):
        raise outbox.OutboxError("simulated refusal")

    monkeypatch.setattr(outbox, "enqueue_reply", refuse)
    shown = []
    monkeypatch.setattr("socialdesk.ui.main_window.QMessageBox.warning", lambda *a: shown.append(a[2]))
    window.composer.edit.setPlainText("Important answer")
    window.send_reply()
    qtbot.waitUntil(lambda: bool(shown), timeout=5000)
    assert shown == ["simulated refusal"]
    assert window.composer.text() == "Important answer"


def test_triage_keys_navigate_and_mark_done(qtbot, window):
    window.table.setFocus()
    first = window.current_id
    qtbot.keyClick(window.table, "j")
    qtbot.waitUntil(lambda: window.current_id != first, timeout=2000)
    second = window.current_id
    qtbot.keyClick(window.table, "k")
    qtbot.waitUntil(lambda: window.current_id == first, timeout=2000)
    qtbot.keyClick(window.table, "e")
    qtbot.waitUntil(lambda: Conversation.get_by_id(first).status == "done", timeout=5000)
    qtbot.waitUntil(lambda: window.current_id == second, timeout=5000)
    assert first not in window.model.ids


def test_single_keys_do_not_fire_while_typing(qtbot, window):
    current = window.current_id
    window.focus_composer()
    qtbot.keyClicks(window.composer.edit, "e!wjk")
    _wait_idle(qtbot, window)
    assert window.composer.text() == "e!wjk"
    assert Conversation.get_by_id(current).status == "open"
    assert window.current_id == current


def test_tray_count_follows_the_queue(qtbot, window):
    awaiting = len(window.model.ids)
    assert window.tray.count == awaiting
    window.table.setFocus()
    qtbot.keyClick(window.table, "e")
    qtbot.waitUntil(lambda: window.tray.count == awaiting - 1, timeout=5000)
    assert "awaiting an answer" in window.tray.toolTip()


def test_palette_and_cheat_sheet_list_every_action(qtbot, window):
    window.command_palette()
    listing = window.palette_dialog.findChild(type(window.palette_dialog.children()[-1]))
    assert listing is not None
    window.palette_dialog.close()
    window.cheat_sheet()
    from socialdesk.ui.keyboard_help import sheet_rows

    listing = window.cheat_sheet_dialog.findChild(__import__("PySide6.QtWidgets", fromlist=["QListWidget"]).QListWidget)
    titles = {title for _group, title, _keys in sheet_rows(listing)}
    assert titles == {spec.title for spec in window.action_specs}
    assert {spec.title for spec in actions_mod.ACTIONS} <= titles
    window.cheat_sheet_dialog.close()


def test_new_messages_are_announced_in_one_batch(qtbot, window, demo_core):
    from socialdesk.core.changes import ChangeSet

    conv_ids = window.model.ids[:3]
    demo_core.settings.set("notifications.quiet_when_closed", False)
    window.on_engine_change(ChangeSet(set(conv_ids), [(c, 0) for c in conv_ids]))
    qtbot.waitUntil(lambda: bool(window.recording.shown), timeout=5000)
    assert len(window.recording.shown) == 1
    title, _body, conv_id = window.recording.shown[0]
    assert title == "3 new messages" and conv_id == conv_ids[-1]


def test_readme_lists_every_window_shortcut(qapp):
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    for spec in actions_mod.ACTIONS:
        assert f"| {actions_mod.key_text(spec)} | {spec.title} |" in readme, spec.id


def test_due_soon_alert_is_shown_exactly_once(qtbot, window, demo_core):
    from datetime import timedelta

    demo_core.settings.set("notifications.quiet_when_closed", False)
    now = demo_core.clock.now()
    with demo_core.store.write():
        Conversation.update(due_at=now + timedelta(days=3), due_soon_at=now + timedelta(days=2)).execute()
        target = Conversation.get_by_id(window.model.ids[0])
        target.due_at, target.due_soon_at = now + timedelta(minutes=10), now - timedelta(minutes=1)
        target.save()
    window.check_alerts()
    qtbot.waitUntil(lambda: bool(window.recording.shown), timeout=5000)
    window.check_alerts()
    _wait_idle(qtbot, window)
    assert len(window.recording.shown) == 1
    title, body, conv_id = window.recording.shown[0]
    assert title.startswith("Due soon: ") and conv_id == target.id and "left" in body


def test_composer_counts_to_the_accounts_own_limit(qtbot, window, demo_core):
    """A Mastodon instance that allows 1,000 characters (learned by the account check): 600 fit there,
    and the same text is over the default 500 once the account no longer has a learned limit."""
    from socialdesk.core.store import Account

    mastodon = next(a for a in Account.select() if queue.channel_of(a) == "mastodon")
    r, _row = _row_for(window, lambda row: row.account_id == mastodon.id)
    window._select_row(r)
    qtbot.waitUntil(lambda: window.composer.row is not None and window.composer.row.account_id == mastodon.id,
                    timeout=5000)
    # The account check learned the instance's limit (core.accounts.remember_check); the window hears
    # of account changes through refresh_accounts, as after the Accounts dialog's Test or Save.
    with demo_core.store.write():
        Account.update(settings={**mastodon.settings, "text_limit": 1_000}).where(Account.id == mastodon.id).execute()
    window.refresh_accounts()
    qtbot.waitUntil(lambda: window.composer.limit_override == 1_000, timeout=5000)
    window.composer.edit.setPlainText("a" * 600)
    assert "600 / 1000" in window.composer.counter.text().replace(",", "")
    assert window.composer.why_not() == "" and window.composer.send_button.isEnabled()

    # A later check learns nothing (the instance stopped saying): the window drops the cached rows.
    with demo_core.store.write():
        Account.update(settings=mastodon.settings).where(Account.id == mastodon.id).execute()
    window.refresh_accounts()
    qtbot.waitUntil(lambda: window.composer.limit_override is None, timeout=5000)
    window.composer.update_counter()
    assert "500" in window.composer.why_not() and not window.composer.send_button.isEnabled()


def test_composer_counts_a_bluesky_dm_to_1000_graphemes_and_a_mention_to_300(qtbot, window):
    """Regression: a Bluesky DM was refused above 300 graphemes, the limit of a post; chat messages
    allow 1,000 (the platform's traits hold a limit per conversation kind)."""

    def select(kind):
        r, row = _row_for(window, lambda row: row.channel == "bluesky" and row.kind == kind)
        window._select_row(r)
        qtbot.waitUntil(lambda: window.composer.row is not None and window.composer.row.id == row.id, timeout=5000)

    select("dm")
    window.composer.edit.setPlainText("👍🏽" * 500)
    assert window.composer.counter.text() == "500 / 1000 graphemes"
    assert window.composer.why_not() == "" and window.composer.send_button.isEnabled()
    window.composer.edit.setPlainText("a" * 1001)
    assert "1 over the Bluesky limit" in window.composer.why_not() and not window.composer.send_button.isEnabled()

    select("mention")
    window.composer.edit.setPlainText("👍🏽" * 301)
    assert window.composer.why_not() == "301 / 300 graphemes — 1 over the Bluesky limit"
    assert not window.composer.send_button.isEnabled()


def test_a_palette_switch_as_the_window_goes_does_not_reach_the_deleted_window(qtbot, demo_core):
    """The header's links are redrawn once the event loop runs after a palette change: a window deleted
    before that (closing at the moment the system switches to dark) must not be called any more."""
    import shiboken6
    from PySide6.QtCore import QEvent
    from PySide6.QtWidgets import QApplication

    from socialdesk.app import wire_window
    from socialdesk.ui.notifications import RecordingNotifier
    from tests.gui.conftest import release_window

    win, tasks, _relay = wire_window(demo_core, notifier=RecordingNotifier(), demo=True)
    win.show()
    win.start()
    qtbot.waitUntil(lambda: win.current_row is not None, timeout=5000)
    QApplication.sendEvent(win, QEvent(QEvent.Type.PaletteChange))
    release_window(win, tasks)
    shiboken6.delete(win)
    qtbot.wait(50)  # the zero timer would fire now; pytest-qt fails the test on an exception in a slot
