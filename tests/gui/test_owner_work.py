"""Nothing the owner did gets lost or hidden (issue 17 items 1-3): the Sent and All views and a search
that says where its matches are; drafts that survive a quit; undo for done, waiting, spam, snooze, merge."""

from __future__ import annotations

from PySide6.QtCore import Qt

from socialdesk.core.store import Conversation, Outbox
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


def test_done_offers_undo_and_ctrl_z_brings_it_back(qtbot, window, demo_core):
    window.table.setFocus()
    first = window.current_id
    qtbot.keyClick(window.table, "e")
    qtbot.waitUntil(lambda: window.undo_bar.isVisible() and first not in window.model.ids, timeout=5000)
    assert window.undo_label.text() == "Marked done."
    assert window.undo_button.text().replace("&", "") == "Undo (Ctrl+Z)"
    assert window.undo_timer.isActive() and window.undo_timer.interval() <= 10_000
    assert Conversation.get_by_id(first).status == "done"
    window.focus_composer()  # in text, Ctrl+Z is the text's own undo
    qtbot.keyClicks(window.composer.edit, "x")
    qtbot.keyClick(window.composer.edit, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.composer.text() == "" and window.undo_bar.isVisible()
    _wait_idle(qtbot, window)
    assert Conversation.get_by_id(first).status == "done"
    window.table.setFocus()
    qtbot.keyClick(window.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: Conversation.get_by_id(first).status == "open", timeout=5000)
    qtbot.waitUntil(lambda: window.current_id == first and first in window.model.ids, timeout=5000)
    assert not window.undo_bar.isVisible()
    assert window.statusBar().currentMessage() == "Undone: marked done."


def test_snooze_waiting_spam_undo_and_the_offer_expires(qtbot, window, demo_core):
    from datetime import timedelta

    for status in ("waiting", "spam", "snoozed"):
        conv_id = window.current_id
        until = demo_core.clock.now() + timedelta(hours=2) if status == "snoozed" else None
        window._status(status, until)
        qtbot.waitUntil(lambda c=conv_id: window.undo_bar.isVisible() and c not in window.model.ids, timeout=5000)
        window.undo_button.click()
        qtbot.waitUntil(lambda c=conv_id: Conversation.get_by_id(c).status == "open", timeout=5000)
        qtbot.waitUntil(lambda c=conv_id: window.current_id == c, timeout=5000)
    conv_id = window.current_id
    window.mark_done()
    qtbot.waitUntil(window.undo_bar.isVisible, timeout=5000)
    window.undo_timer.timeout.emit()  # the few seconds passed
    assert not window.undo_bar.isVisible()
    window.table.setFocus()
    qtbot.keyClick(window.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    _wait_idle(qtbot, window)
    assert Conversation.get_by_id(conv_id).status == "done"
    assert window.statusBar().currentMessage() == "Nothing to undo."


def test_merge_undo_unmerges(qtbot, window, demo_core):
    from socialdesk.core.store import Contact

    rows = [c for c in Conversation.select().where(Conversation.contact.is_null(False)).order_by(Conversation.id)]
    keep, drop = rows[0].contact_id, next(c.contact_id for c in rows if c.contact_id != rows[0].contact_id)
    drop_name = Contact.get_by_id(drop).display_name
    window._merge_contacts(keep, drop)
    qtbot.waitUntil(lambda: window.undo_bar.isVisible(), timeout=5000)
    assert Contact.get_or_none(Contact.id == drop) is None
    assert window.undo_label.text() == "Linked as one person."
    window.table.setFocus()
    qtbot.keyClick(window.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: Contact.get_or_none(Contact.id == drop) is not None, timeout=5000)
    assert Contact.get_by_id(drop).display_name == drop_name


def _draft_in_db(conv_id):
    from socialdesk.core import drafts

    return drafts.texts([conv_id]).get(conv_id)


def test_a_draft_is_saved_as_you_type_off_the_gui_thread_and_shown_in_the_list(qtbot, window):
    import threading

    threads = []
    save = window.keeper.save

    def recording_save(texts):
        threads.append(threading.current_thread())
        save(texts)

    window.keeper.save = recording_save
    conv_id = window.current_id
    window.focus_composer()
    qtbot.keyClicks(window.composer.edit, "Hi! Yes, we")
    assert window.keeper.timer.isActive() and _draft_in_db(conv_id) is None  # debounced
    window.keeper.timer.timeout.emit()  # the pause after the last keystroke
    qtbot.waitUntil(lambda: _draft_in_db(conv_id) == "Hi! Yes, we", timeout=5000)
    assert threads and all(t is not threading.main_thread() for t in threads)
    message = window.model.index(window.model.row_of(conv_id), COLUMNS.index("message"))
    qtbot.waitUntil(lambda: window.model.data(message) == "Draft: Hi! Yes, we", timeout=5000)
    assert window.model.data(message, Qt.ItemDataRole.FontRole).italic()

    # To the next conversation and back: the draft is there, the other composer empty.
    window.table.setFocus()
    qtbot.keyClick(window.table, "j")
    qtbot.waitUntil(lambda: window.current_id != conv_id, timeout=5000)
    assert window.composer.text() == ""
    qtbot.keyClick(window.table, "k")
    qtbot.waitUntil(lambda: window.current_id == conv_id, timeout=5000)
    assert window.composer.text() == "Hi! Yes, we"


def test_ctrl_q_with_a_draft_typed_loses_nothing(qtbot, window, demo_core):
    from socialdesk.app import wire_window

    quit_calls = []
    window._quit_now = lambda: quit_calls.append(True)
    conv_id = window.current_id
    window.focus_composer()
    qtbot.keyClicks(window.composer.edit, "Typed just before quitting")
    qtbot.keyClick(window.composer.edit, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: bool(quit_calls), timeout=5000)  # it quit only once the draft was stored
    assert _draft_in_db(conv_id) == "Typed just before quitting"

    # The next start: the list and the composer show it.
    again, tasks, _relay = wire_window(demo_core)
    qtbot.addWidget(again)
    again.show()
    again.start()
    qtbot.waitUntil(lambda: again.model.row_of(conv_id) is not None and again.current_id is not None, timeout=5000)
    message = again.model.index(again.model.row_of(conv_id), COLUMNS.index("message"))
    qtbot.waitUntil(lambda: again.model.data(message) == "Draft: Typed just before quitting", timeout=5000)
    again._select_row(again.model.row_of(conv_id))
    qtbot.waitUntil(lambda: again.composer.text() == "Typed just before quitting", timeout=5000)
    tasks.wait(5000)


def test_sending_clears_the_draft(qtbot, window):
    conv_id = window.current_id
    window.focus_composer()
    qtbot.keyClicks(window.composer.edit, "Ready at 3!")
    window.keeper.timer.timeout.emit()
    qtbot.waitUntil(lambda: _draft_in_db(conv_id) == "Ready at 3!", timeout=5000)
    qtbot.keyClicks(window.composer.edit, " See you")  # a save of this may be under way as it is sent
    window.keeper.flush()
    qtbot.keyClick(window.composer.edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: Outbox.select().where(Outbox.conversation == conv_id).exists(), timeout=5000)
    _wait_idle(qtbot, window)
    assert _draft_in_db(conv_id) is None
    assert Outbox.get(Outbox.conversation == conv_id).text == "Ready at 3! See you"
    window.show_sent()
    qtbot.waitUntil(lambda: window.model.ids[:1] == [conv_id], timeout=5000)
    message = window.model.index(0, COLUMNS.index("message"))
    qtbot.waitUntil(lambda: window.model.data(message) is not None, timeout=5000)
    assert not window.model.data(message).startswith("Draft:")
