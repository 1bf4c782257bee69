"""Nothing the owner did gets lost or hidden (issue 17 items 1-3): the Sent and All views and a search
that says where its matches are; drafts that survive a quit; undo for done, waiting, spam, snooze, merge."""

from __future__ import annotations

from PySide6.QtCore import Qt

from socialdesk.core.store import Outbox
from socialdesk.ui.main_window import TAB_VIEWS
from socialdesk.ui.queue_model import COLUMNS


def _wait_idle(qtbot, win):
    qtbot.waitUntil(lambda: win.tasks.pending() == 0, timeout=5000)


def _send(qtbot, win, text):
    conv_id = win.current_id
    win.focus_composer()
    qtbot.keyClicks(win.composer.edit, text)
    qtbot.keyClick(win.composer.edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: Outbox.select().where(Outbox.conversation == conv_id).exists(), timeout=5000)
    qtbot.waitUntil(lambda: conv_id not in win.model.ids, timeout=5000)
    return conv_id


def test_a_sent_reply_is_in_sent_and_all_and_search_says_where(qtbot, window):
    conv_id = _send(qtbot, window, "Thanks, it is ready for you!")
    window.show_sent()
    qtbot.waitUntil(lambda: window.model.ids[:1] == [conv_id], timeout=5000)  # most recent first
    assert window.tabs.tabText(window.tabs.currentIndex()) == "Sent"
    assert not window.table.isColumnHidden(COLUMNS.index("status"))
    window.show_all()
    qtbot.waitUntil(lambda: conv_id in window.model.ids, timeout=5000)

    # Searched for from Awaiting, where it no longer is: the empty result says where it went.
    window.show_awaiting()
    qtbot.waitUntil(lambda: window.view == "awaiting" and bool(window.model.ids), timeout=5000)
    window.focus_search()
    qtbot.keyClicks(window.search, "Thanks ready")  # our reply's words: only that conversation has them
    qtbot.waitUntil(lambda: not window.model.ids and window.empty_panel.isVisible(), timeout=5000)
    assert window.empty_label.text().startswith("No matches in Awaiting: 1 in Sent.")
    qtbot.keyClick(window.search, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.view == "all" and window.model.ids == [conv_id], timeout=5000)
    assert TAB_VIEWS[window.tabs.currentIndex()] == "all"
    status = window.model.index(0, COLUMNS.index("status"))
    qtbot.waitUntil(lambda: window.model.data(status) == "Sent", timeout=5000)
    assert not window.table.isColumnHidden(COLUMNS.index("status"))  # a search shows where rows are
