"""The suggested reply (issue 17 item 14): the snippet ranking first for the customer's latest message
waits in the empty reply box, rendered for this customer; Tab inserts it, Alt+Down offers the next;
nothing is sent without Ctrl+Enter. From a notification to a personalised reply sent and the next
conversation selected in at most 4 keystrokes."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from socialdesk.core.store import Conversation, Outbox

NONE = Qt.KeyboardModifier.NoModifier


def _conversation_of(name: str) -> int:
    return Conversation.get(Conversation.contact_name == name).id


def _suggested(qtbot, window, conv_id):
    qtbot.waitUntil(lambda: window.current_id == conv_id and window.composer.suggestion() is not None,
                    timeout=5000)
    return window.composer.suggestion()


def test_from_a_notification_to_a_personalised_reply_and_the_next_conversation_in_3_keys(qtbot, window):
    conv_id = _conversation_of("Fatima Zahra")
    keys: list[str] = []

    def press(key, mods=NONE):
        keys.append(f"{mods.name}+{key.name}")
        qtbot.keyClick(QApplication.focusWidget(), key, mods)  # where the keyboard is, as for a person

    window.notifier.activated.emit(conv_id)  # the owner clicks the tray notification
    ref, text = _suggested(qtbot, window, conv_id)
    assert "Fatima" in text  # rendered for this customer
    assert text in window.composer.edit.placeholderText() and window.composer.text() == ""

    press(Qt.Key.Key_R)  # reply
    assert window.composer.edit.hasFocus()
    press(Qt.Key.Key_Tab)  # take the suggestion, ready to edit
    assert window.composer.text() == text
    press(Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)  # send

    qtbot.waitUntil(lambda: Outbox.select().where(Outbox.conversation == conv_id).exists(), timeout=5000)
    sent = Outbox.get(Outbox.conversation == conv_id)
    assert sent.text == text and sent.via == "snippet" and sent.snippet_id == ref.id
    qtbot.waitUntil(lambda: window.current_id not in (None, conv_id), timeout=5000)  # the next one
    assert window.composer.text() == ""
    assert len(keys) <= 4, keys
    assert len(keys) == 3


def test_the_suggestion_never_sends_by_itself_and_alt_down_cycles(qtbot, window):
    conv_id = window.current_id
    first_ref, first_text = _suggested(qtbot, window, conv_id)
    assert len(window.composer.suggestions) >= 2
    window.focus_composer()
    qtbot.keyClick(window.composer.edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert not Outbox.select().where(Outbox.conversation == conv_id).exists()  # a placeholder is no text

    qtbot.keyClick(window.composer.edit, Qt.Key.Key_Down, Qt.KeyboardModifier.AltModifier)
    second_ref, second_text = window.composer.suggestion()
    assert second_ref.id != first_ref.id and second_text in window.composer.edit.placeholderText()
    assert window.composer.text() == ""
    qtbot.keyClick(window.composer.edit, Qt.Key.Key_Up, Qt.KeyboardModifier.AltModifier)
    assert window.composer.suggestion()[0].id == first_ref.id

    qtbot.keyClick(window.composer.edit, Qt.Key.Key_Tab)
    assert window.composer.text() == first_text
    qtbot.keyClick(window.composer.edit, Qt.Key.Key_Down, Qt.KeyboardModifier.AltModifier)  # swap, unedited
    assert window.composer.text() == second_text
    assert window.composer.reply_meta()["snippet_id"] == second_ref.id
    qtbot.keyClicks(window.composer.edit, " See you!")
    qtbot.keyClick(window.composer.edit, Qt.Key.Key_Down, Qt.KeyboardModifier.AltModifier)  # edited: kept
    assert window.composer.text() == second_text + " See you!"
    assert not Outbox.select().where(Outbox.conversation == conv_id).exists()


def test_a_draft_hides_the_suggestion(qtbot, window):
    conv_id = window.current_id
    _suggested(qtbot, window, conv_id)
    window.focus_composer()
    qtbot.keyClicks(window.composer.edit, "My own words")
    assert "Suggested" not in window.composer.edit.placeholderText()
    qtbot.keyClick(window.composer.edit, Qt.Key.Key_Tab)  # no suggestion taken over typed text
    assert not window.composer.text().startswith(window.composer.suggestion()[1])


def test_no_conversation_selected_no_suggestion(qtbot, window):
    from socialdesk.ui.composer import PLACEHOLDER

    _suggested(qtbot, window, window.current_id)
    window.show_sent()  # nothing answered yet in the demo: nothing selected
    qtbot.waitUntil(lambda: window.view == "sent" and window.empty_panel.isVisible(), timeout=5000)
    assert window.current_id is None and window.composer.suggestion() is None
    assert window.composer.edit.placeholderText() == PLACEHOLDER


def test_a_done_conversation_gets_no_suggestion(qtbot, window):
    """Sent, Done and Spam list conversations that need no reply: none is suggested there (a suggestion
    showed on answered conversations in Sent)."""
    from socialdesk.core.states import ConversationStatus

    conv_id = window.current_id
    _suggested(qtbot, window, conv_id)
    row = window.composer.row
    assert row.awaiting_since is not None and window.composer.suggestion() is not None
    done = type(row)(**{**row.__dict__, "status": ConversationStatus.DONE})
    window.composer.set_conversation(done)
    assert window.composer.suggestion() is None and "Suggested" not in window.composer.edit.placeholderText()
    answered = type(row)(**{**row.__dict__, "awaiting_since": None})
    window.composer.set_conversation(answered)
    assert window.composer.suggestion() is None
    window.composer.set_conversation(row)  # awaiting again (the customer wrote): offered again
    qtbot.waitUntil(lambda: window.composer.suggestion() is not None, timeout=5000)
