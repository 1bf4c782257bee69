"""Owner actions notify like engine changes (issue 13 items 7 and 8): the window refreshes from the
ChangeSet an action publishes on the profile's ChangeBus, not from a reload of its own; the Activity view
follows the engine without polling; the account dialog applies the service's rules."""

from __future__ import annotations

from PySide6.QtCore import Qt

from socialdesk.connectors.base import Author, InboundItem
from socialdesk.core.changes import ChangeSet
from socialdesk.core.store import Account, Conversation
from socialdesk.ui.settings_feature import SettingsFeature
from socialdesk.ui.workers import ChangeRelay
from tests.gui.test_accounts_ui import open_email_form


def _idle(qtbot, win) -> None:
    qtbot.waitUntil(lambda: win.tasks.pending() == 0, timeout=5000)


def test_marking_done_refreshes_rows_and_counts_from_the_notification(qtbot, window, demo_core):
    relay = window.findChild(ChangeRelay)
    held: list[ChangeSet] = []
    demo_core.changes.unsubscribe(relay.push)  # hold the notifications back
    demo_core.changes.subscribe(held.append)
    awaiting = len(window.model.ids)
    first = window.current_id
    assert window.tabs.tabText(0) == f"Awaiting ({awaiting})"
    window.table.setFocus()
    qtbot.keyClick(window.table, "e")
    qtbot.waitUntil(lambda: Conversation.get_by_id(first).status == "done", timeout=5000)
    _idle(qtbot, window)  # the action's result and anything it started have been delivered
    # Written, but without its notification the window shows what it showed: nothing reloaded.
    # (Opening a conversation marks it seen, a notification of its own: not this action's.)
    assert [c for c in held if c != ChangeSet(seen=c.seen)] == [ChangeSet({first})]
    assert first in window.model.ids and window.tabs.tabText(0) == f"Awaiting ({awaiting})"
    assert window.tray.count == awaiting

    demo_core.changes.subscribe(relay.push)
    for change in held:
        relay.push(change)  # the notifications arrive
    qtbot.waitUntil(lambda: window.tabs.tabText(0) == f"Awaiting ({awaiting - 1})", timeout=5000)
    assert first not in window.model.ids and window.tray.count == awaiting - 1
    qtbot.waitUntil(lambda: window.current_id is not None and window.current_id != first, timeout=5000)


def test_an_auto_reply_recorded_by_the_engine_appears_in_the_activity_view_at_once(qtbot, window, demo_core):
    feature = next(f for f in window.features if isinstance(f, SettingsFeature))
    demo_core.owner.go_away(None, "We are away until Monday.")  # closed: private messages get an auto-reply
    window.actions["activity"].trigger()
    qtbot.waitUntil(lambda: feature.activity_dialog is not None and feature.activity_dialog.isVisible(), timeout=5000)
    dialog = feature.activity_dialog
    _idle(qtbot, window)
    assert not any(e.to_whom == "Noor Haddad" for e in dialog.entries)

    account = Account.get(Account.name == "Telegram (demo)")
    item = InboundItem("notify-1", "notify-chat", "dm", False, Author("tg:4711", display_name="Noor Haddad"),
                       "Are you open on Sunday?", demo_core.clock.now())
    engine = demo_core.engine
    engine._emit(engine._ingest(account.id, [item], account.cursor))  # what a worker does after a fetch
    # Within the notification's batching (150 ms), well before the 5 s the view used to poll at.
    qtbot.waitUntil(lambda: any(e.kind == "auto_reply" and e.to_whom == "Noor Haddad" for e in dialog.entries),
                    timeout=4000)
    entry = next(e for e in dialog.entries if e.to_whom == "Noor Haddad")
    assert entry.result == "pending" and "away" in entry.why


def test_the_dialog_refuses_names_the_cli_refuses(qtbot, window):
    dialog = open_email_form(window, qtbot)
    qtbot.keyClicks(dialog.form.name, "x" * 81)
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    assert not dialog.busy  # refused before any background work
    assert "at most 80 characters" in dialog.form.error.text()
    dialog.form.name.setText("Shop\u2028email")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert "control characters" in dialog.form.error.text()
    assert Account.get_or_none(Account.name == "x" * 81) is None  # (the demo has "X (demo)")


def test_work_asked_for_after_the_task_pool_shut_down_is_dropped(qtbot):
    """At quit the pool shuts down while Qt may still deliver events (a selection changing as the window
    goes) that ask for work: nothing runs and nothing raises (it did: "cannot schedule new futures")."""
    from socialdesk.ui.workers import Tasks

    tasks = Tasks()
    ran: list[int] = []
    tasks.run(lambda: ran.append(1))
    tasks.wait(5000)
    tasks.shutdown()
    assert tasks.run(lambda: ran.append(2), ran.append, ran.append) == 0
    qtbot.wait(50)
    assert ran == [1]
