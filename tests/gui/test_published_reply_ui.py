"""Conversation → "Delete our published reply…" (ui/published_reply_feature.py) against the fake Google on
127.0.0.1: offered only for a review with a reply of ours, asked first (Cancel is the default: Enter keeps
the reply), a server error said in the owner's words, and a delete that the window shows from core's
change notification."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLineEdit, QListWidget, QMessageBox

from socialdesk import paths
from socialdesk.connectors.google import CLIENT_SECRET
from socialdesk.connectors.oauth import TOKEN_ENTRY
from socialdesk.core.store import Account, Conversation, Outbox
from socialdesk.secrets import KeyringSecrets
from socialdesk.ui.main_window import TAB_VIEWS
from socialdesk.ui.published_reply_feature import ACTION_ID, PublishedReplyFeature
from tests.fakes.google import CLIENT_SECRET_VALUE, GoogleFake, google_error, settings_for
from tests.gui.conftest import release_window


@pytest.fixture
def fake():
    server = GoogleFake()
    with server.running():
        yield server


@pytest.fixture
def window(qtbot, fake, memory_keyring):
    from socialdesk.app import build_core, wire_window

    answered = fake.add("Waited 40 minutes, nobody came.", 1, name="Sam Doe", reply="Sorry, Sam. Ask for me next time.")
    fake.add("Lovely bread", 5, name="Ana Lima")
    core = build_core(paths.profile("default"))
    tokens = fake.issue_tokens()
    keyring = KeyringSecrets("default", "Maps")
    keyring.set(TOKEN_ENTRY, tokens.to_json())
    keyring.set(CLIENT_SECRET, CLIENT_SECRET_VALUE)
    with core.store.write():
        Account.create(kind="google", name="Maps", settings=settings_for(fake), created_at=core.clock.now())
    core.engine.run_once()
    assert Conversation.select().count() == 2
    win, tasks, _relay = wire_window(core)
    assert any(isinstance(f, PublishedReplyFeature) for f in win.features)  # app.ui_features lists it
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    win.activateWindow()
    win.start()
    win.tabs.setCurrentIndex(TAB_VIEWS.index("reviews"))  # the answered review is in no triage view
    qtbot.waitUntil(lambda: win.model.rowCount() == 2 and win.current_id is not None, timeout=5000)
    win.answered = Conversation.get(Conversation.external_id == answered["reviewId"]).id
    win.access_token = tokens.access_token
    yield win
    release_window(win, tasks)
    core.close()


def _open(qtbot, window, conv_id: int) -> None:
    window.table.setFocus()
    while window.current_id != conv_id:
        qtbot.keyClick(window.table, Qt.Key.Key_J)  # the triage key "next conversation"
        if window.table.currentIndex().row() == window.model.rowCount() - 1 and window.current_id != conv_id:
            qtbot.keyClick(window.table, Qt.Key.Key_K)


def _ask(qtbot, window) -> QMessageBox:
    """Ctrl+K, type the command, Enter: the confirmation box."""
    window.activateWindow()  # the offscreen platform does not give it back when a dialog closes
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)
    before = getattr(window, "palette_dialog", None)
    qtbot.keyClick(window.table, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: getattr(window, "palette_dialog", None) not in (None, before), timeout=5000)
    dialog = window.palette_dialog
    qtbot.waitExposed(dialog)
    search = dialog.findChild(QLineEdit, "palette_search")
    qtbot.keyClicks(search, "delete our published")
    assert dialog.findChild(QListWidget, "palette_list").currentItem().text() == "Delete our published reply…"
    qtbot.keyClick(search, Qt.Key.Key_Return)
    feature = next(f for f in window.features if isinstance(f, PublishedReplyFeature))
    qtbot.waitUntil(lambda: feature.confirm_box is not None and feature.confirm_box.isVisible(), timeout=5000)
    box = feature.confirm_box
    qtbot.waitUntil(lambda: QApplication.activeWindow() is box, timeout=5000)  # keys go to it, as the owner's
    return box


def test_offered_only_where_a_reply_of_ours_can_be_taken_back(qtbot, window):
    action = window.actions[ACTION_ID]
    assert action in window.menus["Conversation"].actions()
    other = next(i for i in window.model.ids if i != window.answered)
    _open(qtbot, window, other)
    qtbot.waitUntil(lambda: not action.isEnabled(), timeout=5000)
    _open(qtbot, window, window.answered)
    qtbot.waitUntil(action.isEnabled, timeout=5000)
    _open(qtbot, window, other)
    qtbot.waitUntil(lambda: not action.isEnabled(), timeout=5000)


class CountingTasks:
    """The window's Tasks, counting what the feature runs on a worker (a store read, a network call)."""

    def __init__(self, tasks):
        self.tasks = tasks
        self.runs = 0

    def run(self, *args, **kwargs):
        self.runs += 1
        return self.tasks.run(*args, **kwargs)


def test_moving_between_conversations_reads_nothing_and_a_new_reply_is_offered(qtbot, window):
    """Whether to offer it comes from the thread the window shows and the accounts read at attach: moving
    from one conversation to the next runs no query of its own. A reply published since (sent by the
    owner, confirmed by Google) is offered once the window shows it."""
    action = window.actions[ACTION_ID]
    feature = next(f for f in window.features if isinstance(f, PublishedReplyFeature))
    qtbot.waitUntil(lambda: bool(feature.can_delete), timeout=5000)  # read at attach
    feature.tasks = counting = CountingTasks(feature.tasks)
    other = next(i for i in window.model.ids if i != window.answered)
    for _ in range(3):
        _open(qtbot, window, window.answered)
        qtbot.waitUntil(action.isEnabled, timeout=5000)
        _open(qtbot, window, other)
        qtbot.waitUntil(lambda: window.thread_view.plain_text() and "Lovely bread" in window.thread_view.plain_text(),
                        timeout=5000)
        assert not action.isEnabled()
    assert counting.runs == 0

    # Ana is answered while her review is open (`socialdesk reply` in a terminal, say): not offered while the
    # reply waits in the outbox, offered once it went out.
    core = window.core
    core.owner.reply(other, "Thank you, Ana!")
    qtbot.waitUntil(lambda: "Thank you, Ana!" in window.thread_view.plain_text(), timeout=5000)
    assert window.current_id == other and not action.isEnabled()
    core.changes.publish(core.engine.flush_outbox())  # the engine sends it; Google took it
    assert Outbox.get(Outbox.conversation == other).state == "sent"
    qtbot.waitUntil(action.isEnabled, timeout=5000)
    assert feature.offered == other and counting.runs == 0


def test_offered_for_the_conversation_open_before_it_attached(qtbot, window):
    """In a staged start the features attach after the first paint, the open conversation's thread already
    shown: no thread_shown comes for it, so attaching asks the store once."""
    _open(qtbot, window, window.answered)
    qtbot.waitUntil(lambda: "Sorry, Sam." in window.thread_view.plain_text(), timeout=5000)
    late = PublishedReplyFeature(window.core, window.tasks)
    late.attach(window)  # takes over the same action
    assert not window.actions[ACTION_ID].isEnabled()
    qtbot.waitUntil(lambda: late.offered == window.answered, timeout=5000)
    assert window.actions[ACTION_ID].isEnabled()


def test_a_cleared_pane_offers_nothing_until_a_thread_is_shown_again(qtbot, window, monkeypatch):
    """A search that finds nothing clears the pane (ConversationView.clear: thread_shown([])). Opening the
    answered review again offers it once its thread is shown again, not from the thread shown before the
    clear (its reply may have been deleted meanwhile, and the pane shows nothing yet)."""
    action = window.actions[ACTION_ID]
    _open(qtbot, window, window.answered)
    qtbot.waitUntil(action.isEnabled, timeout=5000)
    window.search.setText("no review says this: qqqxz")
    qtbot.waitUntil(lambda: window.current_id is None and window.model.rowCount() == 0, timeout=5000)
    assert window.thread_view.plain_text() == "" and not action.isEnabled()
    asked: list[int] = []
    monkeypatch.setattr(window, "_load_thread", asked.append)  # the threads are on their way, not shown yet
    window.search.setText("")
    qtbot.waitUntil(lambda: window.model.rowCount() == 2 and window.current_id is not None, timeout=5000)
    _open(qtbot, window, window.answered)
    assert window.answered in asked and window.thread_view.plain_text() == ""
    assert not action.isEnabled()
    monkeypatch.undo()
    window._load_thread(window.answered)  # its thread arrives
    qtbot.waitUntil(action.isEnabled, timeout=5000)


class HeldTasks:
    """Tasks whose work waits until the test lets it run (on the GUI thread)."""

    def __init__(self):
        self.held: list = []

    def run(self, work, done, failed):
        self.held.append((work, done, failed))

    def release(self) -> None:
        for work, done, _failed in self.held:
            done(work())
        self.held.clear()


def test_a_late_attach_forgets_the_conversation_cleared_before_its_answer(qtbot, window, monkeypatch):
    """Attaching asks the store about the conversation open then; if the pane is cleared before the answer
    comes, the answer is about a conversation no longer shown and is not kept for when it opens again."""
    _open(qtbot, window, window.answered)
    qtbot.waitUntil(lambda: "Sorry, Sam." in window.thread_view.plain_text(), timeout=5000)
    late = PublishedReplyFeature(window.core, HeldTasks())
    late.attach(window)  # asks about the answered review: held
    window.search.setText("no review says this: qqqxz")
    qtbot.waitUntil(lambda: window.current_id is None and window.model.rowCount() == 0, timeout=5000)
    late.tasks.release()
    assert late.can_delete  # the answer came: accounts read, and the store said the review has our reply
    monkeypatch.setattr(window, "_load_thread", lambda _conv_id: None)  # its thread is on its way
    window.search.setText("")
    qtbot.waitUntil(lambda: window.model.rowCount() == 2 and window.current_id is not None, timeout=5000)
    _open(qtbot, window, window.answered)
    assert late.offered is None and not window.actions[ACTION_ID].isEnabled()


def test_cancel_then_a_server_error_then_the_delete(qtbot, window, fake):
    action = window.actions[ACTION_ID]
    _open(qtbot, window, window.answered)
    qtbot.waitUntil(action.isEnabled, timeout=5000)
    review_id = Conversation.get_by_id(window.answered).external_id

    # Asked in the owner's words; Enter answers Cancel, the default: nothing reaches Google.
    box = _ask(qtbot, window)
    assert box.text() == "Delete your reply to Sam Doe's review on Google?"
    assert "Sam Doe and everyone who reads the review on Google will no longer see your reply" in box.informativeText()
    assert "The review itself stays." in box.informativeText()
    assert box.defaultButton() is box.button(QMessageBox.StandardButton.Cancel)
    qtbot.keyClick(box, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not box.isVisible(), timeout=5000)
    assert not [r for r in fake.requests if r.method == "DELETE"]
    assert "reviewReply" in fake.reviews[review_id] and action.isEnabled()

    # Google refuses: said in words, no status code dump or token; the reply stays, still offered.
    fake.inject(403, google_error(403, "PERMISSION_DENIED", "The caller does not have permission"), path="/reply")
    box = _ask(qtbot, window)
    box.findChild(type(box.defaultButton()), "delete_reply").click()
    qtbot.waitUntil(lambda: "was not deleted" in window.statusBar().currentMessage(), timeout=10000)
    said = window.statusBar().currentMessage()
    assert said.startswith("Your reply to Sam Doe was not deleted: ")
    assert "Traceback" not in said and "Error(" not in said and window.access_token not in said
    assert "reviewReply" in fake.reviews[review_id]
    qtbot.waitUntil(action.isEnabled, timeout=5000)
    assert "deleted on the platform" not in window.thread_view.plain_text()

    # Confirmed: deleted on Google; the thread shows it from core's change notification; no longer offered.
    box = _ask(qtbot, window)
    box.findChild(type(box.defaultButton()), "delete_reply").click()
    qtbot.waitUntil(lambda: window.statusBar().currentMessage().startswith("Deleted your reply to Sam Doe on Google."),
                    timeout=10000)
    assert "reviewReply" not in fake.reviews[review_id]
    qtbot.waitUntil(lambda: "deleted on the platform" in window.thread_view.plain_text(), timeout=5000)
    assert "Sorry, Sam." in window.thread_view.plain_text()  # kept, greyed
    qtbot.waitUntil(lambda: not action.isEnabled(), timeout=5000)
